"""State the browser journeys start from, made through the services on the server's database.

For what a journey is not about: calibrating a trainer quickly, a learner's submitted role-play,
a first grade. What a journey is about, it does in the browser.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from courseware.domain import clock
from courseware.domain.statuses import ContentKind
from courseware.infra.db import Database
from courseware.models import Submission, User
from courseware.services import accounts, calibration, catalogue, grading, learning

PASSWORD = "a long seeded secret phrase"


@contextmanager
def _session(database_url: str) -> Iterator[Session]:
    database = Database(database_url, poolclass=NullPool)
    try:
        with database.session() as s:
            yield s
            s.commit()
    finally:
        database.engine.dispose()


def _user(s: Session, email: str) -> User:
    user = accounts.find_by_email(s, email)
    assert user is not None, email
    return user


def calibrate(database_url: str, email: str, *slugs: str) -> None:
    """The trainer graded each role-play's anchors at their reference levels (if not yet)."""
    with _session(database_url) as s:
        trainer = _user(s, email)
        for slug in slugs:
            current = catalogue.item(s, ContentKind.ROLEPLAY, slug)
            assert current is not None, slug
            if calibration.standing(s, trainer, current).calibrated:
                continue
            run = calibration.start(s, trainer, slug, clock.utcnow())
            s.flush()
            rubric = calibration.roleplay_spec_of(run).rubric
            while (upcoming := calibration.next_anchor(run)) is not None:
                levels = upcoming[1].scores()
                comments = {c: "As the descriptor says." for c, v in levels.items()
                            if v < rubric.meets_score}
                calibration.answer(s, trainer, run, upcoming[1].id, levels, comments,
                                   clock.utcnow())


def submitted(database_url: str, name: str, email: str, slug: str, *,
              double_mark: bool = False) -> int:
    """A new learner who has read the modules up to `slug`'s and submitted its role-play."""
    with _session(database_url) as s:
        learner = accounts.create_user(s, email=email, name=name, password=PASSWORD,
                                       role="learner", fast_hash=True)
        s.flush()
        current = catalogue.item(s, ContentKind.ROLEPLAY, slug)
        assert current is not None
        module = catalogue.roleplay_spec(current.version).module
        for state in learning.module_states(s, learner):
            fresh = learning.module_state(s, learner, state.slug)
            assert fresh is not None
            learning.mark_read(s, learner, fresh)
            if state.slug == module:
                break
        draft = grading.start(s, learner, current, clock.utcnow())
        s.flush()
        replies = [f"Seeded reply {n + 1}: I hear how hard this is." for n in
                   range(len(draft.replies))]
        # the draw for a second mark is made here, at submission, as the web does
        drawn = grading.DoubleMarking(b"e2e", 100 if double_mark else 0)
        assert grading.submit(s, learner, draft, replies, clock.utcnow(), double_marking=drawn)
        return draft.id


def status(database_url: str, submission_id: int) -> str:
    with _session(database_url) as s:
        sub = s.get(Submission, submission_id)
        assert sub is not None
        return str(sub.status)
