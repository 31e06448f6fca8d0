"""Counting failed password checks in the database, per scope, shared by every worker.

A login or a current-password check names the scopes it counts in. From a device the account
has logged in from before (a signed device cookie vouches for it), only that device's own count
applies, so whoever hammers the account from elsewhere never delays its owner there. From any
other client three counts apply: the account from this client, this client over all accounts,
and the account from every client it never logged in from.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from courseware.domain import throttle as rules
from courseware.models import LoginThrottle
from courseware.services.sql import rows_updated


@dataclass(frozen=True)
class Scope:
    key: str  # the row's key: a SHA-256, whatever it counts
    free: int  # failures before the first delay
    kind: str  # for the audit log: account+client, client, account, device
    cleared_by_success: bool = True


@dataclass(frozen=True)
class ThrottleRules:
    free: int
    client_free: int
    account_free: int
    base: timedelta
    cap: timedelta
    memory: timedelta

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> ThrottleRules:
        return cls(free=int(config["LOGIN_FREE_FAILURES"]),
                   client_free=int(config["LOGIN_CLIENT_FREE_FAILURES"]),
                   account_free=int(config["LOGIN_ACCOUNT_FREE_FAILURES"]),
                   base=timedelta(seconds=float(config["LOGIN_DELAY_SECONDS"])),
                   cap=timedelta(minutes=float(config["LOGIN_DELAY_MAX_MINUTES"])),
                   memory=timedelta(hours=float(config["LOGIN_FAILURE_MEMORY_HOURS"])))

    def scopes(self, account: str, client: str | None, device: str | None) -> list[Scope]:
        """What one password check counts in. `account` is a hash of the address typed (known
        or not), `device` the id of a device cookie that vouches for this account, if any."""
        if device:
            return [Scope(_key("device", device, account), self.free, "device")]
        where = client or "unknown"
        return [Scope(_key("account+client", account, where), self.free, "account+client"),
                # one client's success must not wipe what it failed on other accounts
                Scope(_key("client", where), self.client_free, "client",
                      cleared_by_success=False),
                Scope(_key("account", account), self.account_free, "account")]


def _key(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def wait_seconds(session: Session, scopes: Sequence[Scope], now: datetime) -> int:
    """How long before a password may be checked in these scopes (0: now)."""
    rows = session.scalars(select(LoginThrottle).where(
        LoginThrottle.key.in_([s.key for s in scopes]), LoginThrottle.blocked_until > now))
    longest = max((row.blocked_until - now for row in rows if row.blocked_until),
                  default=timedelta(0))
    return -(-int(longest.total_seconds() * 1000) // 1000) if longest > timedelta(0) else 0


def fail(session: Session, scopes: Sequence[Scope], now: datetime,
         policy: ThrottleRules) -> list[str]:
    """Count one failure in every scope, atomically; the kinds of scope now delayed."""
    delayed = []
    for scope in scopes:
        failures = _count(session, scope.key, now, policy.memory)
        wait = rules.delay(failures, free=scope.free, base=policy.base, cap=policy.cap)
        if wait > timedelta(0):
            session.execute(update(LoginThrottle).where(LoginThrottle.key == scope.key)
                            .values(blocked_until=now + wait))
            delayed.append(scope.kind)
    session.expire_all()
    return delayed


def _count(session: Session, key: str, now: datetime, memory: timedelta) -> int:
    # a failure long after the last ones starts the count afresh
    session.execute(update(LoginThrottle).where(LoginThrottle.key == key,
                                                LoginThrottle.last_failure_at < now - memory)
                    .values(failures=0, blocked_until=None))
    changed = rows_updated(session, update(LoginThrottle).where(LoginThrottle.key == key)
                           .values(failures=LoginThrottle.failures + 1, last_failure_at=now))
    if changed == 0:
        try:
            with session.begin_nested():
                session.add(LoginThrottle(key=key, failures=1, last_failure_at=now))
        except IntegrityError:  # another worker inserted it first
            session.execute(update(LoginThrottle).where(LoginThrottle.key == key)
                            .values(failures=LoginThrottle.failures + 1, last_failure_at=now))
    failures = session.scalar(select(LoginThrottle.failures).where(LoginThrottle.key == key))
    return int(failures or 0)


def succeed(session: Session, scopes: Sequence[Scope]) -> None:
    """The right password: this account's counts start afresh (a client's count does not)."""
    keys = [s.key for s in scopes if s.cleared_by_success]
    if keys:
        session.execute(delete(LoginThrottle).where(LoginThrottle.key.in_(keys)))
