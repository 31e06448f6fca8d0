"""What credentials rest on: the issuer's signing keys and the status-list positions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from courseware.domain.clock import utcnow
from courseware.domain.statuses import SigningAlgorithm, StatusPurpose, sql_in
from courseware.models.base import Base, EnumText


class SigningKey(Base):
    """One signing key. The private key is sealed under the KEY_ENCRYPTION_KEY, never stored in
    plain text; the public JWK is kept beside it so publishing keys needs no unsealing. Rows are
    never deleted or changed: every credential ever signed keeps a key to verify it."""

    __tablename__ = "signing_key"
    __table_args__ = (
        CheckConstraint(sql_in("algorithm", SigningAlgorithm), name="algorithm"),
        # generation 1 is the first key: two processes creating it at once cannot both succeed
        CheckConstraint("generation >= 1", name="generation"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    generation: Mapped[int] = mapped_column(unique=True)
    thumbprint: Mapped[str] = mapped_column(String(64), unique=True)  # RFC 7638
    algorithm: Mapped[SigningAlgorithm] = mapped_column(EnumText(SigningAlgorithm, 8))
    public_jwk: Mapped[dict[str, Any]] = mapped_column(JSON)
    private_key_sealed: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class StatusEntry(Base):
    """A certificate's position in one public status list, and whether its bit is set.

    Positions are drawn at random and never reused (unique per list); the bit is set or cleared
    in the same transaction as the certificate's revocation, suspension or reinstatement."""

    __tablename__ = "status_entry"
    __table_args__ = (
        UniqueConstraint("purpose", "list_index"),
        UniqueConstraint("purpose", "certificate_id"),
        CheckConstraint(sql_in("purpose", StatusPurpose), name="purpose"),
        CheckConstraint("list_index >= 0", name="list_index"),
        Index("ix_status_entry_set", "purpose", "is_set"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    purpose: Mapped[StatusPurpose] = mapped_column(EnumText(StatusPurpose))
    list_index: Mapped[int]
    certificate_id: Mapped[int] = mapped_column(ForeignKey("certificate.id"))
    is_set: Mapped[bool] = mapped_column(default=False)
