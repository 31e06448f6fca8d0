"""Reading modules: prerequisites, read marks, feedback, progress."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import (
    URL,
    Integer,
    String,
    bindparam,
    cast,
    func,
    literal_column,
    null,
    select,
    union_all,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from courseware.domain.clock import utcnow
from courseware.domain.statuses import ContentKind
from courseware.infra.db import DirectRead
from courseware.infra.remembered import Remembered
from courseware.models import (
    CatalogueRevision,
    ContentItem,
    ContentVersion,
    ModuleFeedback,
    ModuleRead,
    User,
)
from courseware.services import catalogue


class Locked(Exception):
    """The module's prerequisites are not read yet; the message says which."""


@dataclass(frozen=True)
class Activity:
    """A quiz or role-play that practises a module (same slug as the module)."""

    kind: str
    slug: str
    title: str


@dataclass(frozen=True)
class ModuleState:
    """One active module as one learner stands with it."""

    id: int  # the module's content item
    slug: str
    title: str
    version_id: int  # its current version, whose synced data is `data`
    content_hash: str  # that version's hash: with version_id, a key for what is made from it
    data: dict[str, Any]
    read: bool
    missing: tuple[str, ...]  # titles of unread prerequisites
    rating: int | None  # this learner's feedback, if any
    comment: str | None
    activities: tuple[Activity, ...]  # the quiz and role-play, in that order

    @property
    def locked(self) -> bool:
        return bool(self.missing)

    @property
    def lock_reason(self) -> str:
        # a module unlocks when the one before is marked read (not when its quiz is passed)
        return "Read " + " and ".join(self.missing) + " first" if self.missing else ""


class _CatalogueRow(NamedTuple):
    item_id: int
    kind: ContentKind
    slug: str
    title: str
    version_id: int
    content_hash: str


class _Mark(NamedTuple):
    """One row of the learner's read: the catalogue's revision, a read mark or feedback."""

    what: int  # _REVISION, _READ or _FEEDBACK
    revision: str | None
    module_id: int | None
    rating: int | None
    comment: str | None


_REVISION, _READ, _FEEDBACK = 0, 1, 2

# Every learner page asks for these, and the module page is the course's busiest. The active
# content in course order is the same for every learner and changes only with a sync: a
# process keeps it per database and catalogue revision (random, set anew by every sync that
# changes the catalogue, in its transaction). Each page reads, in one statement, only the
# revision and the learner's own read marks and feedback (indexed by user), directly (see
# DirectRead) unless the session has already run a statement or holds changes.
_CATALOGUE = DirectRead(
    select(ContentItem.id, ContentItem.kind, ContentItem.slug, ContentItem.title,
           ContentVersion.id, ContentVersion.content_hash)
    .join(ContentVersion, ContentVersion.id == ContentItem.current_version_id)
    .where(ContentItem.active)
    .order_by(ContentItem.position, ContentItem.kind, ContentItem.slug),
    _CatalogueRow)

# (typed NULLs: PostgreSQL gives two untyped ones in a column the type text)
_NO_TEXT, _NO_NUMBER = cast(null(), String), cast(null(), Integer)
_MARKS = DirectRead(union_all(
    select(literal_column(str(_REVISION)), CatalogueRevision.revision, _NO_NUMBER, _NO_NUMBER,
           _NO_TEXT),
    select(literal_column(str(_READ)), _NO_TEXT, ModuleRead.module_id, _NO_NUMBER, _NO_TEXT)
    .where(ModuleRead.user_id == bindparam("user_id")),
    select(literal_column(str(_FEEDBACK)), _NO_TEXT, ModuleFeedback.module_id,
           ModuleFeedback.rating, ModuleFeedback.comment)
    .where(ModuleFeedback.user_id == bindparam("user_id"))),
    _Mark)

_KEPT_CATALOGUES: Remembered[tuple[URL, str], tuple[_CatalogueRow, ...]] = Remembered(16)

_ACTIVITIES = (ContentKind.QUIZ, ContentKind.ROLEPLAY)


def module_states(session: Session, user: User) -> list[ModuleState]:
    return _states(session, user, only=None)


def module_state(session: Session, user: User, slug: str) -> ModuleState | None:
    """One module as the learner stands with it (the module page: the others' rows are read,
    for its prerequisites, but no state is made of them)."""
    found = _states(session, user, only=slug)
    return found[0] if found else None


def _catalogue(session: Session, revision: str | None) -> tuple[_CatalogueRow, ...]:
    if revision is None:  # no revision row: nothing to keep it under
        return tuple(_CATALOGUE.all(session))
    key = (catalogue.database_key(session), revision)
    rows = _KEPT_CATALOGUES.get(key)
    if rows is None:
        # read after the revision: what is kept under it is that revision's or a later one's
        rows = _KEPT_CATALOGUES.keep(key, tuple(_CATALOGUE.all(session)))
    return rows


def _states(session: Session, user: User, only: str | None) -> list[ModuleState]:
    revision = None
    read: set[int] = set()
    feedback: dict[int, tuple[int | None, str | None]] = {}
    for mark in _MARKS.all(session, user_id=user.id):
        if mark.what == _REVISION:
            revision = mark.revision
            continue
        assert mark.module_id is not None  # a read mark or feedback names its module
        if mark.what == _READ:
            read.add(mark.module_id)
        else:
            feedback[mark.module_id] = (mark.rating, mark.comment)
    modules: list[_CatalogueRow] = []
    activities: dict[str, list[Activity]] = {}
    titles: dict[str, str] = {}
    done: set[str] = set()
    for row in _catalogue(session, revision):
        if row.kind in _ACTIVITIES:  # quizzes sort before role-plays (ORDER BY kind)
            activities.setdefault(row.slug, []).append(Activity(row.kind, row.slug, row.title))
            continue
        if row.kind != ContentKind.MODULE:  # a track, or the trainers' calibration set
            continue
        titles[row.slug] = row.title
        if row.item_id in read:
            done.add(row.slug)
        if only is None or row.slug == only:
            modules.append(row)
    states = []
    for module in modules:
        data = catalogue.data_of(session, module.version_id, module.content_hash)
        rating, comment = feedback.get(module.item_id, (None, None))
        states.append(ModuleState(
            id=module.item_id, slug=module.slug, title=module.title,
            version_id=module.version_id, content_hash=module.content_hash, data=data,
            read=module.slug in done,
            missing=tuple(titles.get(req, req) for req in data["requires"] if req not in done),
            rating=rating, comment=comment,
            activities=tuple(activities.get(module.slug, ())),
        ))
    return states


def mark_read(session: Session, user: User, state: ModuleState) -> bool:
    """Record the module as read; True when this is the first time. Enforced here, not in HTML."""
    if state.locked:
        raise Locked(state.lock_reason)
    if state.read:
        return False
    try:
        with session.begin_nested():
            session.add(ModuleRead(user_id=user.id, module_id=state.id))
    except IntegrityError:  # a double click landed twice; the first one counts
        return False
    return True


def save_feedback(session: Session, user: User, module_id: int, rating: int,
                  comment: str | None) -> None:
    existing = session.scalar(select(ModuleFeedback).where(
        ModuleFeedback.user_id == user.id, ModuleFeedback.module_id == module_id))
    comment = (comment or "").strip() or None
    if existing is None:
        try:
            with session.begin_nested():
                session.add(ModuleFeedback(user_id=user.id, module_id=module_id, rating=rating,
                                           comment=comment))
            return
        except IntegrityError:
            existing = session.scalar(select(ModuleFeedback).where(
                ModuleFeedback.user_id == user.id, ModuleFeedback.module_id == module_id))
            assert existing is not None
    existing.rating, existing.comment, existing.updated_at = rating, comment, utcnow()
    session.flush()


def feedback_summary(session: Session) -> list[dict[str, object]]:
    modules = catalogue.items(session, ContentKind.MODULE)
    stats = {
        module_id: (count, avg)
        for module_id, count, avg in session.execute(
            select(ModuleFeedback.module_id, func.count(), func.avg(ModuleFeedback.rating))
            .group_by(ModuleFeedback.module_id))
    }
    summary = []
    for m in modules:
        count, avg = stats.get(m.item.id, (0, None))
        distribution = dict(session.execute(
            select(ModuleFeedback.rating, func.count()).where(ModuleFeedback.module_id == m.item.id)
            .group_by(ModuleFeedback.rating)).all())
        comments = session.execute(
            select(ModuleFeedback.rating, ModuleFeedback.comment, ModuleFeedback.updated_at)
            .where(ModuleFeedback.module_id == m.item.id, ModuleFeedback.comment.is_not(None))
            .order_by(ModuleFeedback.updated_at.desc()).limit(50)).all()
        summary.append({
            "module": m.item, "count": count,
            "average": round(float(avg), 2) if avg is not None else None,
            "distribution": [distribution.get(r, 0) for r in range(1, 6)],
            "comments": comments,
        })
    return summary
