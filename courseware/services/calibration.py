"""Trainer calibration: blind grading of a role-play's anchors before grading learners' work.

A trainer is calibrated on a role-play while they hold a passed run whose rubric hash is the
current rubric's (courseware.domain.content.model.rubric_hash): a new rubric asks every trainer
to calibrate again; new or reworded anchors alone do not (see the README).
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from courseware.domain import calibrate
from courseware.domain import rubric as rules
from courseware.domain.content.model import (
    AnchorSpec,
    CalibrationSpec,
    RoleplaySpec,
    rubric_hash,
)
from courseware.domain.statuses import STAFF_ROLES, CalibrationStatus, ContentKind, Role
from courseware.models import CalibrationAnswer, CalibrationRun, ContentItem, User
from courseware.services import audit, catalogue

MAX_COMMENT = 5000


class CalibrationError(ValueError):
    """A request the calibration rules refuse; the message is safe to show."""


class StaleAnchor(CalibrationError):
    """The form was for an anchor already graded (a double click, a back button)."""


class NotCalibrated(Exception):
    """The trainer may not grade this role-play's work yet; the message says why."""


class RunNotVisible(Exception):
    """The run does not exist for this user (404)."""


@dataclass(frozen=True)
class Standing:
    """Where one trainer stands on one role-play."""

    roleplay: catalogue.Current
    calibration: catalogue.Current | None
    passed_run: CalibrationRun | None  # a passed run on the current rubric
    open_run: CalibrationRun | None
    last_run: CalibrationRun | None  # the latest completed run, whatever its rubric

    @property
    def calibrated(self) -> bool:
        return self.passed_run is not None

    @property
    def reason(self) -> str:
        """Why the trainer is not calibrated ("" when they are)."""
        title = self.roleplay.item.title
        if self.calibrated:
            return ""
        if self.calibration is None:
            return f"“{title}” has no calibration set yet: ask an admin to sync the content."
        if self.open_run is not None:
            return f"Finish your calibration on “{title}” before grading its work."
        last = self.last_run
        if last is None:
            return f"Calibrate on “{title}” before grading its work."
        if last.status is CalibrationStatus.PASSED:
            return (f"The rubric of “{title}” has changed since you calibrated on it: "
                    "calibrate again before grading its work.")
        return (f"Your last calibration on “{title}” did not pass: try again before grading "
                "its work.")


def current_rubric_hash(roleplay: catalogue.Current) -> str:
    return rubric_hash(catalogue.roleplay_spec(roleplay.version).rubric)


def calibration_of(session: Session, roleplay_slug: str) -> catalogue.Current | None:
    """The active calibration set of a role-play, if it has one."""
    for current in catalogue.items(session, ContentKind.CALIBRATION):
        if catalogue.calibration_spec(current.version).roleplay == roleplay_slug:
            return current
    return None


def _runs(session: Session, trainer: User, roleplay_id: int) -> list[CalibrationRun]:
    return list(session.scalars(
        select(CalibrationRun).where(CalibrationRun.trainer_id == trainer.id,
                                     CalibrationRun.roleplay_id == roleplay_id)
        .order_by(CalibrationRun.number.desc())))


def standing(session: Session, trainer: User, roleplay: catalogue.Current) -> Standing:
    runs = _runs(session, trainer, roleplay.item.id)
    current_hash = current_rubric_hash(roleplay)
    passed = next((r for r in runs if r.status is CalibrationStatus.PASSED
                   and r.rubric_hash == current_hash), None)
    open_run = next((r for r in runs if r.status is CalibrationStatus.IN_PROGRESS), None)
    last = next((r for r in runs if r.status is not CalibrationStatus.IN_PROGRESS), None)
    return Standing(roleplay, calibration_of(session, roleplay.item.slug), passed, open_run, last)


def standings(session: Session, trainer: User) -> list[Standing]:
    """The trainer's standing on every active role-play, in course order."""
    return [standing(session, trainer, rp) for rp in catalogue.items(session, ContentKind.ROLEPLAY)]


def calibrated_roleplay_ids(session: Session, trainer: User) -> set[int]:
    return {s.roleplay.item.id for s in standings(session, trainer) if s.calibrated}


def check_may_grade(session: Session, trainer: User, roleplay_id: int, *,
                    required: bool = True) -> None:
    """Raise NotCalibrated (saying why) unless the trainer may grade this role-play's work."""
    if not required:
        return
    item = session.get(ContentItem, roleplay_id)
    if item is None or item.current_version is None:
        raise NotCalibrated("This role-play is no longer in the course.")
    found = standing(session, trainer, catalogue.Current(item, item.current_version))
    if not found.calibrated:
        raise NotCalibrated(found.reason)


def overview(session: Session) -> list[tuple[User, list[Standing]]]:
    """Every active trainer's and admin's standing on every role-play, for admins."""
    staff = session.scalars(select(User).where(User.role.in_(STAFF_ROLES), User.active)
                            .order_by(User.name, User.id)).all()
    return [(user, standings(session, user)) for user in staff]


# --- a run --------------------------------------------------------------------------------------

def start(session: Session, trainer: User, roleplay_slug: str, now: datetime) -> CalibrationRun:
    """The trainer's open run on this role-play, or a new one (anchors in a shuffled order)."""
    if trainer.role not in STAFF_ROLES:
        raise CalibrationError("Only trainers calibrate.")
    roleplay = catalogue.item(session, ContentKind.ROLEPLAY, roleplay_slug)
    if roleplay is None:
        raise CalibrationError("No such role-play.")
    found = standing(session, trainer, roleplay)
    if found.open_run is not None:
        return found.open_run
    if found.calibration is None:
        raise CalibrationError(found.reason)
    version = found.calibration.version
    data = catalogue.version_data(version)
    if data.get("rubric_hash") != current_rubric_hash(roleplay):
        raise CalibrationError("The calibration set was checked against another version of the "
                               "rubric: ask an admin to sync the content.")
    spec = catalogue.calibration_spec(version)
    number = (session.scalar(select(func.max(CalibrationRun.number)).where(
        CalibrationRun.trainer_id == trainer.id,
        CalibrationRun.roleplay_id == roleplay.item.id)) or 0) + 1
    order = [a.id for a in spec.anchors]
    random.SystemRandom().shuffle(order)  # the file's order (pass, borderline, fail) would tell
    run = CalibrationRun(
        trainer_id=trainer.id, roleplay_id=roleplay.item.id, calibration_version_id=version.id,
        roleplay_version_id=data["roleplay_version_id"], rubric_hash=data["rubric_hash"],
        number=number, status=CalibrationStatus.IN_PROGRESS, order=order,
        exact_required=spec.exact_agreement_percent,
        adjacent_required=spec.adjacent_agreement_percent, started_at=now)
    try:
        with session.begin_nested():
            session.add(run)
    except IntegrityError:  # a double click started it twice: use the one that landed
        again = standing(session, trainer, roleplay).open_run
        if again is None:
            raise CalibrationError("The calibration could not be started. Try again.") from None
        return again
    audit.record(session, actor=trainer, action="calibration.start", target_type="calibration",
                 target_id=run.id, target_label=roleplay_slug,
                 details={"roleplay": roleplay_slug, "run": number,
                          "calibration_version": version.number})
    return run


def run_for(session: Session, user: User, run_id: int) -> CalibrationRun:
    """A run its trainer may open; an admin may read anyone's completed run."""
    run = session.get(CalibrationRun, run_id)
    if run is None:
        raise RunNotVisible()
    if run.trainer_id == user.id:
        return run
    if user.role is Role.ADMIN and run.status is not CalibrationStatus.IN_PROGRESS:
        return run
    raise RunNotVisible()


def spec_of(run: CalibrationRun) -> CalibrationSpec:
    return catalogue.calibration_spec(run.calibration_version)


def roleplay_spec_of(run: CalibrationRun) -> RoleplaySpec:
    return catalogue.roleplay_spec(run.roleplay_version)


def next_anchor(run: CalibrationRun) -> tuple[int, AnchorSpec] | None:
    """(position from 1, anchor) of the first anchor not graded yet, in the run's order."""
    done = {a.anchor_id for a in run.answers}
    anchors = {a.id: a for a in spec_of(run).anchors}
    for position, anchor_id in enumerate(run.order, start=1):
        if anchor_id not in done:
            return position, anchors[anchor_id]
    return None


def answer(session: Session, trainer: User, run: CalibrationRun, anchor_id: str,
           levels: Mapping[str, int], comments: Mapping[str, str],
           now: datetime) -> CalibrationRun:
    """Record the trainer's blind levels for the next anchor; the last one completes the run."""
    if run.trainer_id != trainer.id:
        raise RunNotVisible()
    if run.status is not CalibrationStatus.IN_PROGRESS:
        raise CalibrationError("This calibration is complete: start a new one to try again.")
    upcoming = next_anchor(run)
    if upcoming is None or upcoming[1].id != anchor_id:
        raise StaleAnchor("You have already graded that response; here is the next one.")
    rubric = roleplay_spec_of(run).rubric
    try:
        rules.check_levels(rubric, levels)
    except rules.RubricError as exc:
        message = str(exc)
        raise CalibrationError(message[:1].upper() + message[1:] + ".") from None
    kept = {k: v.strip()[:MAX_COMMENT] for k, v in comments.items()
            if k in levels and v.strip()}
    for criterion in rubric.criteria:
        if rules.comment_required(rubric, levels[criterion.id]) and not kept.get(criterion.id):
            raise CalibrationError(f"Add a comment for “{criterion.title}”: it is below the "
                                   "level that meets the standard.")
    try:
        with session.begin_nested():
            session.add(CalibrationAnswer(run_id=run.id, anchor_id=anchor_id, levels=dict(levels),
                                          comments=kept, created_at=now))
    except IntegrityError:
        raise StaleAnchor("You have already graded that response; here is the next "
                          "one.") from None
    session.expire(run, ["answers"])
    audit.record(session, actor=trainer, action="calibration.answer", target_type="calibration",
                 target_id=run.id, details={"anchor": anchor_id, "position": upcoming[0]})
    if next_anchor(run) is None:
        _complete(session, trainer, run, now)
    return run


def result(run: CalibrationRun) -> calibrate.CalibrationResult:
    """The run's answers against the reference (every anchor must be answered)."""
    return calibrate.compare(
        roleplay_spec_of(run).rubric, spec_of(run).anchors,
        {a.anchor_id: a.levels for a in run.answers},
        exact_required=run.exact_required, adjacent_required=run.adjacent_required)


def _complete(session: Session, trainer: User, run: CalibrationRun, now: datetime) -> None:
    outcome = result(run)
    run.status = CalibrationStatus.PASSED if outcome.passed else CalibrationStatus.FAILED
    run.exact_percent = round(outcome.exact_percent, 1)
    run.adjacent_percent = round(outcome.adjacent_percent, 1)
    run.critical_agreed = outcome.critical_agreed
    run.completed_at = now
    session.flush()
    audit.record(session, actor=trainer, action=f"calibration.{run.status}",
                 target_type="calibration", target_id=run.id,
                 target_label=run.calibration_version.item.slug,
                 details={"run": run.number, "exact_percent": run.exact_percent,
                          "adjacent_percent": run.adjacent_percent,
                          "critical_agreed": run.critical_agreed,
                          "exact_required": run.exact_required,
                          "adjacent_required": run.adjacent_required,
                          "rubric_hash": run.rubric_hash})
