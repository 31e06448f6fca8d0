"""Role-play submissions and their grading: drafts, queue, claims, grades, moderation."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, or_, select, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload, selectinload

from courseware.domain import cursors, sampling
from courseware.domain import rubric as rules
from courseware.domain.content.model import RoleplaySpec
from courseware.domain.statuses import (
    OPEN_SUBMISSION_STATUSES,
    STAFF_ROLES,
    WAITING_SUBMISSION_STATUSES,
    GradeKind,
    LiveFormat,
    ModerationCause,
    ModerationDecision,
    Role,
    SubmissionMode,
    SubmissionStatus,
)
from courseware.models import ContentItem, Grade, Moderation, Submission, User
from courseware.services import audit, calibration, catalogue, learning, notifications
from courseware.services.sql import rows_updated

MAX_REPLY = 3000
OPEN = OPEN_SUBMISSION_STATUSES
WAITING = WAITING_SUBMISSION_STATUSES


class GradingError(ValueError):
    """A request the grading rules refuse; the message is safe to show."""


class NotVisible(Exception):
    """The submission does not exist for this user (others' work looks the same: 404)."""


class GradeConflict(Exception):
    """The form was opened before the submission's latest grade: someone saved first.

    `grade` is the grade that landed in the form's place, when there is one; a form naming a
    number beyond the next one (edited, or from elsewhere) is out of date all the same."""

    def __init__(self, grade: Grade | None):
        super().__init__(f"{grade.grader.name} saved a grade for this submission first."
                         if grade is not None else
                         "The grades of this submission changed since the form was opened.")
        self.grade = grade


def spec_of(submission: Submission) -> RoleplaySpec:
    return catalogue.roleplay_spec(submission.roleplay_version)


def learner_status(submission: Submission) -> str:
    """What the learner is told: a grade under moderation is not shown yet."""
    if submission.status is SubmissionStatus.DRAFT:
        return "draft"
    if submission.status is SubmissionStatus.SUBMITTED:
        return "in review" if submission.claimed_by_id else "submitted"
    if submission.status in (SubmissionStatus.MODERATION, SubmissionStatus.DOUBLE_MARKING):
        return "in review"
    return {"returned": "returned for revision", "passed": "passed"}[submission.status]


def visible_to(submission: Submission, user: User) -> bool:
    """The learner's own work, always; staff's only once sent: a draft is the learner's alone."""
    if submission.learner_id == user.id:
        return True
    return user.role in STAFF_ROLES and submission.status is not SubmissionStatus.DRAFT


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


@dataclass(frozen=True)
class DoubleMarking:
    """Which share of submitted work gets a blind second grade, chosen by a keyed hash."""

    key: bytes
    percent: float

    def selects(self, submission_id: int) -> bool:
        return sampling.selected_for_double_marking(self.key, submission_id, self.percent)


def submit(session: Session, learner: User, submission: Submission, replies: Sequence[str],
           now: datetime, *, double_marking: DoubleMarking | None = None) -> bool:
    """Send the draft for grading; True if this call sent it (a replay changes nothing).

    With `double_marking`, the submission is drawn (or not) for a blind second grade now.
    """
    if submission.learner_id != learner.id:
        raise NotVisible()
    if submission.status is not SubmissionStatus.DRAFT:
        return False
    clean = check_replies(spec_of(submission), replies, final=True)
    selected = double_marking is not None and double_marking.selects(submission.id)
    changed = rows_updated(
        session,
        update(Submission)
        .where(Submission.id == submission.id, Submission.status == SubmissionStatus.DRAFT)
        .values(status=SubmissionStatus.SUBMITTED, replies=clean, submitted_at=now,
                updated_at=now, double_mark=selected)
        .execution_options(synchronize_session=False),
    )
    session.refresh(submission)
    return changed == 1


# --- trainers ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Round:
    """The grades of the judgement in progress: the grade under review (a first grade or an
    amendment), the blind second mark if the work was double-marked, and a moderator's blind
    grade that waits for their decision."""

    reviewed: Grade | None
    double: Grade | None
    pending: Grade | None  # a moderation grade without its decision yet

    @property
    def graders(self) -> set[int]:
        return {g.grader_id for g in (self.reviewed, self.double, self.pending) if g is not None}


def current_round(submission: Submission) -> Round:
    grades = list(submission.grades)
    reviewed = next((g for g in reversed(grades)
                     if g.kind in (GradeKind.GRADE, GradeKind.AMENDMENT)), None)
    later = [g for g in grades if reviewed is not None and g.number > reviewed.number]
    double = next((g for g in reversed(later) if g.kind is GradeKind.DOUBLE_MARK), None)
    decided = {m.grade_id for m in submission.moderations}
    pending = next((g for g in reversed(later)
                    if g.kind is GradeKind.MODERATION and g.decision is None
                    and g.id not in decided), None)
    return Round(reviewed, double, pending)


def _first_grader_id(submission: Submission) -> int | None:
    reviewed = current_round(submission).reviewed
    return reviewed.grader_id if reviewed else None


def stage(submission: Submission) -> str:
    """The task a waiting submission offers, in the queue's words."""
    if submission.status is SubmissionStatus.DOUBLE_MARKING:
        return "Second mark (blind)"
    if submission.status is SubmissionStatus.MODERATION:
        if current_round(submission).pending is not None:
            return "Moderation: decide"
        return "Moderation (blind)"
    return "First grade"


def refusal(submission: Submission, trainer: User) -> str | None:
    """Why this trainer may not take the submission's waiting task, or None."""
    if submission.learner_id == trainer.id:
        return "This is your own work."
    work = current_round(submission)
    if (submission.status is SubmissionStatus.DOUBLE_MARKING and work.reviewed is not None
            and work.reviewed.grader_id == trainer.id):
        return "Another trainer gives the second mark: you gave the first."
    if submission.status is SubmissionStatus.MODERATION:
        if work.pending is not None and work.pending.grader_id != trainer.id:
            return f"{work.pending.grader.name} is moderating this submission."
        if work.pending is None and trainer.id in work.graders:
            return "A second trainer must moderate your grade."
    return None


QUEUE_PAGE = 50


@dataclass(frozen=True)
class QueuePage:
    items: list[Submission]
    next_cursor: str | None


def queue(session: Session, trainer: User, roleplay_slug: str | None = None, *,
          calibration_required: bool = True, after: str | None = None,
          per_page: int = QUEUE_PAGE) -> QueuePage:
    """Work waiting for this trainer, oldest first, a page at a time: never their own, never a
    second look at their own grade, and only role-plays they are calibrated on (when that is
    required). Keyset pages on (submitted_at, id); each row comes with its learner, claimant and
    grades in a fixed number of statements, however long the queue."""
    statement = (
        select(Submission).join(ContentItem, ContentItem.id == Submission.roleplay_id)
        .where(Submission.status.in_(WAITING), Submission.learner_id != trainer.id)
        .options(joinedload(Submission.learner), joinedload(Submission.claimed_by),
                 selectinload(Submission.grades).joinedload(Grade.grader),
                 selectinload(Submission.moderations))
        .order_by(Submission.submitted_at, Submission.id)
    )
    if roleplay_slug:
        statement = statement.where(ContentItem.slug == roleplay_slug)
    if calibration_required:
        statement = statement.where(Submission.roleplay_id.in_(
            calibration.calibrated_roleplay_ids(session, trainer)))
    position = cursors.decode(after, (datetime, int))
    kept: list[Submission] = []
    while len(kept) <= per_page:
        batch_statement = statement.limit(per_page + 1)
        if position is not None:
            batch_statement = batch_statement.where(
                tuple_(Submission.submitted_at, Submission.id) > tuple_(*position))
        batch = session.scalars(batch_statement).unique().all()
        # the few tasks this trainer may not take (their own first mark, another's moderation)
        kept.extend(s for s in batch if refusal(s, trainer) is None)
        if len(batch) <= per_page:
            break
        last = batch[-1]
        assert last.submitted_at is not None
        position = (last.submitted_at, last.id)
    page = kept[:per_page]
    more = len(kept) > per_page
    return QueuePage(page, cursors.encode((page[-1].submitted_at, page[-1].id)) if more else None)


def hidden_for_calibration(session: Session, trainer: User) -> list[tuple[calibration.Standing,
                                                                           int]]:
    """The role-plays whose waiting work the trainer cannot see until they calibrate, with how
    many submissions wait on each (role-plays with nothing waiting are listed too)."""
    counts: dict[int, int] = {roleplay_id: count for roleplay_id, count in session.execute(
        select(Submission.roleplay_id, func.count(Submission.id))
        .where(Submission.status.in_(WAITING), Submission.learner_id != trainer.id)
        .group_by(Submission.roleplay_id))}
    return [(found, counts.get(found.roleplay.item.id, 0))
            for found in calibration.standings(session, trainer) if not found.calibrated]


def for_trainer(session: Session, trainer: User, submission_id: int) -> Submission:
    """A submission a trainer may open; their own work is 404 whatever the URL."""
    submission = session.get(Submission, submission_id)
    if submission is None or submission.learner_id == trainer.id:
        raise NotVisible()
    return submission


def claim_lapsed(submission: Submission, now: datetime, lapse: timedelta) -> bool:
    return submission.claimed_at is None or submission.claimed_at < now - lapse


def claim(session: Session, trainer: User, submission: Submission, now: datetime,
          lapse: timedelta, *, calibration_required: bool = True) -> None:
    if submission.status not in WAITING:
        raise GradingError("This submission is not waiting for a grade.")
    calibration.check_may_grade(session, trainer, submission.roleplay_id,
                                required=calibration_required)
    refused = refusal(submission, trainer)
    if refused:
        raise GradingError(refused)
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
    if submission.status is SubmissionStatus.DOUBLE_MARKING:
        return GradeKind.DOUBLE_MARK
    if submission.status in (SubmissionStatus.PASSED, SubmissionStatus.RETURNED):
        return GradeKind.AMENDMENT
    return GradeKind.GRADE


def save_grade(session: Session, trainer: User, submission: Submission, data: GradeInput,
               now: datetime, *, calibration_required: bool = True) -> Grade:
    """Record a grade whose outcome the rubric computes: a first grade, a blind second mark, a
    moderator's blind grade (their decision comes after, see `decide`) or an amendment."""
    if submission.learner_id == trainer.id:
        raise NotVisible()
    if submission.status is SubmissionStatus.DRAFT:
        raise GradingError("This submission has not been sent for grading yet.")
    # The server chooses the number; the form's number is only an optimistic lock. A form
    # opened before another trainer's grade landed is a conflict, whatever else it says.
    number = next_grade_number(submission)
    if data.expected_number != number:
        raise GradeConflict(session.scalar(select(Grade).where(
            Grade.submission_id == submission.id, Grade.number == data.expected_number)))
    calibration.check_may_grade(session, trainer, submission.roleplay_id,
                                required=calibration_required)
    kind = grade_kind(submission)
    work = current_round(submission)
    if kind is GradeKind.MODERATION and work.pending is not None \
            and work.pending.grader_id == trainer.id:
        raise GradingError("You have saved your grade: now confirm or overturn the grade under "
                           "review.")
    refused = refusal(submission, trainer) if submission.status in WAITING else None
    if refused:
        raise GradingError(refused)
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
    if kind is GradeKind.AMENDMENT and not reason:
        raise GradingError("Give a reason for amending a saved grade.")
    if kind is not GradeKind.AMENDMENT:
        reason = None  # blind grades give no reason: the decision after a moderation does
    grade = Grade(
        submission_id=submission.id, number=number, kind=kind,
        grader_id=trainer.id, levels=dict(data.levels), comments=comments, feedback=feedback,
        total=outcome.total, max_total=outcome.max_total, outcome=outcome.outcome,
        failing=[f.to_data() for f in outcome.failing],
        needs_moderation=kind in (GradeKind.GRADE, GradeKind.AMENDMENT)
        and outcome.needs_moderation,
        decision=None, reason=reason, created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(grade)
    except IntegrityError:
        session.expire(submission)
        winner = session.scalar(select(Grade).where(Grade.submission_id == submission.id,
                                                    Grade.number == number))
        if winner is None:
            raise GradingError("The grade could not be saved. Reload and try again.") from None
        raise GradeConflict(winner) from None
    _after_grade(submission, kind, grade, work, trainer)
    submission.updated_at = now
    session.flush()
    session.expire(submission, ["grades", "moderations"])
    audit.record(session, actor=trainer, action=f"grade.{kind}", target_type="submission",
                 target_id=submission.id, target_label=submission.learner.email, reason=reason,
                 details={"grade": grade.number, "outcome": grade.outcome, "total": grade.total,
                          "max": grade.max_total, "needs_moderation": grade.needs_moderation,
                          "status": submission.status})
    notifications.roleplay_graded(session, submission, grade, now)
    return grade


def _after_grade(submission: Submission, kind: GradeKind, grade: Grade, work: Round,
                 trainer: User) -> None:
    """Where the submission goes after a grade, and which grade (if any) decides it."""
    submission.claimed_by_id = None
    submission.claimed_at = None
    if kind is GradeKind.MODERATION:
        # blind until now: the moderator keeps the submission to compare and decide
        submission.claimed_by_id = trainer.id
        submission.claimed_at = grade.created_at
        return
    if kind is GradeKind.DOUBLE_MARK:
        first = work.reviewed
        assert first is not None
        if first.outcome != grade.outcome:
            submission.status = SubmissionStatus.MODERATION  # they disagree on pass or fail
        else:
            _decide(submission, first)
        return
    if grade.needs_moderation:
        submission.status = SubmissionStatus.MODERATION
    elif (kind is GradeKind.GRADE and submission.double_mark
          and submission.mode is SubmissionMode.WRITTEN):
        submission.status = SubmissionStatus.DOUBLE_MARKING
    else:
        _decide(submission, grade)


def _decide(submission: Submission, grade: Grade) -> None:
    submission.status = SubmissionStatus(grade.outcome)
    submission.decided_grade_id = grade.id


@dataclass(frozen=True)
class Agreement:
    """How the blind grades of one submission compare, criterion by criterion."""

    rows: tuple[tuple[str, tuple[int, ...]], ...]  # criterion id, levels in grade order

    @property
    def exact_percent(self) -> float:
        return 100 * sum(1 for _, lv in self.rows if lv[0] == lv[-1]) / len(self.rows)

    @property
    def adjacent_percent(self) -> float:
        return 100 * sum(1 for _, lv in self.rows if abs(lv[0] - lv[-1]) <= 1) / len(self.rows)

    def to_data(self) -> dict[str, object]:
        return {cid: {"levels": list(lv), "exact": lv[0] == lv[-1],
                      "adjacent": abs(lv[0] - lv[-1]) <= 1} for cid, lv in self.rows}


def agreement(spec: RoleplaySpec, grades: Sequence[Grade]) -> Agreement:
    """Levels per criterion of `grades` (the grade under review first, the moderator's last)."""
    return Agreement(tuple((c.id, tuple(g.levels[c.id] for g in grades))
                           for c in spec.rubric.criteria))


def decide(session: Session, trainer: User, submission: Submission,
           decision: ModerationDecision, reason: str, now: datetime) -> Moderation:
    """The moderator, having saved their own blind grade and seen the others, confirms the grade
    under review or overturns it (with a reason): the confirmed or the moderator's grade decides
    the outcome. The agreement of the grades is recorded."""
    if submission.status is not SubmissionStatus.MODERATION:
        raise GradingError("This submission is not waiting for a moderation decision.")
    work = current_round(submission)
    if work.pending is None or work.pending.grader_id != trainer.id:
        raise GradingError("Save your own grade of this submission first.")
    assert work.reviewed is not None
    reason = reason.strip()
    if decision is ModerationDecision.OVERTURNED and not reason:
        raise GradingError("Give a reason for overturning the first grade.")
    spec = spec_of(submission)
    grades = [g for g in (work.reviewed, work.double, work.pending) if g is not None]
    agreed = agreement(spec, grades)
    record = Moderation(
        submission_id=submission.id, grade_id=work.pending.id, reviewed_grade_id=work.reviewed.id,
        moderator_id=trainer.id,
        cause=ModerationCause.DISAGREEMENT if work.double else ModerationCause.CRITICAL,
        decision=decision, reason=reason or None, agreement=agreed.to_data(),
        exact_percent=round(agreed.exact_percent, 1),
        adjacent_percent=round(agreed.adjacent_percent, 1),
        outcome_agreed=work.reviewed.outcome == work.pending.outcome, decided_at=now)
    try:
        with session.begin_nested():
            session.add(record)
    except IntegrityError:
        raise GradingError("This moderation was decided already.") from None
    chosen = work.reviewed if decision is ModerationDecision.CONFIRMED else work.pending
    _decide(submission, chosen)
    submission.claimed_by_id = None
    submission.claimed_at = None
    submission.updated_at = now
    session.flush()
    session.expire(submission, ["grades", "moderations"])
    audit.record(session, actor=trainer, action=f"moderation.{decision}",
                 target_type="submission", target_id=submission.id,
                 target_label=submission.learner.email, reason=record.reason,
                 details={"cause": record.cause, "grade": work.pending.number,
                          "reviewed_grade": work.reviewed.number,
                          "outcome": chosen.outcome, "exact_percent": record.exact_percent,
                          "adjacent_percent": record.adjacent_percent,
                          "outcome_agreed": record.outcome_agreed})
    notifications.outcome_decided(session, submission, chosen, now, moderated=True)
    return record


def next_grade_number(submission: Submission) -> int:
    """The number the next grade of this submission gets: always the server's choice."""
    return max((g.number for g in submission.grades), default=0) + 1


def visible_grade(submission: Submission) -> Grade | None:
    """The grade the learner may see: the one that decided the outcome, none while waiting."""
    decided = (SubmissionStatus.PASSED, SubmissionStatus.RETURNED)
    if submission.status not in decided or not submission.grades:
        return None
    return submission.decided_grade or submission.grades[-1]


def record_live(session: Session, trainer: User, learner: User, current: catalogue.Current, *,
                held_on: date, live_format: LiveFormat, duration_minutes: int, notes: str,
                now: datetime, calibration_required: bool = True) -> Submission:
    """A role-play a trainer ran in person, by phone or video; graded like a written one
    (never double-marked: a second trainer did not see it)."""
    if learner.id == trainer.id:
        raise GradingError("You cannot record a role-play for yourself.")
    calibration.check_may_grade(session, trainer, current.item.id,
                                required=calibration_required)
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
