"""The outbox: a message is recorded in the transaction of its cause, then delivered by a job.

`add` writes the row (at most one per recipient, kind and subject key: a database constraint)
and notes it for "after commit": whoever commits the session (a request, a command, a job)
has the new rows queued for delivery by `courseware.tasks`. If that never happens (a crash
between commit and queue, a lost job), the periodic sweep finds the row overdue and queues it
again. A delivery job first *claims* its row (a guarded UPDATE from pending to sending with a
lease), so two jobs never send one message; a lease that runs out (a worker killed mid-send)
makes the row claimable again.

The payload is what the message needs to render, sealed under the key-encryption key (a reset
link is a password for an hour). Whoever makes the sessions puts a sealer in `session.info`
(`SEALER_INFO`; the app's `Database` does, see courseware.web.db), so a service that records
a message needs no extra argument and this layer never sees the key itself.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from courseware.domain.statuses import Channel, DeliveryStatus, MessageKind
from courseware.infra import metrics
from courseware.models import OutboxMessage
from courseware.services.pages import Page, page_of
from courseware.services.sql import rows_updated

SEALER_INFO = "courseware.sealer"  # session.info key: seals payloads under the KEK
AFTER_COMMIT = "courseware.after_commit"  # session.info key: [(job, id)] to queue after commit

# jobs that can be asked for after commit (courseware.tasks runs them)
DELIVER = "deliver"
RENDER_PDF = "render_pdf"


class OutboxError(RuntimeError):
    """The outbox cannot work with this session (it has no sealer)."""


class Sealer(Protocol):
    """Encrypts and authenticates payloads (courseware.infra.kek.Sealer)."""

    def seal(self, secret: bytes) -> str: ...

    def unseal(self, token: str) -> bytes: ...


# --- after commit -----------------------------------------------------------------------------

def after_commit(session: Session, job: str, ident: int) -> None:
    """Ask for `job(ident)` once this session's transaction commits (never if it rolls back)."""
    session.info.setdefault(AFTER_COMMIT, []).append((job, ident))


def take_after_commit(session: Session) -> list[tuple[str, int]]:
    """What the committed transaction asked for, once (the list is emptied)."""
    queued: list[tuple[str, int]] = session.info.pop(AFTER_COMMIT, [])
    return list(dict.fromkeys(queued))


def forget_after_commit(session: Session) -> None:
    """The transaction rolled back: nothing it recorded exists."""
    session.info.pop(AFTER_COMMIT, None)


# --- recording ------------------------------------------------------------------------------

def _sealer(session: Session) -> Sealer:
    sealer: Sealer | None = session.info.get(SEALER_INFO)
    if sealer is None:
        raise OutboxError("this session has no sealer: make it from the app's Database")
    return sealer


def add(session: Session, *, kind: MessageKind, recipient: str, subject_key: str,
        payload: dict[str, Any], now: datetime, user_id: int | None = None,
        channel: Channel = Channel.MAIL) -> OutboxMessage | None:
    """Record a message; None when this (recipient, kind, subject) was recorded before."""
    exists = select(OutboxMessage.id).where(OutboxMessage.recipient == recipient,
                                            OutboxMessage.kind == kind,
                                            OutboxMessage.subject_key == subject_key)
    if session.scalar(exists) is not None:
        return None
    message = OutboxMessage(
        channel=channel, kind=kind, recipient=recipient, subject_key=subject_key[:160],
        user_id=user_id, payload=_sealer(session).seal(json.dumps(payload).encode()),
        status=DeliveryStatus.PENDING, attempts=0, created_at=now, next_attempt_at=now,
    )
    try:
        with session.begin_nested():
            session.add(message)
    except IntegrityError:  # recorded by a concurrent transaction a moment ago
        return None
    after_commit(session, DELIVER, message.id)
    return message


def add_many(session: Session, *, kind: MessageKind, recipients: list[str], subject_key: str,
             payload: dict[str, Any], now: datetime, channel: Channel = Channel.MAIL
             ) -> list[int]:
    """One message to each recipient, with one payload (a webhook event fanned out to every
    endpoint that wants it): two statements whatever the number of recipients. The ids of
    the rows recorded now; recipients that had this (kind, subject) already are skipped."""
    if not recipients:
        return []
    known = set(session.scalars(select(OutboxMessage.recipient).where(
        OutboxMessage.recipient.in_(recipients), OutboxMessage.kind == kind,
        OutboxMessage.subject_key == subject_key[:160])))
    fresh = [r for r in dict.fromkeys(recipients) if r not in known]
    if not fresh:
        return []
    sealed = _sealer(session).seal(json.dumps(payload).encode())
    rows = [{"channel": channel, "kind": kind, "recipient": recipient,
             "subject_key": subject_key[:160], "user_id": None, "payload": sealed,
             "status": DeliveryStatus.PENDING, "attempts": 0, "created_at": now,
             "next_attempt_at": now} for recipient in fresh]
    try:
        with session.begin_nested():
            ids = list(session.scalars(insert(OutboxMessage).returning(OutboxMessage.id), rows))
    except IntegrityError:  # a concurrent transaction recorded some of them: one at a time
        made = [add(session, kind=kind, recipient=r, subject_key=subject_key, payload=payload,
                    now=now, channel=channel) for r in fresh]
        return [m.id for m in made if m is not None]
    for ident in ids:
        after_commit(session, DELIVER, ident)
    return ids


def requeue(session: Session, message_id: int, now: datetime) -> bool:
    """Deliver a sent or failed message again, as it was (same id, same subject): pending now,
    queued after commit. False while it is still pending or being sent."""
    changed = rows_updated(
        session,
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id,
               OutboxMessage.status.in_((DeliveryStatus.SENT, DeliveryStatus.FAILED)))
        .values(status=DeliveryStatus.PENDING, sent_at=None, lease_until=None,
                next_attempt_at=now)
        .execution_options(synchronize_session=False))
    if changed == 1:
        after_commit(session, DELIVER, message_id)
    return changed == 1


# --- delivering -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Claimed:
    """A message this job holds until `lease_until`, with its payload unsealed."""

    id: int
    channel: Channel
    kind: MessageKind
    recipient: str
    subject_key: str
    user_id: int | None
    payload: dict[str, Any]
    attempts: int
    created_at: datetime
    lease_until: datetime


def claim(session: Session, message_id: int, now: datetime, lease: timedelta
          ) -> Claimed | None:
    """Take the message for one delivery attempt, or None: already sent or failed, or held by
    another job whose lease has not run out. Commit before sending."""
    until = now + lease
    changed = rows_updated(
        session,
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id,
               or_(OutboxMessage.status == DeliveryStatus.PENDING,
                   and_(OutboxMessage.status == DeliveryStatus.SENDING,
                        OutboxMessage.lease_until < now)))
        .values(status=DeliveryStatus.SENDING, lease_until=until,
                attempts=OutboxMessage.attempts + 1)
        .execution_options(synchronize_session=False),
    )
    if changed != 1:
        return None
    row = session.get(OutboxMessage, message_id, populate_existing=True)
    assert row is not None
    payload = json.loads(_sealer(session).unseal(row.payload))
    return Claimed(row.id, row.channel, row.kind, row.recipient, row.subject_key, row.user_id,
                   payload, row.attempts, row.created_at, until)


def _settle(session: Session, claimed: Claimed, **values: Any) -> bool:
    """Record the outcome of a claimed attempt, if the claim still holds."""
    return rows_updated(
        session,
        update(OutboxMessage)
        .where(OutboxMessage.id == claimed.id, OutboxMessage.status == DeliveryStatus.SENDING,
               OutboxMessage.lease_until == claimed.lease_until)
        .values(lease_until=None, **values)
        .execution_options(synchronize_session=False),
    ) == 1


def mark_sent(session: Session, claimed: Claimed, now: datetime) -> bool:
    """A delivered attempt (counted in /metrics by channel once committed, even when the claim
    had lapsed meanwhile: the message did leave)."""
    _count(session, claimed, "sent")
    return _settle(session, claimed, status=DeliveryStatus.SENT, sent_at=now)


def mark_failed(session: Session, claimed: Claimed, error: str, *,
                retry_at: datetime | None) -> bool:
    """A failed attempt: pending again until `retry_at`, or failed for good (None)."""
    if retry_at is None:
        _count(session, claimed, "failed")
        return _settle(session, claimed, status=DeliveryStatus.FAILED, last_error=error[:2000])
    _count(session, claimed, "retrying")
    return _settle(session, claimed, status=DeliveryStatus.PENDING, last_error=error[:2000],
                   next_attempt_at=retry_at)


def _count(session: Session, claimed: Claimed, result: str) -> None:
    """Every channel's outcomes in one counter, decided here and nowhere channel-specific."""
    metrics.count_on_commit(session, metrics.DELIVERIES, channel=str(claimed.channel),
                            result=result)


def overdue(session: Session, now: datetime, grace: timedelta, limit: int = 500) -> list[int]:
    """Messages a job should have delivered by now: pending and due more than `grace` ago (never
    queued, or their job was lost), or sending past their lease (their worker died)."""
    return list(session.scalars(
        select(OutboxMessage.id)
        .where(or_(and_(OutboxMessage.status == DeliveryStatus.PENDING,
                        OutboxMessage.next_attempt_at <= now - grace),
                   and_(OutboxMessage.status == DeliveryStatus.SENDING,
                        OutboxMessage.lease_until < now)))
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(limit)))


# --- the delivery log -------------------------------------------------------------------------

def search(session: Session, page: int, *, status: DeliveryStatus | None = None,
           kind: MessageKind | None = None, recipient: str = "") -> Page[OutboxMessage]:
    """The delivery log, newest first (no payload is read: it stays sealed)."""
    statement = select(OutboxMessage).order_by(OutboxMessage.created_at.desc(),
                                               OutboxMessage.id.desc())
    if status is not None:
        statement = statement.where(OutboxMessage.status == status)
    if kind is not None:
        statement = statement.where(OutboxMessage.kind == kind)
    if recipient:
        like = f"%{recipient.replace('%', '').replace('_', '')}%"
        statement = statement.where(OutboxMessage.recipient.ilike(like))
    return page_of(session, statement, page)


def status_counts(session: Session) -> dict[DeliveryStatus, int]:
    counts = dict.fromkeys(DeliveryStatus, 0)
    for status, count in session.execute(select(OutboxMessage.status, func.count())
                                         .group_by(OutboxMessage.status)):
        counts[status] = count
    return counts

