"""The outbox: every message that leaves the system, recorded with the change that causes it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from courseware.domain.statuses import Channel, DeliveryStatus, MessageKind, sql_in
from courseware.models.base import Base, EnumText


class OutboxMessage(Base):
    """One message to one recipient, written in the transaction of its cause and delivered by a
    job. The body is never stored: `payload` holds what the message needs to render (which may
    be a reset link), sealed under the key-encryption key."""

    __tablename__ = "outbox_message"
    __table_args__ = (
        # at most one message per recipient, kind and subject, whatever retries or races do
        UniqueConstraint("recipient", "kind", "subject_key"),
        CheckConstraint(sql_in("channel", Channel), name="channel"),
        CheckConstraint(sql_in("kind", MessageKind), name="kind"),
        CheckConstraint(sql_in("status", DeliveryStatus), name="status"),
        CheckConstraint("attempts >= 0", name="attempts"),
        CheckConstraint(f"(status = '{DeliveryStatus.SENT}') = (sent_at IS NOT NULL)",
                        name="sent_at"),
        CheckConstraint(f"status <> '{DeliveryStatus.SENDING}' OR lease_until IS NOT NULL",
                        name="lease"),
        # the sweep's question: what is pending (or sending) and overdue?
        Index("ix_outbox_message_due", "status", "next_attempt_at"),
        Index("ix_outbox_message_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[Channel] = mapped_column(EnumText(Channel))
    kind: Mapped[MessageKind] = mapped_column(EnumText(MessageKind, 32))
    # an email address (mail); an endpoint, for webhooks
    recipient: Mapped[str] = mapped_column(String(254))
    # what the message is about, e.g. "certificate:<code>"
    subject_key: Mapped[str] = mapped_column(String(160))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    payload: Mapped[str] = mapped_column(Text)
    status: Mapped[DeliveryStatus] = mapped_column(EnumText(DeliveryStatus),
                                                   default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    next_attempt_at: Mapped[datetime]
    lease_until: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
