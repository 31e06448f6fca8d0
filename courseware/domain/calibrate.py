"""The calibration rule: does a trainer's blind grading of the anchors agree with the reference?

Over every (anchor, criterion): exact agreement (the same level) at least `exact_required` %,
agreement within one level at least `adjacent_required` %, and on every critical criterion of
every anchor the same side of the rubric's `meets_score` (meets or below) as the reference.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from courseware.domain import reliability
from courseware.domain.content.model import AnchorSpec
from courseware.domain.rubric import RubricSpec


@dataclass(frozen=True)
class Comparison:
    anchor: str
    criterion: str
    given: int
    reference: int
    critical: bool
    critical_agreed: bool  # for a critical criterion: same side of meets_score


@dataclass(frozen=True)
class CalibrationResult:
    critical_agreed: bool
    exact_required: int
    adjacent_required: int
    comparisons: tuple[Comparison, ...]

    @property
    def exact(self) -> int:
        return sum(1 for c in self.comparisons if c.given == c.reference)

    @property
    def adjacent(self) -> int:
        return sum(1 for c in self.comparisons if abs(c.given - c.reference) <= 1)

    @property
    def exact_percent(self) -> float:
        return 100 * self.exact / len(self.comparisons) if self.comparisons else 0.0

    @property
    def adjacent_percent(self) -> float:
        return 100 * self.adjacent / len(self.comparisons) if self.comparisons else 0.0

    @property
    def passed(self) -> bool:
        """Compared in whole numbers, so 69.99 % never rounds up to a pass at 70."""
        n = len(self.comparisons)
        return (n > 0 and self.exact * 100 >= self.exact_required * n
                and self.adjacent * 100 >= self.adjacent_required * n and self.critical_agreed)

    @property
    def severity(self) -> float | None:
        """Mean of (given - reference): below 0, harsher than the reference."""
        return reliability.severity([(c.given, c.reference) for c in self.comparisons])


def compare(rubric: RubricSpec, anchors: tuple[AnchorSpec, ...],
            answers: Mapping[str, Mapping[str, int]], *, exact_required: int,
            adjacent_required: int) -> CalibrationResult:
    """The trainer's levels (`answers`: anchor id -> criterion id -> level) against the anchors'.

    Every anchor must have been answered (KeyError otherwise).
    """
    comparisons = []
    for anchor in anchors:
        reference = anchor.scores()
        given = answers[anchor.id]
        for criterion in rubric.criteria:
            ref, mine = reference[criterion.id], given[criterion.id]
            same_side = (mine >= rubric.meets_score) == (ref >= rubric.meets_score)
            comparisons.append(Comparison(anchor.id, criterion.id, mine, ref, criterion.critical,
                                          same_side or not criterion.critical))
    return CalibrationResult(
        critical_agreed=all(c.critical_agreed for c in comparisons),
        exact_required=exact_required, adjacent_required=adjacent_required,
        comparisons=tuple(comparisons))
