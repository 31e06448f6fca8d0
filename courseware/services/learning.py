"""Reading modules: prerequisites, read marks, feedback, progress."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import and_, bindparam, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from courseware.domain.clock import utcnow
from courseware.domain.statuses import ContentKind
from courseware.infra.db import DirectRead
from courseware.models import ContentItem, ContentVersion, ModuleFeedback, ModuleRead, User
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


class _LearnerRow(NamedTuple):
    item_id: int
    kind: ContentKind
    slug: str
    title: str
    version_id: int
    content_hash: str
    read_id: int | None
    rating: int | None  # the outer join makes these optional, whatever the columns' types say
    comment: str | None


# Every learner page asks for this, and the module page is the course's busiest: one statement,
# built once, that reads the active content with the learner's read mark and feedback (modules
# only have those; the outer joins leave them empty for the others), read directly (see
# DirectRead) unless the session has already run a statement or holds changes. The handful of
# tracks and calibration sets among the rows are skipped here rather than by a list of kinds in
# SQL.
_LEARNER_ROWS = DirectRead(
    select(ContentItem.id.label("item_id"), ContentItem.kind, ContentItem.slug,
           ContentItem.title, ContentVersion.id.label("version_id"), ContentVersion.content_hash,
           ModuleRead.id.label("read_id"), ModuleFeedback.rating, ModuleFeedback.comment)
    .join(ContentVersion, ContentVersion.id == ContentItem.current_version_id)
    .outerjoin(ModuleRead, and_(ModuleRead.module_id == ContentItem.id,
                                ModuleRead.user_id == bindparam("user_id")))
    .outerjoin(ModuleFeedback, and_(ModuleFeedback.module_id == ContentItem.id,
                                    ModuleFeedback.user_id == bindparam("user_id")))
    .where(ContentItem.active)
    .order_by(ContentItem.position, ContentItem.kind, ContentItem.slug),
    _LearnerRow)

_ACTIVITIES = (ContentKind.QUIZ, ContentKind.ROLEPLAY)


def module_states(session: Session, user: User) -> list[ModuleState]:
    return _states(session, user, only=None)


def module_state(session: Session, user: User, slug: str) -> ModuleState | None:
    """One module as the learner stands with it (the module page: the others' rows are read,
    for its prerequisites, but no state is made of them)."""
    found = _states(session, user, only=slug)
    return found[0] if found else None


def _states(session: Session, user: User, only: str | None) -> list[ModuleState]:
    rows = _LEARNER_ROWS.all(session, user_id=user.id)
    modules: list[_LearnerRow] = []
    activities: dict[str, list[Activity]] = {}
    titles: dict[str, str] = {}
    done: set[str] = set()
    for row in rows:
        if row.kind in _ACTIVITIES:  # quizzes sort before role-plays (ORDER BY kind)
            activities.setdefault(row.slug, []).append(Activity(row.kind, row.slug, row.title))
            continue
        if row.kind != ContentKind.MODULE:  # a track, or the trainers' calibration set
            continue
        titles[row.slug] = row.title
        if row.read_id is not None:
            done.add(row.slug)
        if only is None or row.slug == only:
            modules.append(row)
    states = []
    for module in modules:
        data = catalogue.data_of(session, module.version_id, module.content_hash)
        states.append(ModuleState(
            id=module.item_id, slug=module.slug, title=module.title,
            version_id=module.version_id, content_hash=module.content_hash, data=data,
            read=module.slug in done,
            missing=tuple(titles.get(req, req) for req in data["requires"] if req not in done),
            rating=module.rating, comment=module.comment,
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
