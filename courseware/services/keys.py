"""The issuer's signing keys, kept in the database so every host signs with the same key.

Private keys are sealed (encrypted and authenticated) under the key-encryption key before they
are stored, and unsealed only to sign; the public JWK is stored beside them, so publishing keys
never needs the KEK. A key is created on first need (one only, even when two processes need it
at once: the first key is generation 1, which the database allows once), a rotation adds a new
one, and no key is ever removed: credentials signed with any earlier key keep verifying.

The key-encryption key stays out of this module: callers pass a `Sealer` (the web layer makes
one from `courseware.infra.kek` and KEY_ENCRYPTION_KEY).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from courseware.domain import vcjwt
from courseware.domain.statuses import SigningAlgorithm
from courseware.domain.vcjwt import CredentialError
from courseware.models import SigningKey

KEYS_PATH = "/.well-known/keys/"
EXPORT_FORMAT = "courseware-signing-keys"


class Sealer(Protocol):
    """Encrypts secrets for the database and opens them again (see courseware.infra.kek)."""

    def seal(self, secret: bytes) -> str: ...

    def unseal(self, token: str) -> bytes: ...


class SigningKeyError(ValueError):
    """A key file or key that cannot be used; the message says why, for the operator."""


@dataclass(frozen=True)
class Signer:
    """The active key, ready to sign."""

    thumbprint: str
    private_key: RSAPrivateKey


@dataclass(frozen=True)
class KeyInfo:
    thumbprint: str
    algorithm: str
    created_at: datetime
    active: bool


def kid_url(base_url: str, thumbprint: str) -> str:
    """A key's id in tokens: the URL that answers its public JWK."""
    return f"{base_url}{KEYS_PATH}{thumbprint}"


def thumbprint_of(base_url: str, kid: str) -> str | None:
    """The thumbprint named by one of our kid URLs, or None for anyone else's kid."""
    prefix = f"{base_url}{KEYS_PATH}"
    if not kid.startswith(prefix):
        return None
    thumbprint = kid[len(prefix):]
    return thumbprint if thumbprint and len(thumbprint) <= 64 and thumbprint.isascii() else None


# Unsealed keys per process, by thumbprint: a key never changes once stored.
_PRIVATE: dict[str, RSAPrivateKey] = {}


def _signer(row: SigningKey, sealer: Sealer) -> Signer:
    key = _PRIVATE.get(row.thumbprint)
    if key is None:
        try:
            der = sealer.unseal(row.private_key_sealed)
        except ValueError as exc:  # the KEK is not the one the key was sealed with
            raise SigningKeyError(f"signing key {row.thumbprint} cannot be opened: {exc}") from exc
        try:
            key = vcjwt.load_private_key(der)
        except CredentialError as exc:
            raise SigningKeyError(f"signing key {row.thumbprint}: {exc}") from exc
        if vcjwt.jwk_thumbprint(vcjwt.public_jwk(key)) != row.thumbprint:
            raise SigningKeyError(f"signing key {row.thumbprint} does not match its public key")
        _PRIVATE[row.thumbprint] = key
    return Signer(row.thumbprint, key)


def _ordered() -> Any:
    # the newest key signs: by creation time, then by the order keys were added
    return select(SigningKey).order_by(SigningKey.created_at.desc(),
                                       SigningKey.generation.desc())


def active_signer(session: Session, sealer: Sealer) -> Signer | None:
    """The key to sign with, or None before the first key exists."""
    row = session.scalars(_ordered().limit(1)).first()
    return _signer(row, sealer) if row is not None else None


def _add(session: Session, sealer: Sealer, *, generation: int, der: bytes,
         created_at: datetime) -> SigningKey:
    key = vcjwt.load_private_key(der)
    jwk = vcjwt.public_jwk(key)
    row = SigningKey(generation=generation, thumbprint=vcjwt.jwk_thumbprint(jwk),
                     algorithm=SigningAlgorithm.RS256, public_jwk=jwk,
                     private_key_sealed=sealer.seal(der), created_at=created_at)
    with session.begin_nested():
        session.add(row)
    _PRIVATE[row.thumbprint] = key
    return row


def ensure_signer(session: Session, sealer: Sealer, now: datetime) -> Signer:
    """The active key, creating the first one if there is none. Flushes; the caller commits."""
    existing = active_signer(session, sealer)
    if existing is not None:
        return existing
    try:
        row = _add(session, sealer, generation=1, der=vcjwt.new_private_key(), created_at=now)
    except IntegrityError:  # another process made the first key at the same moment: use it
        first = session.scalars(select(SigningKey).where(SigningKey.generation == 1)).one()
        return _signer(first, sealer)
    return _signer(row, sealer)


def _next_generation(session: Session) -> int:
    return (session.scalar(select(func.max(SigningKey.generation))) or 0) + 1


def rotate(session: Session, sealer: Sealer, now: datetime) -> KeyInfo:
    """Add a new key and make it the active one; every earlier key stays published."""
    for _ in range(5):  # two rotations at once both aim for the same generation: one retries
        try:
            row = _add(session, sealer, generation=_next_generation(session),
                       der=vcjwt.new_private_key(), created_at=now)
        except IntegrityError:
            continue
        return KeyInfo(row.thumbprint, row.algorithm, row.created_at, True)
    raise SigningKeyError("another rotation is under way: try again")


def listing(session: Session) -> list[KeyInfo]:
    """Every key, the active one first."""
    rows = list(session.scalars(_ordered()))
    return [KeyInfo(r.thumbprint, r.algorithm, r.created_at, index == 0)
            for index, r in enumerate(rows)]


def _published(row: SigningKey, base_url: str) -> dict[str, Any]:
    return {**row.public_jwk, "kid": kid_url(base_url, row.thumbprint)}


def jwks(session: Session, base_url: str) -> dict[str, list[dict[str, Any]]]:
    """The JWK Set of every key ever used, oldest first; each kid is the key's own URL."""
    rows = session.scalars(select(SigningKey).order_by(SigningKey.created_at,
                                                       SigningKey.generation))
    return {"keys": [_published(row, base_url) for row in rows]}


def public_jwk(session: Session, base_url: str, thumbprint: str) -> dict[str, Any] | None:
    """One published key by its thumbprint, as its kid URL answers it."""
    row = session.scalars(select(SigningKey).where(SigningKey.thumbprint == thumbprint)).first()
    return _published(row, base_url) if row is not None else None


# --- backup ----------------------------------------------------------------------------------

def export(session: Session) -> dict[str, Any]:
    """Every key as stored: public JWKs and the private keys still sealed under the KEK.

    The file is useless without the KEY_ENCRYPTION_KEY that sealed it (and harmless without it);
    keep the two apart."""
    rows = session.scalars(select(SigningKey).order_by(SigningKey.created_at,
                                                       SigningKey.generation))
    return {"format": EXPORT_FORMAT, "version": 1, "keys": [
        {"thumbprint": r.thumbprint, "algorithm": r.algorithm.value,
         "created_at": vcjwt.iso_z(r.created_at), "public_jwk": r.public_jwk,
         "private_key_sealed": r.private_key_sealed} for r in rows]}


@dataclass(frozen=True)
class ImportReport:
    added: list[str]
    present: list[str]


def _check_entry(entry: object, sealer: Sealer) -> tuple[str, str, datetime, dict[str, Any]]:
    if not isinstance(entry, Mapping):
        raise SigningKeyError("each key in the file is an object")
    thumbprint, sealed = entry.get("thumbprint"), entry.get("private_key_sealed")
    created, jwk = entry.get("created_at"), entry.get("public_jwk")
    if not (isinstance(thumbprint, str) and isinstance(sealed, str) and isinstance(created, str)
            and isinstance(jwk, Mapping)):
        raise SigningKeyError("a key lacks its thumbprint, sealed private key, date or public JWK")
    if entry.get("algorithm") != SigningAlgorithm.RS256:
        raise SigningKeyError(f"key {thumbprint}: only RS256 keys are used here")
    try:
        der = sealer.unseal(sealed)
        key = vcjwt.load_private_key(der)
        moment = vcjwt.parse_iso(created)
    except (ValueError, CredentialError) as exc:
        raise SigningKeyError(f"key {thumbprint}: {exc}") from exc
    own = vcjwt.public_jwk(key)
    if vcjwt.jwk_thumbprint(own) != thumbprint or vcjwt.jwk_thumbprint(jwk) != thumbprint:
        raise SigningKeyError(f"key {thumbprint}: its private key, public key and thumbprint "
                              "disagree")
    return thumbprint, sealed, moment, own


def import_keys(session: Session, sealer: Sealer, data: object) -> ImportReport:
    """Add the keys of an export that this database lacks, keeping their creation dates.

    Every key is checked first (it opens with this KEY_ENCRYPTION_KEY and matches its public
    key and thumbprint); one bad key refuses the whole file. The newest key by creation date
    signs afterwards, wherever it came from."""
    if not isinstance(data, Mapping) or data.get("format") != EXPORT_FORMAT:
        raise SigningKeyError(f"this is not a {EXPORT_FORMAT} export")
    entries = data.get("keys")
    if not isinstance(entries, list):
        raise SigningKeyError("the export has no list of keys")
    checked = [_check_entry(entry, sealer) for entry in entries]
    known = set(session.scalars(select(SigningKey.thumbprint)))
    added, present = [], []
    for thumbprint, sealed, created, jwk in sorted(checked, key=lambda c: c[2]):
        if thumbprint in known:
            present.append(thumbprint)
            continue
        row = SigningKey(generation=_next_generation(session), thumbprint=thumbprint,
                         algorithm=SigningAlgorithm.RS256, public_jwk=jwk,
                         private_key_sealed=sealed, created_at=created)
        session.add(row)
        session.flush()
        known.add(thumbprint)
        added.append(thumbprint)
    return ImportReport(added, present)
