"""Arrange state through the services, without HTTP.

Tests about a page or an API use the HTTP helpers (tests/helpers.py): the forms are what they
test. Tests about anything else build what they need here, the way the application itself does
(the same service calls, the same rules, one transaction per step), only faster and without
depending on how a form is laid out.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from typing import Any, TypeVar

from flask import Flask
from sqlalchemy.orm import Session

from courseware.domain import clock
from courseware.domain.statuses import CertificateChange, ContentKind, Role, SubmissionStatus
from courseware.models import Certificate, Grade, QuizAttempt, Submission, User
from courseware.services import (
    account_email,
    accounts,
    attempts,
    catalogue,
    certificates,
    grading,
    learning,
)
from courseware.services.audit import COMMAND_LINE

PASSWORD = "correct horse battery staple"
T = TypeVar("T")
_LAPSE = timedelta(minutes=120)


class Factory:
    """Builds users, reading, quiz attempts, role-play submissions, grades and certificates."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.numbers = itertools.count(1)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One unit of work, committed at the end like a request's."""
        with self.app.app_context(), self.app.extensions["courseware.db"].session() as s:
            yield s
            s.commit()

    def _detached(self, session: Session, thing: T) -> T:
        session.flush()
        session.refresh(thing)
        session.expunge(thing)
        return thing

    # --- people -----------------------------------------------------------------------------

    def user(self, role: Role | str = Role.LEARNER, *, email: str | None = None,
             name: str | None = None, password: str = PASSWORD,
             confirmed: bool = True) -> User:
        """An account; `confirmed=False` is one that registered and has not yet followed the
        link in its confirmation mail (which is recorded, as registration does)."""
        n = next(self.numbers)
        role = Role(role)
        with self.session() as s:
            user = accounts.create_user(
                s, email=email or f"{role}{n}@example.org",
                name=name or f"{role.value.title()} {n}", password=password, role=role,
                fast_hash=True, confirmed=confirmed)
            if not confirmed:
                account_email.send_confirmation(s, user, clock.utcnow())
            return self._detached(s, user)

    # --- learning ---------------------------------------------------------------------------

    def modules(self) -> list[str]:
        with self.session() as s:
            return [c.item.slug for c in catalogue.items(s, ContentKind.MODULE)]

    def read(self, learner: User, *slugs: str) -> None:
        """Mark modules read, in course order (all of them when none are named)."""
        wanted = list(slugs) or self.modules()
        with self.session() as s:
            user = s.get(User, learner.id)
            assert user is not None
            for slug in [st.slug for st in learning.module_states(s, user)]:
                state = learning.module_state(s, user, slug)  # each read unlocks the next
                if slug in wanted and state is not None:
                    learning.mark_read(s, user, state)
            self._issue(s, user, actor=user, cause={"module_read": ",".join(wanted)})

    def quiz_attempt(self, learner: User, slug: str, *, wrong: int = 0) -> QuizAttempt:
        """A submitted attempt answering every drawn question right but the first `wrong`."""
        with self.session() as s:
            user = s.get(User, learner.id)
            current = catalogue.item(s, ContentKind.QUIZ, slug)
            assert user is not None and current is not None, slug
            status = attempts.quiz_status(s, user, current, clock.utcnow())
            attempt = attempts.start_attempt(s, user, status)
            s.flush()
            spec = catalogue.quiz_spec(current.version)
            answers: dict[str, Sequence[int]] = {}
            for position, shown in enumerate(attempt.presented):
                question = spec.question(shown["id"])
                assert question is not None
                right = [i for i, option in enumerate(question.options) if option.correct]
                wrong_pick = [i for i, option in enumerate(question.options)
                              if not option.correct][:1]
                answers[shown["id"]] = wrong_pick if position < wrong else right
            attempts.submit_attempt(s, user, attempt, answers, clock.utcnow())
            if attempt.passed:
                self._issue(s, user, actor=user, cause={"quiz_attempt": attempt.id})
            return self._detached(s, attempt)

    def pass_quizzes(self, learner: User, *slugs: str) -> None:
        for slug in slugs or self.modules():
            self.quiz_attempt(learner, slug)

    # --- role-plays -------------------------------------------------------------------------

    def roleplays(self) -> list[str]:
        with self.session() as s:
            return [c.item.slug for c in catalogue.items(s, ContentKind.ROLEPLAY)]

    def submission(self, learner: User, slug: str, *, text: str = "I hear you.") -> Submission:
        """A written role-play, submitted for grading (the module is read first if need be)."""
        with self.session() as s:
            user = s.get(User, learner.id)
            current = catalogue.item(s, ContentKind.ROLEPLAY, slug)
            assert user is not None and current is not None, slug
            spec = catalogue.roleplay_spec(current.version)
            state = learning.module_state(s, user, spec.module)
            if state is not None and not state.read:
                learning.mark_read(s, user, state)
            draft = grading.start(s, user, current, clock.utcnow())
            s.flush()
            replies = [f"{text} ({n + 1})" for n in range(len(spec.lines))]
            assert grading.submit(s, user, draft, replies, clock.utcnow())
            return self._detached(s, draft)

    def grade(self, trainer: User, submission: Submission, *, score: int | None = None,
              fail_critical: bool = False, reason: str = "") -> Grade:
        """A trainer's grade: every criterion at `score` (default: the top level)."""
        with self.session() as s:
            grader = s.get(User, trainer.id)
            sub = s.get(Submission, submission.id)
            assert grader is not None and sub is not None
            rubric = grading.spec_of(sub).rubric
            levels: dict[str, int] = {}
            comments: dict[str, str] = {}
            for criterion in rubric.criteria:
                level = criterion.max_score if score is None else score
                if fail_critical and criterion.critical:
                    level = criterion.levels[0].score
                levels[criterion.id] = level
                if level < rubric.meets_score:
                    comments[criterion.id] = "Ask directly and follow the protocol."
            grading.claim(s, grader, sub, clock.utcnow(), lapse=_LAPSE)
            saved = grading.save_grade(s, grader, sub, grading.GradeInput(
                levels, comments, "Clear, warm replies.", grading.next_grade_number(sub),
                reason), clock.utcnow())
            learner = s.get(User, sub.learner_id)
            assert learner is not None
            if sub.status is SubmissionStatus.PASSED:
                self._issue(s, learner, actor=grader,
                            cause={"grade": saved.id, "submission": sub.id})
            return self._detached(s, saved)

    # --- certificates -----------------------------------------------------------------------

    def earned_certificate(self, learner: User, trainer: User) -> Certificate:
        """Everything the track asks, done: the certificate issued as it would be on the web."""
        self.complete_track(learner, trainer)
        return self.certificate_of(learner)

    def complete_track(self, learner: User, trainer: User) -> None:
        """Every requirement of the track met (a certificate follows if the address is
        confirmed)."""
        self.read(learner)
        self.pass_quizzes(learner)
        for slug in self.roleplays():
            self.grade(trainer, self.submission(learner, slug))

    def manual_certificate(self, learner: User, reason: str = "Prior learning") -> Certificate:
        with self.session() as s:
            holder = s.get(User, learner.id)
            assert holder is not None
            cert = certificates.manual_issue(
                s, COMMAND_LINE, holder, "certified-peer-mentor", reason, clock.utcnow(),
                self._context())
            return self._detached(s, cert)

    def change_certificate(self, cert: Certificate, change: CertificateChange,
                           reason: str = "") -> None:
        """Revoke, suspend or reinstate, as the command line does."""
        with self.session() as s:
            held = s.get(Certificate, cert.id)
            assert held is not None
            certificates.change_state(s, COMMAND_LINE, held, change, reason, clock.utcnow())

    # --- mail ---------------------------------------------------------------------------------

    def reset_link(self, user: User, *, by: User | None = None) -> None:
        """Mail `user` a password-reset link (recorded in the outbox, queued on commit)."""
        with self.session() as s:
            account = s.get(User, user.id)
            actor = s.get(User, by.id) if by is not None else None
            assert account is not None
            account_email.send_reset(s, account, clock.utcnow(), actor=actor)

    def certificate_of(self, learner: User) -> Certificate:
        with self.session() as s:
            user = s.get(User, learner.id)
            assert user is not None
            held = certificates.held_by(s, user)
            assert held, f"{learner.email} holds no certificate"
            return self._detached(s, held[0])

    def _context(self) -> certificates.IssueContext:
        return certificates.IssueContext.from_config(self.app.config)

    def _issue(self, session: Session, learner: User, *, actor: User,
               cause: dict[str, Any]) -> None:
        certificates.issue_earned(session, learner, clock.utcnow(), self._context(),
                                  actor=actor, cause=cause)

