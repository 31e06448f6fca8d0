"""Rules of outbound delivery: retry backoff, when to give up, stable message ids."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta


def retry_delay(attempts: int, base_seconds: float, cap_seconds: float) -> float:
    """Seconds to wait after the `attempts`-th failed attempt: base, 2x, 4x ... up to cap."""
    if attempts < 1:
        raise ValueError("attempts counts from 1")
    return min(cap_seconds, base_seconds * (1 << min(attempts - 1, 32)))


def gives_up(created_at: datetime, now: datetime, give_up_after: timedelta) -> bool:
    """A message still failing this long after it was recorded is marked failed, not retried."""
    return now - created_at >= give_up_after


def message_id(row_id: int, recipient: str, kind: str, subject_key: str, domain: str) -> str:
    """The RFC 5322 Message-ID of an outbox message: the same on every attempt, so a receiver
    (or a test) recognises a second copy of one message as the same message."""
    digest = hashlib.sha256(f"{recipient}\n{kind}\n{subject_key}".encode()).hexdigest()[:16]
    return f"<courseware.{row_id}.{digest}@{domain}>"
