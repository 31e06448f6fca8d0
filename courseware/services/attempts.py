"""Quiz attempts: start (drawn once, stored as shown), submit once, review, limits.

When the next attempt opens combines three limits of the quiz's current version: the cooldown
after the last submission, `max_attempts` in all, and `attempts_per_day` started in any rolling
24 hours. What a review shows follows the version the attempt was taken against: with
`review = "after_pass"` the answer key stays hidden until the learner has passed the quiz.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from courseware.domain import quiz as rules
from courseware.domain.content.model import QuizSpec
from courseware.models import QuizAnswer, QuizAttempt, User
from courseware.services import catalogue, learning
from courseware.services.sql import rows_updated


class QuizUnavailable(Exception):
    """Starting an attempt is not allowed now; the message says why in the learner's terms."""


class AttemptNotFound(Exception):
    """No such attempt for this learner (another learner's attempt looks the same)."""


@dataclass(frozen=True)
class QuizStatus:
    current: catalogue.Current
    spec: QuizSpec
    attempts: tuple[QuizAttempt, ...]
    open_attempt: QuizAttempt | None
    module_read: bool
    module_title: str
    next_open_at: datetime | None
    now: datetime
    day_limited: bool = False  # the attempts_per_day window is what holds the next attempt

    @property
    def best(self) -> QuizAttempt | None:
        done = [a for a in self.attempts if a.submitted_at is not None]
        return max(done, key=lambda a: (a.percent or 0, -a.id), default=None)

    @property
    def passed(self) -> bool:
        return any(a.passed for a in self.attempts)

    @property
    def attempts_left(self) -> int | None:
        if self.spec.max_attempts == 0:
            return None
        return max(0, self.spec.max_attempts - len(self.attempts))

    @property
    def blocked_reason(self) -> str | None:
        if not self.module_read:
            return f"Read the module “{self.module_title}” first."
        if self.open_attempt is not None:
            return None
        if self.attempts_left == 0:
            return "You have used all the attempts this quiz allows."
        if self.next_open_at and self.next_open_at > self.now:
            opens = f"Your next attempt opens {humanize_until(self.next_open_at, self.now)}."
            if self.day_limited:
                per_day = self.spec.attempts_per_day
                return (f"You can start {per_day} attempt{'s' if per_day != 1 else ''} in any "
                        f"24 hours. {opens}")
            return opens
        return None


def humanize_until(moment: datetime, now: datetime) -> str:
    """'in 7 minutes', 'in 1 hour 5 minutes', 'now'."""
    seconds = (moment - now).total_seconds()
    if seconds <= 0:
        return "now"
    minutes = max(1, -(-int(seconds) // 60))
    if minutes < 60:
        return f"in {minutes} minute{'s' if minutes != 1 else ''}"
    hours, rest = divmod(minutes, 60)
    text = f"in {hours} hour{'s' if hours != 1 else ''}"
    return text + (f" {rest} minute{'s' if rest != 1 else ''}" if rest else "")


def quiz_status(session: Session, user: User, current: catalogue.Current,
                now: datetime) -> QuizStatus:
    spec = catalogue.quiz_spec(current.version)
    attempts = tuple(session.scalars(
        select(QuizAttempt).where(QuizAttempt.user_id == user.id,
                                  QuizAttempt.quiz_id == current.item.id)
        .order_by(QuizAttempt.number)
    ))
    open_attempt = next((a for a in attempts if a.submitted_at is None), None)
    state = learning.module_state(session, user, spec.module)
    last = max((a.submitted_at for a in attempts if a.submitted_at), default=None)
    cooldown_ends = last + timedelta(minutes=spec.cooldown_minutes) if last else None
    window_opens = day_window_opens(spec.attempts_per_day, [a.started_at for a in attempts], now)
    next_open = max((t for t in (cooldown_ends, window_opens) if t), default=None)
    return QuizStatus(
        current=current, spec=spec, attempts=attempts, open_attempt=open_attempt,
        module_read=bool(state and state.read),
        module_title=state.title if state else spec.module,
        next_open_at=next_open, now=now,
        day_limited=window_opens is not None and window_opens == next_open,
    )


DAY = timedelta(hours=24)


def day_window_opens(per_day: int, started: Sequence[datetime], now: datetime) -> datetime | None:
    """When one more attempt fits in the rolling 24 hours, or None if one fits now.

    At most `per_day` attempts may start in any 24 hours (0 = no limit). With k >= per_day
    starts in the last 24 hours, the next start must wait until all but per_day - 1 of them are
    more than 24 hours old: the (k - per_day + 1)-th oldest plus 24 hours.
    """
    if per_day == 0:
        return None
    recent = sorted(t for t in started if t > now - DAY)
    if len(recent) < per_day:
        return None
    return recent[len(recent) - per_day] + DAY


def has_passed(session: Session, user: User, quiz_id: int) -> bool:
    """Whether the learner has passed this quiz in any attempt, of any version."""
    return session.scalar(select(QuizAttempt.id).where(
        QuizAttempt.user_id == user.id, QuizAttempt.quiz_id == quiz_id,
        QuizAttempt.passed.is_(True)).limit(1)) is not None


def shows_key(session: Session, user: User, attempt: QuizAttempt) -> bool:
    """Whether the review of this submitted attempt may show the answer key: which options are
    correct, every option's feedback and the explanations.

    The attempt's own version decides: "always", or "after_pass" once the learner has passed
    the quiz. A version stored before the setting existed reads as "always", as it meant then.
    """
    if catalogue.quiz_spec(attempt.quiz_version).review == "always":
        return True
    return has_passed(session, user, attempt.quiz_id)


def start_attempt(session: Session, user: User, status: QuizStatus,
                  rng: random.Random | None = None) -> QuizAttempt:
    """The learner's open attempt, or a new draw. Reloading never draws again."""
    if status.open_attempt is not None:
        return status.open_attempt
    reason = status.blocked_reason
    if reason:
        raise QuizUnavailable(reason)
    version = status.current.version
    presented = rules.draw(status.spec, version.data["question_hashes"],
                           rng or random.SystemRandom())
    number = (session.scalar(select(func.max(QuizAttempt.number)).where(
        QuizAttempt.user_id == user.id, QuizAttempt.quiz_id == status.current.item.id)) or 0) + 1
    attempt = QuizAttempt(
        user_id=user.id, quiz_id=status.current.item.id, quiz_version_id=version.id,
        number=number, presented=[p.to_data() for p in presented], max_score=len(presented),
        started_at=status.now,
    )
    try:
        with session.begin_nested():
            session.add(attempt)
    except IntegrityError:
        # a concurrent start won (the open-attempt index allows one): use that attempt
        existing = session.scalar(select(QuizAttempt).where(
            QuizAttempt.user_id == user.id, QuizAttempt.quiz_id == status.current.item.id,
            QuizAttempt.submitted_at.is_(None)))
        if existing is None:
            raise QuizUnavailable("Another attempt was started at the same moment. "
                                  "Reload the page.") from None
        return existing
    return attempt


def get_attempt(session: Session, user: User, attempt_id: int) -> QuizAttempt:
    attempt = session.get(QuizAttempt, attempt_id)
    if attempt is None or attempt.user_id != user.id:
        raise AttemptNotFound()
    return attempt


def presented(attempt: QuizAttempt) -> list[rules.Presented]:
    return [rules.Presented.from_data(p) for p in attempt.presented]


def submit_attempt(
    session: Session, user: User, attempt: QuizAttempt,
    answers: Mapping[str, Sequence[int]], now: datetime,
) -> bool:
    """Score and close the attempt; True if this call closed it, False if it was already closed.

    The closing UPDATE only matches an open attempt, so of two simultaneous submits exactly one
    changes the row; the other records nothing and shows the stored result.
    """
    if attempt.user_id != user.id:
        raise AttemptNotFound()
    if attempt.submitted_at is not None:
        return False
    spec = catalogue.quiz_spec(attempt.quiz_version)
    shown = presented(attempt)
    clean = rules.validate_answers(spec, shown, answers)
    score = rules.score_attempt(spec, shown, clean)
    closed = rows_updated(
        session,
        update(QuizAttempt)
        .where(QuizAttempt.id == attempt.id, QuizAttempt.submitted_at.is_(None))
        .values(submitted_at=now, score=float(score.points), percent=score.percent,
                passed=score.passed)
        .execution_options(synchronize_session=False),
    )
    if closed != 1:
        session.refresh(attempt)
        return False
    for position, (item, question_score) in enumerate(zip(shown, score.questions, strict=True)):
        session.add(QuizAnswer(
            attempt_id=attempt.id, position=position, question_id=item.question_id,
            question_hash=item.question_hash,
            chosen=sorted(question_score.chosen), points=float(question_score.points),
            max_points=1.0,
        ))
    session.flush()
    session.refresh(attempt)
    return True
