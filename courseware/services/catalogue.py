"""Reading the synced content back: current items and typed specs of any version."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from courseware.content.model import (
    ModuleSpec,
    QuizSpec,
    RoleplaySpec,
    TrackSpec,
    module_from_data,
    quiz_from_data,
    roleplay_from_data,
    track_from_data,
)
from courseware.models import ContentItem, ContentVersion

_SPEC_KEYS = {
    "module": ("slug", "title", "order", "minutes", "summary", "objectives", "requires", "body"),
}


@dataclass(frozen=True)
class Current:
    item: ContentItem
    version: ContentVersion

    @property
    def data(self) -> dict[str, Any]:
        return self.version.data


def items(session: Session, kind: str) -> list[Current]:
    rows = session.scalars(
        select(ContentItem)
        .where(ContentItem.kind == kind, ContentItem.active)
        .order_by(ContentItem.position, ContentItem.slug)
    ).all()
    return [Current(item, item.current_version) for item in rows if item.current_version]


def item(session: Session, kind: str, slug: str) -> Current | None:
    row = session.scalar(select(ContentItem).where(
        ContentItem.kind == kind, ContentItem.slug == slug, ContentItem.active))
    if row is None or row.current_version is None:
        return None
    return Current(row, row.current_version)


def titles(session: Session) -> dict[tuple[str, str], str]:
    rows = session.execute(select(ContentItem.kind, ContentItem.slug, ContentItem.title))
    return {(kind, slug): title for kind, slug, title in rows}


def _source(data: dict[str, Any], keys: tuple[str, ...] | None = None) -> dict[str, Any]:
    derived = {"body_html", "toc", "question_hashes", "brief_html", "persona_html",
               "description_html"}
    return {k: v for k, v in data.items() if k not in derived and (keys is None or k in keys)}


def module_spec(version: ContentVersion) -> ModuleSpec:
    return module_from_data(_source(version.data, _SPEC_KEYS["module"]))


def quiz_spec(version: ContentVersion) -> QuizSpec:
    return quiz_from_data(_source(version.data))


def roleplay_spec(version: ContentVersion) -> RoleplaySpec:
    return roleplay_from_data(_source(version.data))


def track_spec(version: ContentVersion) -> TrackSpec:
    return track_from_data(_source(version.data))
