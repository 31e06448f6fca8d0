"""The rubric rule: the outcome of a role-play is computed from the levels, never chosen.

Passed when the total reaches `pass_percent` of the maximum AND every critical criterion reaches
the rubric's `meets_score`; otherwise returned for revision, naming the criteria that failed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from courseware.domain.content.model import RubricSpec


class RubricError(ValueError):
    """Levels that do not fit the rubric (missing criterion, unknown level)."""


@dataclass(frozen=True)
class FailingCriterion:
    id: str
    title: str
    score: int
    critical: bool

    def to_data(self) -> dict[str, object]:
        return {"id": self.id, "title": self.title, "score": self.score,
                "critical": self.critical}


@dataclass(frozen=True)
class RubricOutcome:
    total: int
    max_total: int
    pass_percent: int
    failing: tuple[FailingCriterion, ...]
    critical_failed: bool
    below_threshold: bool

    @property
    def passed(self) -> bool:
        return not (self.critical_failed or self.below_threshold)

    @property
    def outcome(self) -> str:
        return "passed" if self.passed else "returned"

    @property
    def percent(self) -> float:
        return self.total * 100 / self.max_total if self.max_total else 0.0

    @property
    def needs_moderation(self) -> bool:
        """A failed critical criterion is a serious judgement: a second trainer confirms it."""
        return self.critical_failed


def check_levels(rubric: RubricSpec, levels: Mapping[str, int]) -> None:
    known = {c.id for c in rubric.criteria}
    for criterion_id in levels:
        if criterion_id not in known:
            raise RubricError(f"'{criterion_id}' is not a criterion of this rubric")
    for criterion in rubric.criteria:
        if criterion.id not in levels:
            raise RubricError(f"choose a level for '{criterion.title}'")
        if criterion.level(levels[criterion.id]) is None:
            raise RubricError(f"'{criterion.title}' has no level scored {levels[criterion.id]}")


def comment_required(rubric: RubricSpec, score: int) -> bool:
    return score < rubric.meets_score


def rubric_outcome(rubric: RubricSpec, levels: Mapping[str, int]) -> RubricOutcome:
    check_levels(rubric, levels)
    total = sum(levels[c.id] for c in rubric.criteria)
    max_total = rubric.max_total
    below_threshold = total * 100 < rubric.pass_percent * max_total
    critical_failed = any(
        c.critical and levels[c.id] < rubric.meets_score for c in rubric.criteria
    )
    failing = tuple(
        FailingCriterion(c.id, c.title, levels[c.id], c.critical)
        for c in rubric.criteria
        if levels[c.id] < rubric.meets_score
    )
    return RubricOutcome(total, max_total, rubric.pass_percent, failing, critical_failed,
                         below_threshold)
