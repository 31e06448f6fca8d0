"""Reading the synced content back: current items and typed specs of any version."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from sqlalchemy import URL, Engine, func, select
from sqlalchemy.orm import Session

from courseware.domain.content.model import (
    CalibrationSpec,
    ModuleSpec,
    QuizSpec,
    RoleplaySpec,
    TrackSpec,
    calibration_from_data,
    module_from_data,
    quiz_from_data,
    roleplay_from_data,
    track_from_data,
)
from courseware.models import ContentItem, ContentVersion


@dataclass(frozen=True)
class Current:
    item: ContentItem
    version: ContentVersion

    @property
    def data(self) -> dict[str, Any]:
        return version_data(self.version)


# A content version never changes once synced (a new text is a new version), so its parsed
# data can be kept per process. Keyed by id and hash: tests run many databases in one process.
_DATA: dict[tuple[int, str], dict[str, Any]] = {}
_SPECS: dict[tuple[str, int, str], object] = {}
S = TypeVar("S")


def version_data(version: ContentVersion) -> dict[str, Any]:
    key = (version.id, version.content_hash)
    data = _DATA.get(key)
    if data is None:
        data = _DATA[key] = version.data  # the deferred column: one query, once per process
    return data


def data_of(session: Session, version_id: int, content_hash: str) -> dict[str, Any]:
    """version_data for a version known by id and hash, without loading the ORM object."""
    key = (version_id, content_hash)
    data = _DATA.get(key)
    if data is None:
        data = session.scalar(select(ContentVersion.data).where(ContentVersion.id == version_id))
        assert data is not None, f"content version {version_id} has no data"
        data = _DATA[key] = data
    return data


_TRACKS: dict[tuple[URL, int, int], tuple[str, str, bool]] = {}


def database_key(source: Session | Engine) -> URL:
    """Which database a session (or an engine) talks to: ids are only unique within one."""
    bind = source if isinstance(source, Engine) else source.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    return engine.url


def track_facts(source: Session | Engine, track_id: int,
                version_id: int) -> tuple[str, str, bool]:
    """(slug, title, grants_eligibility) of a track version: immutable, kept per process
    (read with a session, or on a connection of the engine's own the first time)."""
    key = (database_key(source), track_id, version_id)
    facts = _TRACKS.get(key)
    if facts is None and isinstance(source, Engine):
        with Session(source) as s:
            return track_facts(s, track_id, version_id)
    if facts is None:
        assert isinstance(source, Session)
        slug = source.scalar(select(ContentItem.slug).where(ContentItem.id == track_id))
        data = source.scalar(select(ContentVersion.data).where(ContentVersion.id == version_id))
        assert slug is not None and data is not None
        facts = _TRACKS[key] = (slug, data["title"], bool(data.get("grants_eligibility")))
    return facts


def _spec(kind: str, version: ContentVersion, make: Callable[[dict[str, Any]], S]) -> S:
    key = (kind, version.id, version.content_hash)
    spec = _SPECS.get(key)
    if spec is None:
        spec = _SPECS[key] = make(_source(version_data(version)))
    # the key's kind decides which builder made the cached spec, so it is an S
    return cast(S, spec)


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


def version_counts(session: Session) -> list[tuple[ContentItem, int]]:
    """Every content item, retired ones too, with how many versions it has had."""
    rows = session.execute(
        select(ContentItem, func.count(ContentVersion.id))
        .join(ContentVersion, ContentVersion.item_id == ContentItem.id, isouter=True)
        .group_by(ContentItem.id).order_by(ContentItem.kind, ContentItem.position, ContentItem.slug)
    ).all()
    return [(item, count) for item, count in rows]


def titles(session: Session) -> dict[tuple[str, str], str]:
    rows = session.execute(select(ContentItem.kind, ContentItem.slug, ContentItem.title))
    return {(kind, slug): title for kind, slug, title in rows}


def _source(data: dict[str, Any]) -> dict[str, Any]:
    """The spec's own fields: a version's data minus what sync derived from it."""
    derived = {"body_html", "toc", "question_hashes", "brief_html", "persona_html",
               "description_html", "rubric_hash", "roleplay_version_id"}
    return {k: v for k, v in data.items() if k not in derived}


def module_spec(version: ContentVersion) -> ModuleSpec:
    return _spec("module", version, module_from_data)


def quiz_spec(version: ContentVersion) -> QuizSpec:
    return _spec("quiz", version, quiz_from_data)


def roleplay_spec(version: ContentVersion) -> RoleplaySpec:
    return _spec("roleplay", version, roleplay_from_data)


def track_spec(version: ContentVersion) -> TrackSpec:
    return _spec("track", version, track_from_data)


def calibration_spec(version: ContentVersion) -> CalibrationSpec:
    return _spec("calibration", version, calibration_from_data)
