"""Registration, authentication with throttling, roles and deactivation."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError
from sqlalchemy.orm import Session

from courseware.domain import passwords
from courseware.domain.clock import utcnow
from courseware.domain.statuses import Role, SecurityEvent
from courseware.domain.throttle import wait_text
from courseware.models import User
from courseware.services import audit, sessions, throttle
from courseware.services.pages import Page, page_of
from courseware.services.throttle import ThrottleRules

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


def check_password(password: str, field: str = "password", *, user: User | None = None,
                   email: str = "", name: str = "") -> str:
    if len(password) < PASSWORD_MIN:
        raise AccountError(f"Use at least {PASSWORD_MIN} characters for your password.", field)
    if len(password) > PASSWORD_MAX:
        raise AccountError(f"Use at most {PASSWORD_MAX} characters for your password.", field)
    if "\x00" in password:
        raise AccountError("Your password contains a character that cannot be used.", field)
    personal = [user.email, user.name] if user is not None else [email, name]
    why = passwords.problem(password, personal)
    if why is not None:
        raise AccountError(why, field)
    return password


def find_by_email(session: Session, email: str) -> User | None:
    """The account with this address, whatever its case or surrounding spaces; the one lookup."""
    normalized = normalize_email(email)
    # no account has an address with control characters, and PostgreSQL refuses NUL in a query
    if _has_control(normalized) or len(normalized) > EMAIL_MAX:
        return None
    return session.scalar(select(User).where(User.email == normalized))


def get(session: Session, user_id: object) -> User | None:
    """The account with this id, or None for anything that is not one."""
    if not isinstance(user_id, int) or isinstance(user_id, bool) or user_id < 1:
        return None
    return session.get(User, user_id)


def search(session: Session, text: str, page: int) -> Page[User]:
    """Accounts whose email or name contains `text` (all when empty), newest first."""
    statement = select(User).order_by(User.created_at.desc(), User.id.desc())
    if text:
        like = f"%{text.replace('%', '').replace('_', '')}%"
        statement = statement.where(or_(User.email.ilike(like), User.name.ilike(like)))
    return page_of(session, statement, page)


def create_user(
    session: Session, *, email: str, name: str, password: str, role: str = Role.LEARNER,
    fast_hash: bool = False, confirmed: bool = True, program_id: int | None = None,
) -> User:
    """An account. One an operator or admin makes is `confirmed` (they vouch for the address);
    self-registration (services.account_email.register) makes it unconfirmed."""
    if role not in set(Role):
        raise AccountError(f"Role must be one of {', '.join(Role)}.", "role")
    moment = utcnow()
    user = User(
        email=check_email(email),
        name=clean_name(name),
        password_hash=hasher(fast_hash).hash(check_password(password, email=email, name=name)),
        role=Role(role),
        created_at=moment,
        email_confirmed_at=moment if confirmed else None,
        program_id=program_id,
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


def account_key(email: str) -> str:
    """What the throttle and the device cookie know an account by: a hash of the address typed,
    the same whether or not an account has it."""
    return hashlib.sha256(normalize_email(email)[:EMAIL_MAX].encode()).hexdigest()


def set_demo_account(session: Session, *, email: str, name: str, role: Role | str,
                     password: str, fast_hash: bool = False) -> User:
    """Create a demo account, or give the existing one this new password (and end its sessions:
    the last run's printed password is no longer a way in)."""
    user = find_by_email(session, email)
    if user is None:
        user = create_user(session, email=email, name=name, password=password, role=role,
                           fast_hash=fast_hash)
    else:
        user.password_hash = hasher(fast_hash).hash(check_password(password, user=user))
        sessions.revoke_all(session, user, utcnow())
    user.demo = True
    session.flush()
    return user


def demo_accounts_exist(session: Session) -> bool:
    try:
        return session.scalar(select(User.id).where(User.demo.is_(True), User.active.is_(True))
                              .limit(1)) is not None
    except (OperationalError, ProgrammingError):  # not migrated yet: no accounts at all
        return False


@dataclass(frozen=True)
class LoginResult:
    user: User | None
    wait_seconds: int = 0  # > 0: refused unchecked, too many failures; try again after this


def authenticate(
    session: Session, email: str, password: str, *, client: str | None, device: str | None,
    rules: ThrottleRules, now: datetime, fast_hash: bool = False,
) -> LoginResult:
    """The user for these credentials, or none; unknown email and wrong password look alike.

    Both paths run one argon2 verification, so timing does not tell them apart, and both count
    toward the same throttles (see services.throttle). A client waiting out a delay is refused
    before any password is checked. Failures and delays are audited as security events."""
    normalized = normalize_email(email)[:EMAIL_MAX]
    scopes = rules.scopes(account_key(normalized), client, device)
    wait = throttle.wait_seconds(session, scopes, now)
    if wait:
        return LoginResult(None, wait_seconds=wait)
    user = find_by_email(session, normalized)
    ph = hasher(fast_hash)
    try:
        ph.verify(user.password_hash if user else _dummy_hash(fast_hash), password)
        ok = user is not None and user.active
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok:
        delayed = throttle.fail(session, scopes, now, rules)
        target = _login_target(user, normalized)
        audit.record(session, actor=audit.VISITOR, action=SecurityEvent.LOGIN_FAILED, **target,
                     details={"known_device": device is not None})
        if delayed:
            audit.record(session, actor=audit.VISITOR, action=SecurityEvent.LOGIN_THROTTLED,
                         **target, details={"scopes": delayed})
        return LoginResult(None)
    assert user is not None
    throttle.succeed(session, scopes)
    if ph.check_needs_rehash(user.password_hash):
        user.password_hash = ph.hash(password)
    if not user.must_change_password and passwords.problem(password, [user.email, user.name]):
        # chosen before these checks, or since found in a breach: changed before anything else
        user.must_change_password = True
    session.flush()
    return LoginResult(user)


def _login_target(user: User | None, typed: str) -> dict[str, Any]:
    if user is not None:
        return {"target_type": "user", "target_id": user.id, "target_label": user.email}
    # an unknown address is kept only when it looks like one (a password typed into the email
    # field must not land in the log)
    shown = typed if EMAIL.match(typed) and not _has_control(typed) else None
    return {"target_type": "login", "target_label": shown}


def logged_in(session: Session, user: User, *, method: str) -> None:
    """Audit a completed login (after any second factor)."""
    audit.record(session, actor=user, action=SecurityEvent.LOGIN, target_type="user",
                 target_id=user.id, target_label=user.email, details={"method": method})


class WrongPassword(AccountError):
    """The current password was wrong (or not checked, while delayed): the failure is counted,
    so the caller commits rather than rolling back."""


def change_password(
    session: Session, user: User, current: str, new: str, *, client: str | None,
    device: str | None, rules: ThrottleRules, now: datetime, fast_hash: bool = False,
) -> None:
    """Check the current password (throttled like a login), set the new one, and end every
    session of the account (the caller starts a fresh one for the person who changed it)."""
    scopes = rules.scopes(account_key(user.email), client, device)
    wait = throttle.wait_seconds(session, scopes, now)
    if wait:
        raise WrongPassword(f"Too many wrong passwords. Try again in {wait_text(wait)}.",
                            "current_password")
    ph = hasher(fast_hash)
    try:
        ph.verify(user.password_hash, current)
    except (VerificationError, InvalidHashError):
        delayed = throttle.fail(session, scopes, now, rules)
        audit.record(session, actor=user, action=SecurityEvent.PASSWORD_CHECK_FAILED,
                     target_type="user", target_id=user.id, target_label=user.email,
                     details={"delayed": delayed} if delayed else None)
        raise WrongPassword("Your current password is not right.", "current_password") from None
    if new == current:
        raise AccountError("Choose a new password, different from the current one.",
                           "new_password")
    user.password_hash = ph.hash(check_password(new, "new_password", user=user))
    user.must_change_password = False
    throttle.succeed(session, scopes)
    ended = sessions.revoke_all(session, user, now)
    audit.record(session, actor=user, action=SecurityEvent.PASSWORD_CHANGED, target_type="user",
                 target_id=user.id, target_label=user.email, details={"sessions_ended": ended})
    session.flush()


def set_role(session: Session, admin: audit.Actor, user: User, role: str, *,
             now: datetime | None = None) -> None:
    if role not in set(Role):
        raise AccountError(f"Role must be one of {', '.join(Role)}.", "role")
    if admin is user and role != Role.ADMIN:
        raise AccountError("You cannot remove your own admin role.", "role")
    if Role.PROGRAM in (user.role, role):
        # a program login acts for its organisation: it is made (and ended) on the programs page
        raise AccountError("A program's staff login keeps its role: it belongs to its program. "
                           "Deactivate it instead, or give the person another account.", "role")
    if user.role == role:
        return
    old, user.role = user.role, Role(role)
    # what the account may do changed: its sessions end, and it logs in again
    sessions.revoke_all(session, user, now or utcnow())
    audit.record(session, actor=admin, action="user.role", target_type="user", target_id=user.id,
                 target_label=user.email, details={"from": old, "to": role})


def set_active(session: Session, admin: audit.Actor, user: User, active: bool,
               reason: str, *, now: datetime | None = None) -> None:
    if admin is user:
        raise AccountError("You cannot deactivate your own account.", "active")
    if user.active == active:
        return
    user.active = active
    if not active:
        sessions.revoke_all(session, user, now or utcnow())
    audit.record(session, actor=admin, action="user.activate" if active else "user.deactivate",
                 target_type="user", target_id=user.id, target_label=user.email,
                 reason=reason or None)
