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
from datetime import datetime, timedelta
from typing import Any, TypeVar

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from courseware.domain import clock, sampling
from courseware.domain.statuses import (
    SUBSCRIBABLE_EVENTS,
    ApiScope,
    CertificateChange,
    ContentKind,
    ModerationDecision,
    Role,
    SubmissionStatus,
)
from courseware.domain.watchlist import CodeRow, rows_from_values
from courseware.models import (
    ApiKey,
    CalibrationRun,
    Certificate,
    Grade,
    Program,
    QuizAttempt,
    Submission,
    User,
    WebhookEndpoint,
)
from courseware.services import (
    account_email,
    accounts,
    api_keys,
    attempts,
    calibration,
    catalogue,
    certificates,
    grading,
    learning,
    programs,
    watchlist,
    webhooks,
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

    def calibrate(self, trainer: User, *slugs: str, miss: int = 0) -> list[CalibrationRun]:
        """Calibrate a trainer quickly through the service: every anchor of each role-play (all
        of them when none are named) graded at its reference levels, except that the first
        `miss` criteria of each anchor are given a level two away (to fail on purpose).

        For tests about something else; calibration itself is tested through its pages."""
        runs = []
        wanted = list(slugs) or self.roleplays()
        with self.session() as s:
            user = s.get(User, trainer.id)
            assert user is not None
            for slug in wanted:
                run = calibration.start(s, user, slug, clock.utcnow())
                s.flush()
                rubric = calibration.roleplay_spec_of(run).rubric
                while (upcoming := calibration.next_anchor(run)) is not None:
                    levels = upcoming[1].scores()
                    for criterion in rubric.criteria[:miss]:
                        low, high = criterion.min_level_score, criterion.max_score
                        level = levels[criterion.id]
                        levels[criterion.id] = level + 2 if level + 2 <= high else low
                    comments = {c: "As the descriptor says." for c, level in levels.items()
                                if level < rubric.meets_score}
                    calibration.answer(s, user, run, upcoming[1].id, levels, comments,
                                       clock.utcnow())
                runs.append(self._detached(s, run))
        return runs

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
            assert grading.submit(s, user, draft, replies, clock.utcnow(),
                                  double_marking=self.double_marking())
            return self._detached(s, draft)

    def double_marking(self) -> grading.DoubleMarking:
        return grading.DoubleMarking(sampling.double_mark_key(self.app.config["SECRET_KEY"]),
                                     float(self.app.config["DOUBLE_MARK_PERCENT"]))

    def grade(self, trainer: User, submission: Submission, *, score: int | None = None,
              fail_critical: bool = False, reason: str = "") -> Grade:
        """A trainer's grade: every criterion at `score` (default: the top level). The trainer
        must be calibrated on the role-play (see `calibrate`)."""
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

    def decide(self, moderator: User, submission: Submission, decision: ModerationDecision,
               reason: str = "") -> None:
        """The moderator, having saved their own blind grade, confirms or overturns."""
        with self.session() as s:
            person = s.get(User, moderator.id)
            sub = s.get(Submission, submission.id)
            assert person is not None and sub is not None
            grading.decide(s, person, sub, decision, reason, clock.utcnow())

    # --- certificates -----------------------------------------------------------------------

    def earned_certificate(self, learner: User, trainer: User) -> Certificate:
        """Everything the track asks, done: the certificate issued as it would be on the web
        (the trainer is calibrated first if need be)."""
        self.complete_track(learner, trainer)
        return self.certificate_of(learner)

    def complete_track(self, learner: User, trainer: User) -> None:
        """Every requirement of the track met (a certificate follows if the address is
        confirmed); the trainer is calibrated first if need be."""
        with self.session() as s:
            user = s.get(User, trainer.id)
            assert user is not None
            missing = [st.roleplay.item.slug for st in calibration.standings(s, user)
                       if not st.calibrated]
        if missing:
            self.calibrate(trainer, *missing)
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

    def renewal(self, learner: User) -> Certificate:
        """Renew the learner's certificate the way a holder does: in the renewal window, by
        passing the track's renewal quizzes again (the clock moves into the window)."""
        held = self.certificate_of(learner)
        with self.session() as s:
            current = catalogue.item(s, ContentKind.TRACK, "certified-peer-mentor")
            assert current is not None
            renewal = catalogue.track_spec(current.version).renewal
            assert renewal is not None
        clock.freeze(held.expires_at - timedelta(days=renewal.window_days // 2))
        self.read(learner)  # a quiz opens once its module is read
        self.pass_quizzes(learner, *renewal.requirements.quizzes)
        renewed = self.certificate_of(learner)
        assert renewed.previous_id == held.id, "the renewal did not issue"
        return renewed
    def change_certificate(self, cert: Certificate, change: CertificateChange,
                           reason: str = "") -> None:
        """Revoke, suspend or reinstate, as the command line does."""
        with self.session() as s:
            held = s.get(Certificate, cert.id)
            assert held is not None
            certificates.change_state(s, COMMAND_LINE, held, change, reason, clock.utcnow())

    # --- programs -----------------------------------------------------------------------------

    def program(self, name: str | None = None, *, country: str = "GB") -> Program:
        """An active program made at the command line, with its first staff login (for its
        contact address, mailed a link: see program_staff for a login with a known password)."""
        n = next(self.numbers)
        with self.session() as s:
            program, _staff = programs.create(
                s, name=name or f"Program {n}", contact_email=f"contact{n}@program.example",
                country=country, staff_name="", actor=COMMAND_LINE, now=clock.utcnow())
            return self._detached(s, program)

    def program_of(self, staff: User) -> Program:
        with self.session() as s:
            held = s.get(Program, staff.program_id)
            assert held is not None
            return self._detached(s, held)

    def program_staff(self, program: Program, *, email: str | None = None,
                      password: str = PASSWORD) -> User:
        """Another staff login of the program, whose password is `password` (as if they had
        followed the mailed link and chosen it)."""
        n = next(self.numbers)
        with self.session() as s:
            held = s.get(Program, program.id)
            assert held is not None
            user = programs.add_staff(s, held, email=email or f"staff{n}@program.example",
                                      name=f"Staff {n}", actor=COMMAND_LINE,
                                      now=clock.utcnow())
            user.password_hash = accounts.hasher(True).hash(password)
            return self._detached(s, user)

    def api_key(self, program: Program, *scopes: str, expires_at: datetime | None = None,
                name: str = "test key") -> tuple[ApiKey, str]:
        """A key of the program (default scopes: every one) and the key itself."""
        with self.session() as s:
            held = s.get(Program, program.id)
            assert held is not None
            key, plaintext = api_keys.create(
                s, held, name=name, scopes=scopes or [scope.value for scope in ApiScope],
                expires_at=expires_at, actor=COMMAND_LINE, now=clock.utcnow())
            return self._detached(s, key), plaintext

    def follow(self, program: Program, staff: User, *codes: str) -> list[CodeRow]:
        """Add codes to the program's watch list as its staff login does."""
        with self.session() as s:
            held, user = s.get(Program, program.id), s.get(User, staff.id)
            assert held is not None and user is not None
            return watchlist.add(s, held, rows_from_values(enumerate(codes, start=1)),
                                 actor=user, now=clock.utcnow())

    def webhook_endpoint(self, program: Program, staff: User,
                         url: str = "https://hooks.example.org/courseware",
                         events: tuple[str, ...] = tuple(e.value for e in SUBSCRIBABLE_EVENTS)
                         ) -> tuple[WebhookEndpoint, str]:
        """An endpoint of the program as its staff register it (no DNS look-up: the delivery
        job checks the address before each attempt), and its secret."""
        with self.session() as s:
            user = s.get(User, staff.id)
            assert user is not None
            made = webhooks.create(s, program.id, user, url=url, events=list(events),
                                   description="", now=clock.utcnow(),
                                   allow_http_loopback=True)
            return self._detached(s, made.endpoint), made.secret

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



def bulk_certificates(app: Flask, count: int, *, start: int = 0) -> None:
    """`count` learners, each holding one certificate with a spread of standings, inserted in
    bulk (for list pages at size: statement counts and plans, not behaviour)."""
    from sqlalchemy import insert

    from courseware.domain.codes import generate_code

    now = clock.utcnow()
    with app.app_context(), app.extensions["courseware.db"].session() as s:
        track = catalogue.item(s, ContentKind.TRACK, "certified-peer-mentor")
        assert track is not None
        users = [{"email": f"bulk{n}@example.org", "name": f"Bulk Mentor {n:06d}",
                  "password_hash": "x", "role": Role.LEARNER, "created_at": now}
                 for n in range(start, start + count)]
        s.execute(insert(User), users)
        ids = s.scalars(select(User.id).where(User.email.like("bulk%@example.org"))
                        .order_by(User.id)).all()[-count:]
        certificates_ = []
        for n, user_id in enumerate(ids):
            issued = now - timedelta(days=30 * (n % 30))
            certificates_.append({
                "code": generate_code(), "user_id": user_id, "track_id": track.item.id,
                "track_version_id": track.version.id, "cycle": 1,
                "holder_name": f"Bulk Mentor {start + n:06d}", "issued_at": issued,
                "expires_at": issued + timedelta(days=730),
                "revoked_at": now if n % 17 == 0 else None,
                "revocation_note": "Bulk" if n % 17 == 0 else None,
                "suspended_at": now if n % 23 == 0 else None,
                "suspension_note": "Bulk" if n % 23 == 0 else None})
        s.execute(insert(Certificate), certificates_)
        s.commit()


def bulk_submissions(app: Flask, count: int, slug: str = "active-listening", *,
                     start: int = 0) -> None:
    """`count` learners, each with one written role-play submitted and waiting for a grade,
    inserted in bulk (for the queue at size: statement counts and plans, not behaviour)."""
    from sqlalchemy import insert

    now = clock.utcnow()
    with app.app_context(), app.extensions["courseware.db"].session() as s:
        current = catalogue.item(s, ContentKind.ROLEPLAY, slug)
        assert current is not None
        lines = len(catalogue.roleplay_spec(current.version).lines)
        prefix = f"queue{start}-"
        s.execute(insert(User), [
            {"email": f"{prefix}{n}@example.org", "name": f"Queued Learner {start + n:06d}",
             "password_hash": "x", "role": Role.LEARNER, "created_at": now}
            for n in range(count)])
        ids = s.scalars(select(User.id).where(User.email.like(f"{prefix}%@example.org"))
                        .order_by(User.id)).all()
        s.execute(insert(Submission), [
            {"learner_id": user_id, "roleplay_id": current.item.id,
             "roleplay_version_id": current.version.id, "mode": "written",
             "status": SubmissionStatus.SUBMITTED, "replies": ["A reply."] * lines,
             "created_at": now, "updated_at": now,
             "submitted_at": now - timedelta(minutes=count - n)}
            for n, user_id in enumerate(ids)])
        s.commit()
