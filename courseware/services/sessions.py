"""Server-side sessions: started at login, ended by logout, revoked in bulk on a password change,
deactivation or role change, timed out when idle and after an absolute lifetime."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple, Protocol

from sqlalchemy import bindparam, inspect, select, update
from sqlalchemy.orm import Session

from courseware.domain.devices import clean_user_agent, device_label
from courseware.domain.statuses import STAFF_ROLES, SecurityEvent
from courseware.infra.db import DirectRead, adopt
from courseware.models import User, UserSession
from courseware.services import audit
from courseware.services.sql import rows_updated

# last_seen_at is written at most this often: a request within it costs no write
TOUCH_EVERY = timedelta(minutes=1)


class SessionTimes(Protocol):
    """What the policy needs of a session: a UserSession row, or a LiveSession."""

    @property
    def created_at(self) -> datetime: ...
    @property
    def last_seen_at(self) -> datetime: ...
    @property
    def revoked_at(self) -> datetime | None: ...


class LiveSession(NamedTuple):
    """A session's row as every logged-in request reads it."""

    id: int
    created_at: datetime
    last_seen_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True)
class SessionPolicy:
    idle_staff: timedelta
    idle_learner: timedelta
    lifetime: timedelta

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> SessionPolicy:
        return cls(idle_staff=timedelta(minutes=int(config["SESSION_IDLE_MINUTES_STAFF"])),
                   idle_learner=timedelta(minutes=int(config["SESSION_IDLE_MINUTES_LEARNER"])),
                   lifetime=timedelta(hours=float(config["SESSION_MAX_HOURS"])))

    def idle(self, user: User) -> timedelta:
        return self.idle_staff if user.role in STAFF_ROLES else self.idle_learner

    def live(self, row: SessionTimes, user: User, now: datetime) -> bool:
        return (row.revoked_at is None and now - row.last_seen_at <= self.idle(user)
                and now - row.created_at <= self.lifetime)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(session: Session, user: User, *, user_agent: str | None, now: datetime) -> str:
    """A new session for `user`; returns the random id for the cookie (only its hash is kept)."""
    token = secrets.token_urlsafe(32)
    agent = clean_user_agent(user_agent)
    session.add(UserSession(token_hash=token_hash(token), user_id=user.id, created_at=now,
                            last_seen_at=now, user_agent=agent, device=device_label(agent)))
    session.flush()
    return token


# Every logged-in request reads its session and account: one indexed row, read directly (see
# DirectRead), the account then made part of the request's ORM session without a query.
_USER_COLUMNS = tuple((attr.key, attr.columns[0]) for attr in inspect(User).column_attrs)
_SESSION_COLUMNS = (UserSession.id, UserSession.created_at, UserSession.last_seen_at,
                    UserSession.revoked_at)


def _session_and_account(*values: Any) -> tuple[LiveSession, dict[str, Any]]:
    split = len(_SESSION_COLUMNS)
    return (LiveSession(*values[:split]),
            dict(zip((key for key, _column in _USER_COLUMNS), values[split:], strict=True)))


_BY_TOKEN = DirectRead(
    select(*_SESSION_COLUMNS, *(column for _key, column in _USER_COLUMNS))
    .join(User, User.id == UserSession.user_id)
    .where(UserSession.token_hash == bindparam("token_hash")),
    _session_and_account)


def resolve(session: Session, token: str, now: datetime,
            policy: SessionPolicy) -> tuple[LiveSession, User] | None:
    """The live session this cookie names and its active account (part of `session`), or
    None."""
    if not token or len(token) > 100:
        return None
    found = _BY_TOKEN.first(session, token_hash=token_hash(token))
    if found is None:
        return None
    row, account = found
    user = adopt(session, User, account)
    if not user.active or not policy.live(row, user, now):
        return None
    return row, user


def needs_touch(row: SessionTimes, now: datetime) -> bool:
    return now - row.last_seen_at >= TOUCH_EVERY


def touch(session: Session, session_id: int, now: datetime) -> None:
    session.execute(update(UserSession).where(UserSession.id == session_id,
                                              UserSession.revoked_at.is_(None))
                    .values(last_seen_at=now))


def end(session: Session, session_id: int, now: datetime) -> None:
    """Logout: this session stops working at once, wherever its cookie has been copied."""
    session.execute(update(UserSession).where(UserSession.id == session_id,
                                              UserSession.revoked_at.is_(None))
                    .values(revoked_at=now))


def active(session: Session, user: User, now: datetime,
           policy: SessionPolicy) -> Sequence[UserSession]:
    """The account's live sessions, most recently seen first."""
    rows = session.scalars(select(UserSession).where(UserSession.user_id == user.id,
                                                     UserSession.revoked_at.is_(None))
                           .order_by(UserSession.last_seen_at.desc(), UserSession.id.desc()))
    return [row for row in rows if policy.live(row, user, now)]


def revoke(session: Session, user: User, session_id: int, now: datetime) -> bool:
    """The owner signs out one of their sessions; False when it is not theirs or already over."""
    changed = rows_updated(session, update(UserSession).where(
        UserSession.id == session_id, UserSession.user_id == user.id,
        UserSession.revoked_at.is_(None)).values(revoked_at=now))
    if changed:
        audit.record(session, actor=user, action=SecurityEvent.SESSION_REVOKED,
                     target_type="user", target_id=user.id, target_label=user.email,
                     details={"session": session_id})
    return changed == 1


def revoke_all(session: Session, user: User, now: datetime, *,
               keep: int | None = None) -> int:
    """Every session of the account ends (but `keep`, when given); how many did."""
    stmt = update(UserSession).where(UserSession.user_id == user.id,
                                     UserSession.revoked_at.is_(None))
    if keep is not None:
        stmt = stmt.where(UserSession.id != keep)
    return rows_updated(session, stmt.values(revoked_at=now))


def revoke_others(session: Session, user: User, keep: int, now: datetime) -> int:
    """"Sign out everywhere else": every session but this one ends."""
    count = revoke_all(session, user, now, keep=keep)
    audit.record(session, actor=user, action=SecurityEvent.OTHER_SESSIONS_REVOKED,
                 target_type="user", target_id=user.id, target_label=user.email,
                 details={"sessions": count})
    return count
