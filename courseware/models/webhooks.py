"""Programs' webhook endpoints and every HTTP attempt made to them (issue #19).

What is delivered is an outbox message (channel `webhook`, recipient `webhook:<endpoint id>`,
subject key the event id): it holds the sealed body and the attempt count. Each HTTP attempt
is a row here, for the program's delivery log."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from courseware.domain.statuses import MessageKind, sql_in
from courseware.models.base import Base, EnumText
from courseware.models.programs import Program


class WebhookEndpoint(Base):
    __tablename__ = "webhook_endpoint"
    __table_args__ = (
        CheckConstraint("events <> ''", name="events"),
        # turned off by someone or by the three-day rule: when, and why, are known
        CheckConstraint("enabled OR disabled_at IS NOT NULL", name="disabled"),
        CheckConstraint("previous_secret IS NULL OR previous_secret_until IS NOT NULL",
                        name="previous_secret"),
        Index("ix_webhook_endpoint_program_id", "program_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id"))
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str | None] = mapped_column(String(200))
    # space-separated WebhookEvent values, in their canonical order
    events: Mapped[str] = mapped_column(String(240))
    # the `whsec_` signing secret, sealed under the key-encryption key; shown once
    secret: Mapped[str] = mapped_column(Text)
    # after a rotation the old secret signs too (a second signature) until previous_secret_until
    previous_secret: Mapped[str | None] = mapped_column(Text)
    previous_secret_until: Mapped[datetime | None]
    created_at: Mapped[datetime]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    enabled: Mapped[bool] = mapped_column(default=True)
    disabled_at: Mapped[datetime | None]
    disabled_reason: Mapped[str | None] = mapped_column(String(300))
    # the first failed attempt since the last delivery (None while deliveries succeed)
    failing_since: Mapped[datetime | None]
    last_attempt_at: Mapped[datetime | None]
    last_status: Mapped[int | None]
    # deleted by its program: kept (its log refers to it), never shown or sent to again
    deleted_at: Mapped[datetime | None]

    program: Mapped[Program] = relationship()


class WebhookAttempt(Base):
    """One HTTP request to an endpoint (or one refused before it was made)."""

    __tablename__ = "webhook_attempt"
    __table_args__ = (
        CheckConstraint(sql_in("kind", MessageKind), name="kind"),
        CheckConstraint("duration_ms >= 0", name="duration"),
        Index("ix_webhook_attempt_endpoint", "endpoint_id", "id"),
        Index("ix_webhook_attempt_message", "message_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("outbox_message.id"))
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoint.id"))
    kind: Mapped[MessageKind] = mapped_column(EnumText(MessageKind, 32))
    event_id: Mapped[str] = mapped_column(String(64))
    attempt: Mapped[int]  # the outbox message's attempt number
    attempted_at: Mapped[datetime]
    # the HTTP status, or None when no answer came (refused address, timeout, connection error)
    response_status: Mapped[int | None]
    duration_ms: Mapped[int]
    error: Mapped[str | None] = mapped_column(String(500))
    # at most 1 KB of the receiver's answer
    response_excerpt: Mapped[str | None] = mapped_column(Text)
