"""Second factors: an authenticator app (TOTP), passkeys (WebAuthn), and recovery codes.

Secrets at rest: a TOTP secret is sealed under KEY_ENCRYPTION_KEY (courseware.infra.kek), a
recovery code is kept as its SHA-256 (it has 80 random bits: a hash suffices), a passkey is a
public key. A TOTP code is accepted once (its time step is recorded), a recovery code once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

import pyotp
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import bytes_to_base64url
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from courseware.domain.statuses import STAFF_ROLES, SecurityEvent
from courseware.models import Passkey, RecoveryCode, TotpSecret, User
from courseware.services import audit, sessions
from courseware.services.sql import rows_updated

RECOVERY_CODES = 10
TOTP_WINDOW = 1  # a code from the step before or after is accepted: clocks drift
PASSKEY_NAME_MAX = 80


class Sealer(Protocol):
    """Encrypts secrets at rest (courseware.infra.kek.Sealer, under KEY_ENCRYPTION_KEY)."""

    def seal(self, secret: bytes) -> str: ...

    def unseal(self, token: str) -> bytes: ...


class SecondFactorError(ValueError):
    """A refused enrolment or check; the message is safe to show."""


@dataclass(frozen=True)
class RelyingParty:
    """Who passkeys are for: this site, by the host and origin of BASE_URL."""

    rp_id: str
    name: str
    origin: str

    @classmethod
    def of(cls, base_url: str, name: str) -> RelyingParty:
        parts = urlsplit(base_url)
        return cls(rp_id=parts.hostname or "localhost", name=name,
                   origin=f"{parts.scheme}://{parts.netloc}")


@dataclass(frozen=True)
class Enrolment:
    totp: bool
    passkeys: Sequence[Passkey]
    recovery_left: int

    @property
    def any(self) -> bool:
        return self.totp or bool(self.passkeys)


def enrolment(session: Session, user: User) -> Enrolment:
    totp = session.get(TotpSecret, user.id) is not None
    passkeys = session.scalars(select(Passkey).where(Passkey.user_id == user.id)
                               .order_by(Passkey.id)).all()
    left = session.scalar(select(func.count()).select_from(RecoveryCode).where(
        RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))) or 0
    return Enrolment(totp, passkeys, int(left))


def has_any(session: Session, user: User) -> bool:
    return (session.scalar(select(TotpSecret.user_id).where(TotpSecret.user_id == user.id))
            is not None
            or session.scalar(select(Passkey.id).where(Passkey.user_id == user.id).limit(1))
            is not None)


def must_enrol(session: Session, user: User, *, required_for_staff: bool) -> bool:
    return required_for_staff and user.role in STAFF_ROLES and not has_any(session, user)


def _enrolled(session: Session, user: User, kind: str, now: datetime) -> list[str] | None:
    """After a factor is added: audit it, and make recovery codes if the account has none."""
    audit.record(session, actor=user, action=SecurityEvent.SECOND_FACTOR_ENROLLED,
                 target_type="user", target_id=user.id, target_label=user.email,
                 details={"kind": kind})
    if kind == "passkey" or enrolment(session, user).recovery_left:
        # a passkey is added from script: its codes are made on a page of their own
        return None
    return _make_recovery_codes(session, user)


# --- authenticator apps (TOTP) ------------------------------------------------------------------

def new_totp_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, user: User, issuer: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=issuer)


def _clean_code(code: str) -> str:
    return "".join(c for c in code if c.isdigit())[:12]


def _matching_step(secret: str, code: str, now: datetime) -> int | None:
    totp = pyotp.TOTP(secret)
    code = _clean_code(code)
    if len(code) != totp.digits:
        return None
    current = totp.timecode(now)
    for step in range(current - TOTP_WINDOW, current + TOTP_WINDOW + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def enrol_totp(session: Session, user: User, secret: str, code: str, *, sealer: Sealer,
               now: datetime) -> list[str] | None:
    """Store the app's secret once it has proved it reads it; new recovery codes, if made."""
    if session.get(TotpSecret, user.id) is not None:
        raise SecondFactorError("An authenticator app is already set up. Remove it first to "
                                "set up another.")
    step = _matching_step(secret, code, now)
    if step is None:
        raise SecondFactorError("That code does not match. Check the time on your phone, then "
                                "type the 6-digit code the app shows now.")
    session.add(TotpSecret(user_id=user.id, sealed_secret=sealer.seal(secret.encode()),
                           last_step=step, created_at=now))
    session.flush()
    return _enrolled(session, user, "totp", now)


def verify_totp(session: Session, user: User, code: str, *, sealer: Sealer,
                now: datetime) -> bool:
    """True for a current code not used before; the step is recorded so it is never reused."""
    stored = session.get(TotpSecret, user.id)
    if stored is None:
        return False
    step = _matching_step(sealer.unseal(stored.sealed_secret).decode(), code, now)
    if step is None:
        return False
    # one atomic step forward: the same code sent twice at once is accepted once
    return rows_updated(session, update(TotpSecret).where(
        TotpSecret.user_id == user.id, TotpSecret.last_step < step).values(last_step=step)) == 1


# --- recovery codes -------------------------------------------------------------------------------

def _code_hash(code: str) -> str:
    normal = "".join(c for c in code.lower() if c.isalnum())
    return hashlib.sha256(normal.encode()).hexdigest()


def _make_recovery_codes(session: Session, user: User) -> list[str]:
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = base64.b32encode(secrets.token_bytes(10)).decode().lower()  # 80 bits
        code = "-".join(raw[i:i + 4] for i in range(0, 16, 4))
        codes.append(code)
        session.add(RecoveryCode(user_id=user.id, code_hash=_code_hash(code)))
    session.flush()
    return codes


def renew_recovery_codes(session: Session, user: User, now: datetime) -> list[str]:
    """Ten new codes, shown once; the old ones stop working."""
    if not has_any(session, user):
        raise SecondFactorError("Set up an authenticator app or a passkey first.")
    codes = _make_recovery_codes(session, user)
    audit.record(session, actor=user, action=SecurityEvent.RECOVERY_CODES_RENEWED,
                 target_type="user", target_id=user.id, target_label=user.email)
    return codes


def use_recovery_code(session: Session, user: User, code: str, now: datetime) -> bool:
    if not code.strip() or len(code) > 64:
        return False
    used = rows_updated(session, update(RecoveryCode).where(
        RecoveryCode.user_id == user.id, RecoveryCode.code_hash == _code_hash(code),
        RecoveryCode.used_at.is_(None)).values(used_at=now))
    if used != 1:
        return False
    audit.record(session, actor=user, action=SecurityEvent.RECOVERY_CODE_USED,
                 target_type="user", target_id=user.id, target_label=user.email,
                 details={"left": enrolment(session, user).recovery_left})
    return True


# --- passkeys (WebAuthn) ------------------------------------------------------------------------

def _descriptors(passkeys: Sequence[Passkey]) -> list[PublicKeyCredentialDescriptor]:
    return [PublicKeyCredentialDescriptor(id=_b64decode(p.credential_id)) for p in passkeys]


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def registration_options(session: Session, user: User, rp: RelyingParty) -> tuple[str, bytes]:
    """(options for navigator.credentials.create as JSON, the challenge to keep)."""
    options = generate_registration_options(
        rp_id=rp.rp_id, rp_name=rp.name, user_name=user.email, user_display_name=user.name,
        user_id=hashlib.sha256(f"courseware-user-{user.id}".encode()).digest(),
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED,
            user_verification=UserVerificationRequirement.PREFERRED),
        exclude_credentials=_descriptors(enrolment(session, user).passkeys))
    return options_to_json(options), options.challenge


def register_passkey(session: Session, user: User, credential: str, challenge: bytes,
                     rp: RelyingParty, name: str, now: datetime) -> None:
    try:
        verified = verify_registration_response(
            credential=_credential_json(credential), expected_challenge=challenge,
            expected_rp_id=rp.rp_id, expected_origin=rp.origin)
    except (WebAuthnException, ValueError, KeyError, TypeError):
        raise SecondFactorError("The passkey could not be registered. Try again.") from None
    credential_id = bytes_to_base64url(verified.credential_id)
    if session.scalar(select(Passkey.id).where(Passkey.credential_id == credential_id)):
        raise SecondFactorError("This passkey is already registered.")
    label = " ".join(name.split())[:PASSKEY_NAME_MAX] or "Passkey"
    session.add(Passkey(user_id=user.id, credential_id=credential_id,
                        public_key=verified.credential_public_key,
                        sign_count=verified.sign_count, name=label, created_at=now))
    session.flush()
    _enrolled(session, user, "passkey", now)


def authentication_options(session: Session, user: User,
                           rp: RelyingParty) -> tuple[str, bytes]:
    options = generate_authentication_options(
        rp_id=rp.rp_id, allow_credentials=_descriptors(enrolment(session, user).passkeys),
        user_verification=UserVerificationRequirement.PREFERRED)
    return options_to_json(options), options.challenge


def verify_passkey(session: Session, user: User, credential: str, challenge: bytes,
                   rp: RelyingParty, now: datetime) -> bool:
    try:
        data = _credential_json(credential)
        credential_id = str(data.get("id", ""))
    except (ValueError, TypeError):
        return False
    passkey = session.scalar(select(Passkey).where(Passkey.user_id == user.id,
                                                   Passkey.credential_id == credential_id))
    if passkey is None:
        return False
    try:
        verified = verify_authentication_response(
            credential=data, expected_challenge=challenge, expected_rp_id=rp.rp_id,
            expected_origin=rp.origin, credential_public_key=passkey.public_key,
            credential_current_sign_count=passkey.sign_count)
    except (WebAuthnException, ValueError, KeyError, TypeError):
        return False
    passkey.sign_count, passkey.last_used_at = verified.new_sign_count, now
    session.flush()
    return True


def _credential_json(credential: str) -> dict[str, Any]:
    if len(credential) > 64 * 1024:
        raise ValueError("too large")
    data = json.loads(credential)
    if not isinstance(data, dict):
        raise ValueError("not an object")
    return data


# --- removing and resetting ---------------------------------------------------------------------

def remove_totp(session: Session, user: User, now: datetime) -> bool:
    gone = rows_updated(session, delete(TotpSecret).where(TotpSecret.user_id == user.id))
    return _removed(session, user, "totp", bool(gone))


def remove_passkey(session: Session, user: User, passkey_id: int, now: datetime) -> bool:
    gone = rows_updated(session, delete(Passkey).where(Passkey.id == passkey_id,
                                                       Passkey.user_id == user.id))
    return _removed(session, user, "passkey", bool(gone))


def _removed(session: Session, user: User, kind: str, gone: bool) -> bool:
    if gone:
        if not has_any(session, user):  # recovery codes recover a factor: none left, none kept
            session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
        audit.record(session, actor=user, action=SecurityEvent.SECOND_FACTOR_REMOVED,
                     target_type="user", target_id=user.id, target_label=user.email,
                     details={"kind": kind})
    return gone


def reset(session: Session, actor: audit.Actor, user: User, reason: str, now: datetime) -> None:
    """An admin (or the command line) clears every second factor of an account that lost its
    own, and ends its sessions; the person enrols again at their next login."""
    reason = reason.strip()
    if not reason:
        raise SecondFactorError("Give a reason for resetting the second factor.")
    if actor is user:
        raise SecondFactorError("You cannot reset your own second factor; another admin can.")
    before = enrolment(session, user)
    for model in (TotpSecret, Passkey, RecoveryCode):
        session.execute(delete(model).where(model.user_id == user.id))
    ended = sessions.revoke_all(session, user, now)
    audit.record(session, actor=actor, action=SecurityEvent.SECOND_FACTOR_RESET,
                 target_type="user", target_id=user.id, target_label=user.email,
                 reason=reason[:1000],
                 details={"totp": before.totp, "passkeys": len(before.passkeys),
                          "sessions_ended": ended})
