"""Load a parsed catalogue into the database, one version per distinct content hash."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from courseware.domain.content.model import (
    Catalogue,
    ModuleSpec,
    QuizSpec,
    RoleplaySpec,
    TrackSpec,
    content_hash,
    rubric_hash,
    to_data,
)
from courseware.domain.content.render import render_markdown
from courseware.domain.statuses import ContentKind
from courseware.models import CatalogueRevision, ContentItem, ContentVersion
from courseware.services import audit


@dataclass
class SyncReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.retired)

    def summary(self) -> str:
        return (f"{len(self.added)} added, {len(self.updated)} updated, "
                f"{len(self.unchanged)} unchanged, {len(self.retired)} retired")


def sync_catalogue(session: Session, catalogue: Catalogue, actor: audit.Actor) -> SyncReport:
    report = SyncReport()
    seen: set[tuple[str, str]] = set()
    order = {slug: m.order for slug, m in catalogue.modules.items()}
    entries: list[tuple[str, str, str, int, Any]] = []
    for slug, module in catalogue.modules.items():
        entries.append((ContentKind.MODULE, slug, module.title, module.order, module))
    for slug, quiz in catalogue.quizzes.items():
        entries.append((ContentKind.QUIZ, slug, quiz.title, order.get(quiz.module, 0), quiz))
    for slug, roleplay in catalogue.roleplays.items():
        entries.append((ContentKind.ROLEPLAY, slug, roleplay.title,
                        order.get(roleplay.module, 0), roleplay))
    for slug, track in catalogue.tracks.items():
        entries.append((ContentKind.TRACK, slug, track.title, 0, track))
    for kind, slug, title, position, spec in sorted(entries, key=lambda e: (e[0], e[1])):
        seen.add((kind, slug))
        outcome = _sync_item(session, kind, slug, title, position, to_data(spec),
                             _rendered(spec))
        getattr(report, outcome).append(f"{kind} {slug}")
    # after the role-plays: a calibration set is tied to the role-play version (and rubric) it
    # was checked against, and a new rubric makes a new calibration version of unchanged anchors
    for slug, calibration in sorted(catalogue.calibrations.items()):
        roleplay = catalogue.roleplays[calibration.roleplay]
        target = session.scalar(select(ContentItem).where(
            ContentItem.kind == ContentKind.ROLEPLAY, ContentItem.slug == calibration.roleplay))
        assert target is not None and target.current_version_id is not None
        seen.add((ContentKind.CALIBRATION, slug))
        source = {**to_data(calibration), "rubric_hash": rubric_hash(roleplay.rubric)}
        outcome = _sync_item(session, ContentKind.CALIBRATION, slug,
                             f"Calibration: {roleplay.title}", order.get(roleplay.module, 0),
                             source, {"roleplay_version_id": target.current_version_id})
        getattr(report, outcome).append(f"{ContentKind.CALIBRATION} {slug}")
    # in the order the items first came (without one, the order was whatever the plan gave)
    for item in session.scalars(select(ContentItem).where(ContentItem.active)
                                .order_by(ContentItem.id)):
        if (item.kind, item.slug) not in seen:
            item.active = False
            report.retired.append(f"{item.kind} {item.slug}")
    session.flush()
    if report.changed:
        # processes keep the catalogue they read under this value: they read it again
        session.execute(update(CatalogueRevision).values(revision=secrets.token_hex(16)))
        audit.record(session, actor=actor, action="content.sync", target_type="content",
                     details={"added": report.added, "updated": report.updated,
                              "retired": report.retired})
    return report


def _sync_item(session: Session, kind: str, slug: str, title: str, position: int,
               source: dict[str, Any], rendered: dict[str, Any]) -> str:
    """Store `source` (hashed) with what was derived from it (`rendered`, not hashed)."""
    digest = content_hash(source)
    item = session.scalar(select(ContentItem).where(ContentItem.kind == kind,
                                                    ContentItem.slug == slug))
    if item is None:
        item = ContentItem(kind=kind, slug=slug, title=title, position=position)
        session.add(item)
        session.flush()
        outcome = "added"
    else:
        outcome = "unchanged"
    current = item.current_version
    if current is not None and current.content_hash == digest:
        if not item.active or item.position != position or item.title != title:
            item.active, item.position, item.title = True, position, title
            return "updated"
        return outcome
    version = session.scalar(select(ContentVersion).where(ContentVersion.item_id == item.id,
                                                          ContentVersion.content_hash == digest))
    if version is None:  # new content; reverting to an older text reuses its version instead
        number = (session.scalar(select(func.max(ContentVersion.number))
                                 .where(ContentVersion.item_id == item.id)) or 0) + 1
        version = ContentVersion(item_id=item.id, number=number, content_hash=digest,
                                 data={**source, **rendered})
        session.add(version)
        session.flush()
    item.current_version = version
    item.current_version_id = version.id
    item.title, item.position, item.active = title, position, True
    return "added" if outcome == "added" else "updated"


def _rendered(spec: Any) -> dict[str, Any]:
    """What is derived from the source once, at sync: sanitised HTML and question hashes."""
    if isinstance(spec, ModuleSpec):
        body = render_markdown(spec.body)
        return {"body_html": body.html, "toc": list(body.toc)}
    if isinstance(spec, QuizSpec):
        return {"question_hashes": {q.id: content_hash(to_data(q)) for q in spec.questions}}
    if isinstance(spec, RoleplaySpec):
        return {
            "brief_html": render_markdown(spec.brief, shift_headings=True).html,
            "persona_html": render_markdown(spec.persona.description, shift_headings=True).html,
        }
    if isinstance(spec, TrackSpec):
        return {"description_html": render_markdown(spec.description, shift_headings=True).html}
    return {}
