"""Reading modules: prerequisites, read marks, feedback, progress."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from courseware.clock import utcnow
from courseware.models import ContentItem, ModuleFeedback, ModuleRead, User

from . import catalogue


class Locked(Exception):
    """The module's prerequisites are not read yet; the message says which."""


@dataclass(frozen=True)
class ModuleState:
    current: catalogue.Current
    read: bool
    missing: tuple[str, ...]  # titles of unread prerequisites

    @property
    def locked(self) -> bool:
        return bool(self.missing)

    @property
    def lock_reason(self) -> str:
        return "Finish " + " and ".join(self.missing) + " first" if self.missing else ""



def module_states(session: Session, user: User) -> list[ModuleState]:
    # one query: the active modules, each with whether this user has read it
    rows = session.execute(
        select(ContentItem, ModuleRead.id)
        .outerjoin(ModuleRead, and_(ModuleRead.module_id == ContentItem.id,
                                    ModuleRead.user_id == user.id))
        .where(ContentItem.kind == "module", ContentItem.active)
        .order_by(ContentItem.position, ContentItem.slug)).all()
    modules = [catalogue.Current(item, item.current_version) for item, _read in rows
               if item.current_version]
    done = {item.slug for item, read in rows if read is not None}
    titles = {m.item.slug: m.item.title for m in modules}
    return [
        ModuleState(
            current=m,
            read=m.item.slug in done,
            missing=tuple(titles.get(r, r) for r in m.data["requires"] if r not in done),
        )
        for m in modules
    ]


def module_state(session: Session, user: User, slug: str) -> ModuleState | None:
    return next((s for s in module_states(session, user) if s.current.item.slug == slug), None)


def mark_read(session: Session, user: User, state: ModuleState) -> bool:
    """Record the module as read; True when this is the first time. Enforced here, not in HTML."""
    if state.locked:
        raise Locked(state.lock_reason)
    if state.read:
        return False
    try:
        with session.begin_nested():
            session.add(ModuleRead(user_id=user.id, module_id=state.current.item.id))
    except IntegrityError:  # a double click landed twice; the first one counts
        return False
    return True


def save_feedback(session: Session, user: User, module: ContentItem, rating: int,
                  comment: str | None) -> None:
    existing = session.scalar(select(ModuleFeedback).where(
        ModuleFeedback.user_id == user.id, ModuleFeedback.module_id == module.id))
    comment = (comment or "").strip() or None
    if existing is None:
        try:
            with session.begin_nested():
                session.add(ModuleFeedback(user_id=user.id, module_id=module.id, rating=rating,
                                           comment=comment))
            return
        except IntegrityError:
            existing = session.scalar(select(ModuleFeedback).where(
                ModuleFeedback.user_id == user.id, ModuleFeedback.module_id == module.id))
            assert existing is not None
    existing.rating, existing.comment, existing.updated_at = rating, comment, utcnow()
    session.flush()


def feedback_summary(session: Session) -> list[dict[str, object]]:
    modules = catalogue.items(session, "module")
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
