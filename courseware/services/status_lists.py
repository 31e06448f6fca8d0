"""The public revocation and suspension lists (W3C Bitstring Status List), one per purpose.

Each certificate gets one random position at issue, the same in both lists and never reused;
its bit in a list is set while the certificate is revoked (for good) or suspended, and cleared
when a suspension is lifted, always in the transaction that changed the certificate. The lists
are built from those bits whenever they are asked for, so what is published is what the
database holds at that moment.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from courseware.domain import statuslist
from courseware.domain.statuses import StatusPurpose
from courseware.models import Certificate, StatusEntry

STATUS_PATH = "/status/"


def list_url(base_url: str, purpose: StatusPurpose) -> str:
    return f"{base_url}{STATUS_PATH}{purpose.value}"


def purpose_of(base_url: str, url: str) -> StatusPurpose | None:
    """Which of our lists a statusListCredential URL names, or None for anyone else's."""
    for purpose in StatusPurpose:
        if url == list_url(base_url, purpose):
            return purpose
    return None


def _entries(session: Session, certificate_id: int) -> dict[StatusPurpose, StatusEntry]:
    rows = session.scalars(select(StatusEntry).where(StatusEntry.certificate_id == certificate_id))
    return {row.purpose: row for row in rows}


def allocate(session: Session, cert: Certificate) -> int:
    """Give a certificate its random position in every list (once; later calls return it)."""
    held = _entries(session, cert.id)
    if held:
        return next(iter(held.values())).list_index
    for _ in range(64):  # at most half the positions are taken, so this ends at once
        taken = session.scalar(select(func.count()).select_from(StatusEntry).where(
            StatusEntry.purpose == StatusPurpose.REVOCATION)) or 0
        position = secrets.randbelow(statuslist.list_length(taken + 1))
        try:
            with session.begin_nested():
                session.add_all([StatusEntry(purpose=purpose, list_index=position,
                                             certificate_id=cert.id, is_set=False)
                                 for purpose in StatusPurpose])
        except IntegrityError:  # the position was taken (or the certificate got one meanwhile)
            held = _entries(session, cert.id)
            if held:
                return next(iter(held.values())).list_index
            continue
        return position
    raise RuntimeError("no free status-list position found")  # pragma: no cover - 2**-64


def record_state(session: Session, cert: Certificate) -> None:
    """Set or clear the certificate's bits to match it: revoked, suspended (or neither)."""
    allocate(session, cert)
    wanted = {StatusPurpose.REVOCATION: cert.revoked_at is not None,
              StatusPurpose.SUSPENSION: cert.suspended_at is not None}
    for purpose, row in _entries(session, cert.id).items():
        row.is_set = wanted[purpose]
    session.flush()


def position_of(session: Session, cert: Certificate) -> int | None:
    held = _entries(session, cert.id)
    return next(iter(held.values())).list_index if held else None


def certificate_at(session: Session, purpose: StatusPurpose, position: int) -> Certificate | None:
    """The certificate holding a position of a list (to explain a credential's status)."""
    return session.scalar(select(Certificate).join(
        StatusEntry, StatusEntry.certificate_id == Certificate.id).where(
        StatusEntry.purpose == purpose, StatusEntry.list_index == position))


def bit(session: Session, purpose: StatusPurpose, position: int) -> bool:
    return bool(session.scalar(select(StatusEntry.is_set).where(
        StatusEntry.purpose == purpose, StatusEntry.list_index == position)))


@dataclass(frozen=True)
class EncodedList:
    purpose: StatusPurpose
    length: int
    encoded: str
    set_count: int


def encoded_list(session: Session, purpose: StatusPurpose) -> EncodedList:
    """The list as published: every set bit of this purpose, compressed and encoded."""
    taken = session.scalar(select(func.count()).select_from(StatusEntry).where(
        StatusEntry.purpose == purpose)) or 0
    positions = list(session.scalars(select(StatusEntry.list_index).where(
        StatusEntry.purpose == purpose, StatusEntry.is_set.is_(True))))
    length = statuslist.list_length(taken)
    return EncodedList(purpose, length, statuslist.encode(positions, length), len(positions))
