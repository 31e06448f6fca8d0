"""The rubric rule: the outcome of a role-play is computed from the levels, never chosen.

Passed when the total reaches `pass_percent` of the maximum AND every critical criterion reaches
the rubric's `meets_score` AND every criterion reaches its floor (its own `min_score`, else the
rubric's; a rubric stored before floors existed has none); otherwise returned for revision,
naming the criteria that failed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

# The rubric as a content file describes it (parsed in courseware.domain.content).

@dataclass(frozen=True)
class LevelSpec:
    score: int
    label: str
    descriptor: str


@dataclass(frozen=True)
class CriterionSpec:
    id: str
    title: str
    critical: bool
    levels: tuple[LevelSpec, ...]
    min_score: int | None = None  # this criterion's own floor; None = the rubric's

    @property
    def max_score(self) -> int:
        return max(level.score for level in self.levels)

    @property
    def min_level_score(self) -> int:
        return min(level.score for level in self.levels)

    def level(self, score: int) -> LevelSpec | None:
        return next((lv for lv in self.levels if lv.score == score), None)


@dataclass(frozen=True)
class RubricSpec:
    pass_percent: int
    meets_score: int
    criteria: tuple[CriterionSpec, ...]
    # The level every criterion must reach. None (a version stored before floors existed) means
    # no floor; the parser defaults it to 2 for files parsed now.
    min_score: int | None = None

    @property
    def max_total(self) -> int:
        return sum(c.max_score for c in self.criteria)

    def floor(self, criterion: CriterionSpec) -> int | None:
        """The lowest score `criterion` may have for a pass by the floor rule, if any."""
        return criterion.min_score if criterion.min_score is not None else self.min_score



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
    below_minimum: bool = False  # some criterion is under its floor (min_score)

    @property
    def passed(self) -> bool:
        return not (self.critical_failed or self.below_threshold or self.below_minimum)

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
    under_floor = {c.id for c in rubric.criteria if _under_floor(rubric, c, levels[c.id])}
    failing = tuple(
        FailingCriterion(c.id, c.title, levels[c.id], c.critical)
        for c in rubric.criteria
        if levels[c.id] < rubric.meets_score or c.id in under_floor
    )
    return RubricOutcome(total, max_total, rubric.pass_percent, failing, critical_failed,
                         below_threshold, bool(under_floor))


def _under_floor(rubric: RubricSpec, criterion: CriterionSpec, score: int) -> bool:
    floor = rubric.floor(criterion)
    return floor is not None and score < floor


def pass_rule(rubric: RubricSpec) -> str:
    """The rule in the learner's words, e.g. "To pass: at least 70% of the points, “Meets” or
    better on the critical criteria, and no criterion at “Not yet”."."""
    parts = [f"at least {rubric.pass_percent}% of the points"]
    critical = [c for c in rubric.criteria if c.critical]
    if critical:
        parts.append(f"{_label(critical[0], rubric.meets_score)} or better on the critical "
                     "criteria")
    parts.extend(_floor_parts(rubric))
    if len(parts) <= 2:
        return f"To pass: {' and '.join(parts)}."
    return f"To pass: {', '.join(parts[:-1])}, and {parts[-1]}."


def _floor_parts(rubric: RubricSpec) -> list[str]:
    """What the floors ask of the criteria that are not critical (those need meets_score)."""
    others = [c for c in rubric.criteria if not c.critical]
    floored = [c for c in others if _below_floor(rubric, c)]
    if not floored:
        return []
    belows = {tuple(_below_floor(rubric, c)) for c in floored}
    if len(floored) == len(others) and len(belows) == 1:
        below = belows.pop()
        if len(below) == 1:
            return [f"no criterion at “{below[0]}”"]
        return [f"no criterion below {_floor_label(rubric, floored[0])}"]
    groups: dict[str, list[CriterionSpec]] = {}
    for criterion in floored:
        groups.setdefault(_floor_label(rubric, criterion), []).append(criterion)
    return [f"{label} or better on {_titles(members)}" for label, members in groups.items()]


def _below_floor(rubric: RubricSpec, criterion: CriterionSpec) -> list[str]:
    """The labels of the levels under the criterion's floor (none without a floor)."""
    floor = rubric.floor(criterion)
    return [lv.label for lv in criterion.levels if floor is not None and lv.score < floor]


def _floor_label(rubric: RubricSpec, criterion: CriterionSpec) -> str:
    return _label(criterion, rubric.floor(criterion) or 0)


def _label(criterion: CriterionSpec, score: int) -> str:
    level = criterion.level(score)
    return f"“{level.label}”" if level else f"level {score}"


def _titles(criteria: list[CriterionSpec]) -> str:
    titles = [f"“{c.title}”" for c in criteria]
    return titles[0] if len(titles) == 1 else f"{', '.join(titles[:-1])} and {titles[-1]}"
