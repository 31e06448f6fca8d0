"""Role-play submissions and their grading: drafts, queue, claims, grades, moderation."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from courseware.domain import rubric as rules
from courseware.domain.content.model import RoleplaySpec
from courseware.domain.statuses import (
    OPEN_SUBMISSION_STATUSES,
    STAFF_ROLES,
    WAITING_SUBMISSION_STATUSES,
    GradeKind,
    LiveFormat,
    ModerationDecision,
    Role,
    SubmissionMode,
    SubmissionStatus,
)
from courseware.models import ContentItem, Grade, Submission, User
from courseware.services import audit, catalogue, learning, notifications
from courseware.services.sql import rows_updated

MAX_REPLY = 3000
OPEN = OPEN_SUBMISSION_STATUSES
WAITING = WAITING_SUBMISSION_STATUSES


class GradingError(ValueError):
    """A request the grading rules refuse; the message is safe to show."""


class NotVisible(Exception):
    """The submission does not exist for this user (others' work looks the same: 404)."""


class GradeConflict(Exception):
    """Another trainer saved a grade for this submission first."""

    def __init__(self, grade: Grade):
        super().__init__(f"{grade.grader.name} saved a grade for this submission first.")
        self.grade = grade


def spec_of(submission: Submission) -> RoleplaySpec:
    return catalogue.roleplay_spec(submission.roleplay_version)


def learner_status(submission: Submission) -> str:
    """What the learner is told: a grade under moderation is not shown yet."""
    if submission.status is SubmissionStatus.DRAFT:
        return "draft"
    if submission.status is SubmissionStatus.SUBMITTED:
        return "in review" if submission.claimed_by_id else "submitted"
    if submission.status is SubmissionStatus.MODERATION:
        return "in review"
    return {"returned": "returned for revision", "passed": "passed"}[submission.status]


def visible_to(submission: Submission, user: User) -> bool:
    return submission.learner_id == user.id or user.role in STAFF_ROLES


def get_submission(session: Session, user: User, submission_id: int) -> Submission:
    submission = session.get(Submission, submission_id)
    if submission is None or not visible_to(submission, user):
        raise NotVisible()
    return submission


def history(session: Session, learner: User, roleplay: ContentItem) -> list[Submission]:
    return list(session.scalars(
        select(Submission).where(Submission.learner_id == learner.id,
                                 Submission.roleplay_id == roleplay.id)
        .order_by(Submission.created_at.desc(), Submission.id.desc())
    ))


def passed_roleplays(session: Session, learner: User) -> dict[str, Submission]:
    rows = session.execute(
        select(ContentItem.slug, Submission)
        .join(Submission, Submission.roleplay_id == ContentItem.id)
        .where(Submission.learner_id == learner.id, Submission.status == SubmissionStatus.PASSED)
        .order_by(Submission.id)
    )
    return {slug: submission for slug, submission in rows}


def start(session: Session, learner: User, current: catalogue.Current, now: datetime) -> Submission:
    """The open submission, or a new draft (pre-filled from a returned one, linked to it)."""
    spec = catalogue.roleplay_spec(current.version)
    state = learning.module_state(session, learner, spec.module)
    if not (state and state.read):
        raise GradingError(f"Read the module “{state.title if state else spec.module}"
                           "” first.")
    past = history(session, learner, current.item)
    open_one = next((s for s in past if s.status in OPEN), None)
    if open_one:
        return open_one
    if any(s.status is SubmissionStatus.PASSED for s in past):
        raise GradingError("You have already passed this role-play.")
    previous = past[0] if past and past[0].status is SubmissionStatus.RETURNED else None
    replies = list(previous.replies) if previous else [""] * len(spec.lines)
    replies = (replies + [""] * len(spec.lines))[: len(spec.lines)]
    draft = Submission(
        learner_id=learner.id, roleplay_id=current.item.id, roleplay_version_id=current.version.id,
        mode=SubmissionMode.WRITTEN, status=SubmissionStatus.DRAFT, replies=replies,
        previous_id=previous.id if previous else None, created_at=now, updated_at=now,
    )
    try:
        with session.begin_nested():
            session.add(draft)
    except IntegrityError:  # a double click started it twice; use the one that landed
        existing = next((s for s in history(session, learner, current.item) if s.status in OPEN),
                        None)
        if existing is None:
            raise GradingError("Your draft could not be started. Try again.") from None
        return existing
    return draft


def check_replies(spec: RoleplaySpec, replies: Sequence[str], *, final: bool) -> list[str]:
    """Replies cleaned; a final submit needs every reply. Raises GradingError."""
    if len(replies) != len(spec.lines):
        raise GradingError("The form does not match this role-play. Reload the page.")
    clean = [r.replace("\r\n", "\n").replace("\x00", "").strip() for r in replies]
    for number, reply in enumerate(clean, start=1):
        if len(reply) > MAX_REPLY:
            raise GradingError(f"Reply {number} is longer than {MAX_REPLY} characters.")
    if final:
        empty = [str(n) for n, r in enumerate(clean, start=1) if not r]
        if empty:
            raise GradingError("Write a reply to every line before you submit "
                               f"(missing: {', '.join(empty)}).")
    return clean


def save_draft(session: Session, learner: User, submission: Submission,
               replies: Sequence[str], now: datetime) -> None:
    if submission.learner_id != learner.id:
        raise NotVisible()
    if submission.status is not SubmissionStatus.DRAFT:
        raise GradingError("This submission has already been sent; it can no longer change.")
    submission.replies = check_replies(spec_of(submission), replies, final=False)
    submission.updated_at = now
    session.flush()


def submit(session: Session, learner: User, submission: Submission, replies: Sequence[str],
           now: datetime) -> bool:
    """Send the draft for grading; True if this call sent it (a replay changes nothing)."""
    if submission.learner_id != learner.id:
        raise NotVisible()
    if submission.status is not SubmissionStatus.DRAFT:
        return False
    clean = check_replies(spec_of(submission), replies, final=True)
    changed = rows_updated(
        session,
        update(Submission)
        .where(Submission.id == submission.id, Submission.status == SubmissionStatus.DRAFT)
        .values(status=SubmissionStatus.SUBMITTED, replies=clean, submitted_at=now,
                updated_at=now)
        .execution_options(synchronize_session=False),
    )
    session.refresh(submission)
    return changed == 1


# --- trainers ------------------------------------------------------------------------------

def _first_grader_id(submission: Submission) -> int | None:
    graded = [g for g in submission.grades if g.kind in (GradeKind.GRADE, GradeKind.AMENDMENT)]
    return graded[-1].grader_id if graded else None


def queue(session: Session, trainer: User, roleplay_slug: str | None = None) -> list[Submission]:
    """Work waiting for this trainer, oldest first; never their own, never their own grade."""
    stmt = (
        select(Submission).join(ContentItem, ContentItem.id == Submission.roleplay_id)
        .where(Submission.status.in_(WAITING), Submission.learner_id != trainer.id)
        .order_by(Submission.submitted_at, Submission.id)
    )
    if roleplay_slug:
        stmt = stmt.where(ContentItem.slug == roleplay_slug)
    rows = session.scalars(stmt).all()
    return [s for s in rows
            if s.status is not SubmissionStatus.MODERATION or _first_grader_id(s) != trainer.id]


def for_trainer(session: Session, trainer: User, submission_id: int) -> Submission:
    """A submission a trainer may open; their own work is 404 whatever the URL."""
    submission = session.get(Submission, submission_id)
    if submission is None or submission.learner_id == trainer.id:
        raise NotVisible()
    return submission


def claim_lapsed(submission: Submission, now: datetime, lapse: timedelta) -> bool:
    return submission.claimed_at is None or submission.claimed_at < now - lapse


def claim(session: Session, trainer: User, submission: Submission, now: datetime,
          lapse: timedelta) -> None:
    if submission.status not in WAITING:
        raise GradingError("This submission is not waiting for a grade.")
    if (submission.status is SubmissionStatus.MODERATION
            and _first_grader_id(submission) == trainer.id):
        raise GradingError("A second trainer must moderate your grade.")
    changed = rows_updated(
        session,
        update(Submission)
        .where(Submission.id == submission.id, Submission.status.in_(WAITING),
               or_(Submission.claimed_by_id.is_(None), Submission.claimed_by_id == trainer.id,
                   Submission.claimed_at < now - lapse))
        .values(claimed_by_id=trainer.id, claimed_at=now)
        .execution_options(synchronize_session=False),
    )
    session.refresh(submission)
    if changed != 1:
        holder = submission.claimed_by.name if submission.claimed_by else "another trainer"
        raise GradingError(f"{holder} claimed this submission first.")
    audit.record(session, actor=trainer, action="grade.claim", target_type="submission",
                 target_id=submission.id)


def release(session: Session, trainer: User, submission: Submission) -> bool:
    """Give back this trainer's claim; False when they did not hold it."""
    if submission.claimed_by_id != trainer.id:
        return False
    submission.claimed_by_id = None
    submission.claimed_at = None
    session.flush()
    return True


@dataclass(frozen=True)
class GradeInput:
    levels: Mapping[str, int]
    comments: Mapping[str, str]
    feedback: str
    expected_number: int
    reason: str = ""


def grade_kind(submission: Submission) -> GradeKind:
    if submission.status is SubmissionStatus.MODERATION:
        return GradeKind.MODERATION
    if submission.status in (SubmissionStatus.PASSED, SubmissionStatus.RETURNED):
        return GradeKind.AMENDMENT
    return GradeKind.GRADE


def save_grade(session: Session, trainer: User, submission: Submission, data: GradeInput,
               now: datetime) -> Grade:
    """Record a grade (or moderation, or amendment) whose outcome the rubric computes."""
    if submission.learner_id == trainer.id:
        raise NotVisible()
    if submission.status is SubmissionStatus.DRAFT:
        raise GradingError("This submission has not been sent for grading yet.")
    # a form opened before another trainer's grade landed: a conflict, whatever else it says
    landed = session.scalar(select(Grade).where(Grade.submission_id == submission.id,
                                                Grade.number == data.expected_number))
    if landed is not None:
        raise GradeConflict(landed)
    kind = grade_kind(submission)
    spec = spec_of(submission)
    try:
        outcome = rules.rubric_outcome(spec.rubric, data.levels)
    except rules.RubricError as exc:
        message = str(exc)
        raise GradingError(message[:1].upper() + message[1:] + ".") from None
    comments = {k: v.strip() for k, v in data.comments.items() if k in data.levels and v.strip()}
    for criterion in spec.rubric.criteria:
        if rules.comment_required(spec.rubric, data.levels[criterion.id]) and \
                not comments.get(criterion.id):
            raise GradingError(f"Add a comment for “{criterion.title}”: it is below "
                               f"the level that meets the standard.")
    feedback = data.feedback.strip()
    if not feedback:
        raise GradingError("Write overall feedback for the learner.")
    reason = data.reason.strip() or None
    decision = None
    if kind is GradeKind.MODERATION:
        if _first_grader_id(submission) == trainer.id:
            raise GradingError("A second trainer must moderate your grade.")
        under_review = submission.grades[-1]
        decision = (ModerationDecision.CONFIRMED if outcome.outcome == under_review.outcome
                    else ModerationDecision.OVERTURNED)
        if decision is ModerationDecision.OVERTURNED and not reason:
            raise GradingError("Give a reason for overturning the first grade.")
    if kind is GradeKind.AMENDMENT and not reason:
        raise GradingError("Give a reason for amending a saved grade.")
    grade = Grade(
        submission_id=submission.id, number=data.expected_number, kind=kind,
        grader_id=trainer.id, levels=dict(data.levels), comments=comments, feedback=feedback,
        total=outcome.total, max_total=outcome.max_total, outcome=outcome.outcome,
        failing=[f.to_data() for f in outcome.failing],
        needs_moderation=kind is not GradeKind.MODERATION and outcome.needs_moderation,
        decision=decision, reason=reason, created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(grade)
    except IntegrityError:
        session.expire(submission)
        winner = session.scalar(select(Grade).where(Grade.submission_id == submission.id,
                                                    Grade.number == data.expected_number))
        if winner is None:
            raise GradingError("The grade could not be saved. Reload and try again.") from None
        raise GradeConflict(winner) from None
    submission.status = (SubmissionStatus.MODERATION if grade.needs_moderation
                         else SubmissionStatus(outcome.outcome))
    submission.claimed_by_id = None
    submission.claimed_at = None
    submission.updated_at = now
    session.flush()
    session.expire(submission, ["grades"])
    audit.record(session, actor=trainer, action=f"grade.{kind}", target_type="submission",
                 target_id=submission.id, target_label=submission.learner.email, reason=reason,
                 details={"grade": grade.number, "outcome": grade.outcome, "total": grade.total,
                          "max": grade.max_total, "decision": decision,
                          "needs_moderation": grade.needs_moderation})
    notifications.roleplay_graded(session, submission, grade, now)
    return grade


def next_grade_number(submission: Submission) -> int:
    return len(submission.grades) + 1


def visible_grade(submission: Submission) -> Grade | None:
    """The grade the learner may see: the latest, unless it awaits moderation."""
    decided = (SubmissionStatus.PASSED, SubmissionStatus.RETURNED)
    if submission.status not in decided or not submission.grades:
        return None
    return submission.grades[-1]


def record_live(session: Session, trainer: User, learner: User, current: catalogue.Current, *,
                held_on: date, live_format: LiveFormat, duration_minutes: int, notes: str,
                now: datetime) -> Submission:
    """A role-play a trainer ran in person, by phone or video; graded like a written one."""
    if learner.id == trainer.id:
        raise GradingError("You cannot record a role-play for yourself.")
    if learner.role is not Role.LEARNER:
        raise GradingError("Live role-plays are recorded for learners.")
    if held_on > now.date():
        raise GradingError("The date cannot be in the future.")
    past = history(session, learner, current.item)
    if any(s.status is SubmissionStatus.PASSED for s in past):
        raise GradingError(f"{learner.name} has already passed this role-play.")
    open_one = next((s for s in past if s.status in OPEN), None)
    if open_one:
        raise GradingError(f"{learner.name} already has this role-play in progress "
                           f"({learner_status(open_one)}).")
    returned = next((s for s in history(session, learner, current.item)
                     if s.status is SubmissionStatus.RETURNED), None)
    submission = Submission(
        learner_id=learner.id, roleplay_id=current.item.id, roleplay_version_id=current.version.id,
        mode=SubmissionMode.LIVE, status=SubmissionStatus.SUBMITTED, replies=[],
        created_at=now, updated_at=now,
        submitted_at=now, claimed_by_id=trainer.id, claimed_at=now, recorded_by_id=trainer.id,
        held_on=held_on, live_format=live_format, duration_minutes=duration_minutes,
        live_notes=notes.strip() or None,
        previous_id=returned.id if returned and not _has_successor(session, returned) else None,
    )
    try:
        with session.begin_nested():
            session.add(submission)
    except IntegrityError:
        raise GradingError("This learner already has this role-play in progress.") from None
    audit.record(session, actor=trainer, action="roleplay.live", target_type="submission",
                 target_id=submission.id, target_label=learner.email,
                 details={"format": live_format, "held_on": held_on.isoformat(),
                          "duration_minutes": duration_minutes})
    return submission


def _has_successor(session: Session, submission: Submission) -> bool:
    return session.scalar(select(Submission.id).where(Submission.previous_id == submission.id)) \
        is not None
