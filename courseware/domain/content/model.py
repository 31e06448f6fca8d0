"""Typed, immutable views of the course content files.

These are what the rest of the code works with: the parser builds them from files, sync stores
them as JSON (``to_data``) and the domain rebuilds them from a stored version (``*_from_data``),
so an old attempt is always read with the content it was taken against.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from courseware.domain.content.source import Problem
from courseware.domain.rubric import CriterionSpec, LevelSpec, RubricSpec

QUESTION_KINDS = ("single", "multiple", "true_false")
REVIEW_MODES = ("after_pass", "always")
ANCHOR_KINDS = ("pass", "borderline", "critical-fail")


@dataclass(frozen=True)
class ModuleSpec:
    slug: str
    title: str
    order: int
    minutes: int
    summary: str
    objectives: tuple[str, ...]
    requires: tuple[str, ...]
    body: str


@dataclass(frozen=True)
class OptionSpec:
    text: str
    correct: bool
    feedback: str


@dataclass(frozen=True)
class QuestionSpec:
    id: str
    kind: str
    scenario: bool
    prompt: str
    explanation: str
    options: tuple[OptionSpec, ...]

    @property
    def correct_indexes(self) -> frozenset[int]:
        return frozenset(i for i, option in enumerate(self.options) if option.correct)


@dataclass(frozen=True)
class QuizSpec:
    slug: str
    module: str
    title: str
    pass_percent: int
    questions_per_attempt: int
    max_attempts: int
    cooldown_minutes: int
    questions: tuple[QuestionSpec, ...]
    # The defaults are what a quiz meant before these settings existed: a stored version without
    # them keeps that meaning. Files parsed now get the parser's defaults (3, "after_pass").
    attempts_per_day: int = 0  # 0 = no limit on attempts started in any rolling 24 hours
    review: str = "always"  # or "after_pass": the answer key only once the quiz is passed

    def question(self, question_id: str) -> QuestionSpec | None:
        return next((q for q in self.questions if q.id == question_id), None)


@dataclass(frozen=True)
class PersonaSpec:
    name: str
    description: str


@dataclass(frozen=True)
class RoleplaySpec:
    slug: str
    module: str
    title: str
    brief: str
    persona: PersonaSpec
    lines: tuple[str, ...]
    rubric: RubricSpec


@dataclass(frozen=True)
class RequirementSet:
    modules: tuple[str, ...] = ()
    quizzes: tuple[str, ...] = ()
    roleplays: tuple[str, ...] = ()


@dataclass(frozen=True)
class RenewalSpec:
    window_days: int
    requirements: RequirementSet


@dataclass(frozen=True)
class TrackSpec:
    slug: str
    title: str
    description: str
    valid_months: int
    grants_eligibility: bool
    requirements: RequirementSet
    renewal: RenewalSpec | None = None


@dataclass(frozen=True)
class AnchorLevelSpec:
    criterion: str
    score: int
    rationale: str


@dataclass(frozen=True)
class AnchorSpec:
    """A sample answer to a role-play with the levels it deserves, for calibrating trainers."""

    id: str
    kind: str  # one of ANCHOR_KINDS
    title: str
    replies: tuple[str, ...]
    levels: tuple[AnchorLevelSpec, ...]

    def scores(self) -> dict[str, int]:
        return {level.criterion: level.score for level in self.levels}


@dataclass(frozen=True)
class CalibrationSpec:
    slug: str
    roleplay: str
    anchors: tuple[AnchorSpec, ...]
    exact_agreement_percent: int = 70
    adjacent_agreement_percent: int = 95


@dataclass(frozen=True)
class CountryLines:
    """One country's crisis lines: the values of the placeholders in course text.

    Site configuration rather than course content: never synced, never hashed.
    """

    code: str
    name: str
    values: dict[str, str]
    source: str
    checked: str


@dataclass(frozen=True)
class Catalogue:
    """Everything under modules/, quizzes/ and certificates/, parsed and cross-checked."""

    modules: dict[str, ModuleSpec] = field(default_factory=dict)
    quizzes: dict[str, QuizSpec] = field(default_factory=dict)
    roleplays: dict[str, RoleplaySpec] = field(default_factory=dict)
    tracks: dict[str, TrackSpec] = field(default_factory=dict)
    calibrations: dict[str, CalibrationSpec] = field(default_factory=dict)
    crisis_lines: dict[str, CountryLines] = field(default_factory=dict)
    # advice that does not stop a sync (`path:line: warning: ...`)
    warnings: list[Problem] = field(default_factory=list)


def to_data(spec: Any) -> dict[str, Any]:
    """A JSON-ready dict of a spec: tuples become lists."""
    return asdict(spec)


def quiz_from_data(data: dict[str, Any]) -> QuizSpec:
    questions = tuple(
        QuestionSpec(
            id=q["id"],
            kind=q["kind"],
            scenario=q["scenario"],
            prompt=q["prompt"],
            explanation=q["explanation"],
            options=tuple(OptionSpec(**o) for o in q["options"]),
        )
        for q in data["questions"]
    )
    return QuizSpec(**{**_scalars(data, "questions"), "questions": questions})


def rubric_from_data(data: dict[str, Any]) -> RubricSpec:
    criteria = tuple(
        CriterionSpec(
            id=c["id"],
            title=c["title"],
            critical=c["critical"],
            levels=tuple(LevelSpec(**lv) for lv in c["levels"]),
            min_score=c.get("min_score"),
        )
        for c in data["criteria"]
    )
    # a version stored before floors existed has no min_score: it keeps meaning "no floor"
    return RubricSpec(pass_percent=data["pass_percent"], meets_score=data["meets_score"],
                      criteria=criteria, min_score=data.get("min_score"))


def roleplay_from_data(data: dict[str, Any]) -> RoleplaySpec:
    return RoleplaySpec(
        **_scalars(data, "persona", "lines", "rubric"),
        persona=PersonaSpec(**data["persona"]),
        lines=tuple(data["lines"]),
        rubric=rubric_from_data(data["rubric"]),
    )


def calibration_from_data(data: dict[str, Any]) -> CalibrationSpec:
    anchors = tuple(
        AnchorSpec(
            **_scalars(a, "replies", "levels"),
            replies=tuple(a["replies"]),
            levels=tuple(AnchorLevelSpec(**lv) for lv in a["levels"]),
        )
        for a in data["anchors"]
    )
    return CalibrationSpec(**{**_scalars(data, "anchors"), "anchors": anchors})


def _requirements(data: dict[str, Any]) -> RequirementSet:
    return RequirementSet(
        modules=tuple(data["modules"]),
        quizzes=tuple(data["quizzes"]),
        roleplays=tuple(data["roleplays"]),
    )


def track_from_data(data: dict[str, Any]) -> TrackSpec:
    renewal = data.get("renewal")
    return TrackSpec(
        **_scalars(data, "requirements", "renewal"),
        requirements=_requirements(data["requirements"]),
        renewal=RenewalSpec(renewal["window_days"], _requirements(renewal["requirements"]))
        if renewal
        else None,
    )


def module_from_data(data: dict[str, Any]) -> ModuleSpec:
    return ModuleSpec(
        **_scalars(data, "objectives", "requires"),
        objectives=tuple(data["objectives"]),
        requires=tuple(data["requires"]),
    )


def _scalars(data: dict[str, Any], *nested: str) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in nested}


def rubric_hash(rubric: RubricSpec) -> str:
    """What a trainer's calibration is tied to: a new rubric (any criterion, level, descriptor
    or pass rule) means a new hash, and the trainers who graded against it calibrate again."""
    return content_hash(to_data(rubric))


def content_hash(data: Any) -> str:
    """SHA-256 of a canonical JSON form: the same content always hashes the same."""
    canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()
