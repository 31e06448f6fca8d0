"""The reliability report: how far trainers agree with each other and with the reference.

Pairs come from independent grades of the same submission (a first grade, a blind second mark,
a moderator's blind grade; never an amendment, which is given after reading the grade it amends)
and from calibration runs (a trainer's level beside an anchor's reference level).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import combinations

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from courseware.domain import reliability as stats
from courseware.domain.statuses import CalibrationStatus, GradeKind
from courseware.models import CalibrationRun, Grade, Submission, User
from courseware.services import catalogue

BLIND_KINDS = (GradeKind.GRADE, GradeKind.DOUBLE_MARK, GradeKind.MODERATION)


@dataclass
class TrainerRow:
    trainer: User
    grades: int = 0
    pairs: list[tuple[int, int]] = field(default_factory=list)  # (theirs, the other grader's)
    reference: list[tuple[int, int]] = field(default_factory=list)  # (theirs, the reference)

    @property
    def exact(self) -> float | None:
        return stats.exact_agreement(self.pairs)

    @property
    def adjacent(self) -> float | None:
        return stats.adjacent_agreement(self.pairs)

    @property
    def severity_vs_others(self) -> float | None:
        return stats.severity(self.pairs)

    @property
    def reference_exact(self) -> float | None:
        return stats.exact_agreement(self.reference)

    @property
    def severity_vs_reference(self) -> float | None:
        return stats.severity(self.reference)


@dataclass
class CriterionRow:
    roleplay: str
    criterion: str
    title: str
    pairs: list[tuple[int, int]] = field(default_factory=list)

    @property
    def exact(self) -> float | None:
        return stats.exact_agreement(self.pairs)

    @property
    def adjacent(self) -> float | None:
        return stats.adjacent_agreement(self.pairs)


@dataclass
class PairRow:
    first: User
    second: User
    pairs: list[tuple[int, int]] = field(default_factory=list)
    scale: tuple[int, ...] = ()

    @property
    def kappa(self) -> float | None:
        return stats.quadratic_weighted_kappa(self.pairs, self.scale or None)

    @property
    def exact(self) -> float | None:
        return stats.exact_agreement(self.pairs)


@dataclass
class Report:
    trainers: list[TrainerRow]
    criteria: list[CriterionRow]
    pairs: list[PairRow]
    double_marked: int  # submissions with a blind second mark
    units: int  # criteria of those, each a unit of alpha
    alpha: float | None
    interval: tuple[float, float] | None


def _independent(grades: Sequence[Grade]) -> list[Grade]:
    """One blind grade per grader: moderations given before blind moderation existed (with
    their decision on the grade) had seen the first grade, and do not count."""
    seen: set[int] = set()
    kept = []
    for grade in grades:
        if grade.kind not in BLIND_KINDS or grade.decision is not None or grade.grader_id in seen:
            continue
        seen.add(grade.grader_id)
        kept.append(grade)
    return kept


def build(session: Session, *, samples: int = 1000) -> Report:
    submissions = session.scalars(
        select(Submission).where(Submission.grades.any())
        .options(selectinload(Submission.grades).selectinload(Grade.grader))
        .order_by(Submission.id)).all()
    trainers: dict[int, TrainerRow] = {}
    criteria: dict[tuple[str, str], CriterionRow] = {}
    pairs: dict[tuple[int, int], PairRow] = {}
    units: list[list[int | None]] = []
    double_marked = 0
    for submission in submissions:
        grades = _independent(submission.grades)
        for grade in grades:
            trainers.setdefault(grade.grader_id, TrainerRow(grade.grader)).grades += 1
        if len(grades) < 2:
            continue
        spec = catalogue.roleplay_spec(submission.roleplay_version)
        scale = tuple(sorted({lv.score for c in spec.rubric.criteria for lv in c.levels}))
        double = any(g.kind is GradeKind.DOUBLE_MARK for g in grades)
        double_marked += double
        for criterion in spec.rubric.criteria:
            levels = [(g, g.levels.get(criterion.id)) for g in grades]
            given = [(g, lv) for g, lv in levels if lv is not None]
            if double:
                units.append([lv for _, lv in given])
            row = criteria.setdefault((spec.slug, criterion.id), CriterionRow(
                spec.title, criterion.id, criterion.title))
            for (a, la), (b, lb) in combinations(given, 2):
                row.pairs.append((la, lb))
                trainers[a.grader_id].pairs.append((la, lb))
                trainers[b.grader_id].pairs.append((lb, la))
                first, second = sorted(((a, la), (b, lb)), key=lambda x: x[0].grader_id)
                key = (first[0].grader_id, second[0].grader_id)
                pair = pairs.setdefault(key, PairRow(first[0].grader, second[0].grader,
                                                     scale=scale))
                pair.pairs.append((first[1], second[1]))
    _calibration_pairs(session, trainers)
    rows = sorted(trainers.values(), key=lambda r: (r.trainer.name, r.trainer.id))
    return Report(
        trainers=rows, criteria=sorted(criteria.values(), key=lambda r: (r.roleplay, r.title)),
        pairs=sorted(pairs.values(), key=lambda p: (p.first.name, p.second.name)),
        double_marked=double_marked, units=len(units),
        alpha=stats.krippendorff_alpha(units),
        interval=stats.bootstrap_alpha(units, samples=samples))


def _calibration_pairs(session: Session, trainers: dict[int, TrainerRow]) -> None:
    runs = session.scalars(
        select(CalibrationRun).where(CalibrationRun.status != CalibrationStatus.IN_PROGRESS)
        .options(selectinload(CalibrationRun.answers), selectinload(CalibrationRun.trainer))
        .order_by(CalibrationRun.id)).all()
    for run in runs:
        spec = catalogue.calibration_spec(run.calibration_version)
        reference = {a.id: a.scores() for a in spec.anchors}
        row = trainers.setdefault(run.trainer_id, TrainerRow(run.trainer))
        for answer in run.answers:
            for criterion, level in sorted(answer.levels.items()):
                expected = reference.get(answer.anchor_id, {}).get(criterion)
                if expected is not None:
                    row.reference.append((level, expected))
