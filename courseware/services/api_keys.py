"""Programs' API keys: made by staff (or the command line), shown once, found by their hash,
revoked for good. A key's last use is recorded at most once a minute, so a busy integration
does not write on every request.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from courseware.domain import apikeys
from courseware.domain.statuses import ApiScope, KeyCheck, ProgramStatus
from courseware.models import ApiKey, Program, User
from courseware.services import audit
from courseware.services.sql import rows_updated

MAX_DAYS = 3 * 366  # an expiry at most about three years ahead


class ApiKeyError(ValueError):
    """A key cannot be made from this input; `field` names the form field it concerns."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def create(session: Session, program: Program, *, name: str, scopes: Iterable[str],
           expires_at: datetime | None, actor: User | audit.CommandLine,
           now: datetime) -> tuple[ApiKey, str]:
    """A new key for the program: the row, and the key itself (to show once; never stored)."""
    if program.status is not ProgramStatus.ACTIVE:
        raise ApiKeyError("Only an active program has API keys.")
    try:
        label = apikeys.clean_name(name)
    except ValueError as exc:
        raise ApiKeyError(str(exc), "name") from None
    try:
        chosen = apikeys.parse_scopes(scopes)
    except apikeys.BadScopes as exc:
        raise ApiKeyError(str(exc), "scopes") from None
    if expires_at is not None and not now < expires_at <= now + timedelta(days=MAX_DAYS):
        raise ApiKeyError("Choose an expiry date after today and within three years.",
                        "expires_on")
    made = apikeys.new_key()
    key = ApiKey(program_id=program.id, name=label, prefix=made.prefix, key_hash=made.digest,
                 scopes=apikeys.format_scopes(chosen), created_at=now,
                 created_by_id=audit.actor_id(actor), expires_at=expires_at)
    session.add(key)
    session.flush()  # generate key.id
    audit.record(session, actor=actor, action="api_key.create", target_type="api_key",
                 target_id=key.id, target_label=f"{key.prefix} ({key.name})",
                 details={"program_id": program.id, "scopes": key.scopes,
                          "expires_at": expires_at.isoformat() if expires_at else None})
    return key, made.plaintext


@dataclass(frozen=True)
class Authenticated:
    """The outcome of presenting a key: `key` and `program` only when valid."""

    check: KeyCheck
    key: ApiKey | None = None
    program: Program | None = None

    def allows(self, scope: ApiScope) -> bool:
        return self.key is not None and scope in apikeys.stored_scopes(self.key.scopes)


def authenticate(session: Session, presented: str, now: datetime) -> Authenticated:
    """Which key this is, and whether it acts now (one indexed lookup; nothing for a string
    that cannot be a key). A key of a program that is no longer active does not act."""
    if not apikeys.well_formed(presented):
        return Authenticated(KeyCheck.UNKNOWN)
    row = session.execute(select(ApiKey, Program).join(Program, Program.id == ApiKey.program_id)
                          .where(ApiKey.key_hash == apikeys.key_hash(presented))).first()
    if row is None:
        return Authenticated(KeyCheck.UNKNOWN)
    key, program = row
    result = apikeys.check(now=now, expires_at=key.expires_at, revoked_at=key.revoked_at)
    if result is KeyCheck.VALID and program.status is not ProgramStatus.ACTIVE:
        result = KeyCheck.REVOKED
    if result is not KeyCheck.VALID:
        return Authenticated(result)
    return Authenticated(result, key, program)


def touch(session: Session, key: ApiKey, now: datetime) -> bool:
    """Record the key's use, unless it was recorded within the minute (a guarded UPDATE, so
    concurrent requests write once). True when this call wrote."""
    if not apikeys.touch_due(key.last_used_at, now):
        return False
    due = now - apikeys.TOUCH_EVERY
    changed = rows_updated(session, update(ApiKey).where(
        ApiKey.id == key.id, or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at <= due))
        .values(last_used_at=now).execution_options(synchronize_session=False))
    return changed == 1


def of_program(session: Session, program_id: int) -> Sequence[ApiKey]:
    """The program's keys, newest first (revoked ones too: staff see what stopped working)."""
    return session.scalars(select(ApiKey).where(ApiKey.program_id == program_id)
                           .order_by(ApiKey.created_at.desc(), ApiKey.id.desc())).all()


def find(session: Session, program_id: int, key_id: int) -> ApiKey | None:
    """One of this program's keys, or None (another program's key is not found)."""
    return session.scalar(select(ApiKey).where(ApiKey.id == key_id,
                                               ApiKey.program_id == program_id))


def revoke(session: Session, key: ApiKey, *, actor: User | audit.CommandLine,
           now: datetime) -> bool:
    """Revoke for good; False when it was revoked already."""
    changed = rows_updated(session, update(ApiKey).where(
        ApiKey.id == key.id, ApiKey.revoked_at.is_(None))
        .values(revoked_at=now, revoked_by_id=audit.actor_id(actor))
        .execution_options(synchronize_session=False))
    if changed != 1:
        return False
    session.refresh(key)
    audit.record(session, actor=actor, action="api_key.revoke", target_type="api_key",
                 target_id=key.id, target_label=f"{key.prefix} ({key.name})",
                 details={"program_id": key.program_id})
    return True
