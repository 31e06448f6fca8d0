"""Registration, authentication with throttling, roles and deactivation."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from courseware.domain.clock import utcnow
from courseware.domain.statuses import Role
from courseware.models import LoginThrottle, User
from courseware.services import audit
from courseware.services.pages import Page, page_of
from courseware.services.sql import rows_updated

# OWASP Password Storage Cheat Sheet: argon2id, m=19 MiB, t=2, p=1.
OWASP_ARGON2: dict[str, Any] = {"time_cost": 2, "memory_cost": 19 * 1024, "parallelism": 1}
# Only for the test suite, where hundreds of hashes would otherwise dominate its run time.
FAST_ARGON2: dict[str, Any] = {"time_cost": 1, "memory_cost": 1024, "parallelism": 1}

EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
NAME_MAX, EMAIL_MAX, PASSWORD_MIN, PASSWORD_MAX = 120, 254, 12, 256


class AccountError(ValueError):
    """A request the account rules refuse; the message is safe to show."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


@lru_cache(maxsize=4)
def hasher(fast: bool = False) -> PasswordHasher:
    return PasswordHasher(**(FAST_ARGON2 if fast else OWASP_ARGON2))


@lru_cache(maxsize=4)
def _dummy_hash(fast: bool) -> str:
    return hasher(fast).hash("a password nobody has")


def normalize_email(email: str) -> str:
    return unicodedata.normalize("NFKC", email).strip().casefold()


def _has_control(text: str) -> bool:
    """Control, format or unassigned characters (NUL among them: PostgreSQL refuses it)."""
    return any(unicodedata.category(c).startswith("C") for c in text)


def clean_name(name: str) -> str:
    name = " ".join(unicodedata.normalize("NFC", name).split())
    if not name:
        raise AccountError("Enter your name.", "name")
    if len(name) > NAME_MAX:
        raise AccountError(f"Use at most {NAME_MAX} characters for your name.", "name")
    if _has_control(name):
        raise AccountError("Your name contains characters that cannot be shown.", "name")
    return name


def check_email(email: str) -> str:
    email = normalize_email(email)
    if not email:
        raise AccountError("Enter your email address.", "email")
    if len(email) > EMAIL_MAX or not EMAIL.match(email) or _has_control(email):
        raise AccountError("Enter an email address like name@example.org.", "email")
    return email


def check_password(password: str, field: str = "password") -> str:
    if len(password) < PASSWORD_MIN:
        raise AccountError(f"Use at least {PASSWORD_MIN} characters for your password.", field)
    if len(password) > PASSWORD_MAX:
        raise AccountError(f"Use at most {PASSWORD_MAX} characters for your password.", field)
    if "\x00" in password:
        raise AccountError("Your password contains a character that cannot be used.", field)
    return password


def find_by_email(session: Session, email: str) -> User | None:
    """The account with this address, whatever its case or surrounding spaces; the one lookup."""
    normalized = normalize_email(email)
    # no account has an address with control characters, and PostgreSQL refuses NUL in a query
    if _has_control(normalized) or len(normalized) > EMAIL_MAX:
        return None
    return session.scalar(select(User).where(User.email == normalized))


def search(session: Session, text: str, page: int) -> Page[User]:
    """Accounts whose email or name contains `text` (all when empty), newest first."""
    statement = select(User).order_by(User.created_at.desc(), User.id.desc())
    if text:
        like = f"%{text.replace('%', '').replace('_', '')}%"
        statement = statement.where(or_(User.email.ilike(like), User.name.ilike(like)))
    return page_of(session, statement, page)


def create_user(
    session: Session, *, email: str, name: str, password: str, role: str = Role.LEARNER,
    fast_hash: bool = False, confirmed: bool = True,
) -> User:
    """An account. One an operator or admin makes is `confirmed` (they vouch for the address);
    self-registration (services.account_email.register) makes it unconfirmed."""
    if role not in set(Role):
        raise AccountError(f"Role must be one of {', '.join(Role)}.", "role")
    moment = utcnow()
    user = User(
        email=check_email(email),
        name=clean_name(name),
        password_hash=hasher(fast_hash).hash(check_password(password)),
        role=Role(role),
        created_at=moment,
        email_confirmed_at=moment if confirmed else None,
    )
    try:
        with session.begin_nested():
            session.add(user)
            session.flush()
    except IntegrityError:
        # the same message whatever the reason, so the form does not confirm who has an account
        raise AccountError(
            "We could not create an account with these details. If you already have one, "
            "log in instead.", "email"
        ) from None
    return user


@dataclass(frozen=True)
class LoginResult:
    user: User | None
    locked_minutes: int = 0


def authenticate(
    session: Session, email: str, password: str, *, max_failures: int, lock_minutes: int,
    fast_hash: bool = False,
) -> LoginResult:
    """The user for these credentials, or none; unknown email and wrong password look alike.

    Both paths run one argon2 verification, so timing does not tell them apart, and both count
    toward the per-address lock-out.
    """
    normalized = normalize_email(email)[:EMAIL_MAX]
    key = hashlib.sha256(normalized.encode()).hexdigest()
    now = utcnow()
    throttle = session.get(LoginThrottle, key)
    if throttle and throttle.locked_until and throttle.locked_until > now:
        remaining = throttle.locked_until - now
        return LoginResult(None, locked_minutes=max(1, -(-int(remaining.total_seconds()) // 60)))
    user = find_by_email(session, normalized)
    ph = hasher(fast_hash)
    try:
        ph.verify(user.password_hash if user else _dummy_hash(fast_hash), password)
        ok = user is not None and user.active
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok:
        _count_failure(session, key, max_failures, timedelta(minutes=lock_minutes))
        return LoginResult(None)
    assert user is not None
    if throttle:
        session.delete(throttle)
    if ph.check_needs_rehash(user.password_hash):
        user.password_hash = ph.hash(password)
    session.flush()
    return LoginResult(user)


def _count_failure(session: Session, key: str, max_failures: int, lock: timedelta) -> None:
    """Count in the database with one atomic UPDATE so that every worker shares the counter."""
    now = utcnow()
    window_start = now - lock
    # a failure long after the last ones starts a new window
    session.execute(
        update(LoginThrottle)
        .where(LoginThrottle.key == key, LoginThrottle.window_started_at < window_start)
        .values(failures=0, window_started_at=now, locked_until=None)
    )
    changed = rows_updated(
        session,
        update(LoginThrottle).where(LoginThrottle.key == key)
        .values(failures=LoginThrottle.failures + 1),
    )
    if changed == 0:
        try:
            with session.begin_nested():
                session.add(LoginThrottle(key=key, failures=1, window_started_at=now))
        except IntegrityError:  # another worker inserted it first
            session.execute(
                update(LoginThrottle).where(LoginThrottle.key == key)
                .values(failures=LoginThrottle.failures + 1)
            )
    session.execute(
        update(LoginThrottle)
        .where(LoginThrottle.key == key, LoginThrottle.failures >= max_failures)
        .values(locked_until=now + lock)
    )
    session.expire_all()


def change_password(
    session: Session, user: User, current: str, new: str, *, fast_hash: bool = False
) -> None:
    ph = hasher(fast_hash)
    try:
        ph.verify(user.password_hash, current)
    except (VerificationError, InvalidHashError):
        raise AccountError("Your current password is not right.", "current_password") from None
    user.password_hash = ph.hash(check_password(new, "new_password"))
    user.session_version += 1  # every other session of this account ends
    session.flush()


def set_role(session: Session, admin: audit.Actor, user: User, role: str) -> None:
    if role not in set(Role):
        raise AccountError(f"Role must be one of {', '.join(Role)}.", "role")
    if admin is user and role != Role.ADMIN:
        raise AccountError("You cannot remove your own admin role.", "role")
    if user.role == role:
        return
    old, user.role = user.role, Role(role)
    user.session_version += 1
    audit.record(session, actor=admin, action="user.role", target_type="user", target_id=user.id,
                 target_label=user.email, details={"from": old, "to": role})


def set_active(session: Session, admin: audit.Actor, user: User, active: bool,
               reason: str) -> None:
    if admin is user:
        raise AccountError("You cannot deactivate your own account.", "active")
    if user.active == active:
        return
    user.active = active
    user.session_version += 1
    audit.record(session, actor=admin, action="user.activate" if active else "user.deactivate",
                 target_type="user", target_id=user.id, target_label=user.email,
                 reason=reason or None)
