"""Synced course content: one item per file, one version per distinct content hash."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from courseware.domain.clock import utcnow
from courseware.domain.statuses import ContentKind, sql_in
from courseware.models.base import Base, EnumText


class ContentItem(Base):
    __tablename__ = "content_item"
    __table_args__ = (
        UniqueConstraint("kind", "slug"),
        CheckConstraint(sql_in("kind", ContentKind), name="kind"),
        # every learner page lists the active content in course order (learning.module_states)
        Index("ix_content_item_listing", "active", "position", "kind", "slug"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[ContentKind] = mapped_column(EnumText(ContentKind))
    slug: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(300))
    position: Mapped[int] = mapped_column(default=0)
    # a file removed from the repository retires its item; its history stays for old attempts
    active: Mapped[bool] = mapped_column(default=True)
    current_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("content_version.id", use_alter=True, name="fk_content_item_current_version")
    )
    current_version: Mapped[ContentVersion | None] = relationship(
        foreign_keys=[current_version_id], post_update=True, lazy="joined"
    )


class ContentVersion(Base):
    __tablename__ = "content_version"
    __table_args__ = (
        UniqueConstraint("item_id", "number"),
        UniqueConstraint("item_id", "content_hash"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("content_item.id"))
    number: Mapped[int]
    content_hash: Mapped[str] = mapped_column(String(64))
    # the parsed spec plus what was rendered from it at sync (html, toc)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, deferred=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    item: Mapped[ContentItem] = relationship(foreign_keys=[item_id])


class CatalogueRevision(Base):
    """One row: a random value that every sync changing the catalogue (which items are active,
    their titles, order and current versions) sets anew, in the same transaction. A process
    keeps the catalogue it read under this value and reads it again once the value changes
    (courseware.services.learning); random rather than counted, so a database made again from
    nothing never repeats an old value. `courseware sync` (services.content_sync) is the only
    writer of content items: another one would have to set a new value too."""

    __tablename__ = "catalogue_revision"
    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    revision: Mapped[str] = mapped_column(String(32))
