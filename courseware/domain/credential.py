"""Open Badges 3.0 credentials, signed as VC-JWT with Ed25519 (alg "EdDSA").

Format choices, all taken from the OB 3.0 specification (3.0.3, the version
built on the W3C VC Data Model 2.0):

* The credential is an ``OpenBadgeCredential`` with the VC v2 context first
  and the OB 3.0.3 context second, as the OB JSON Schema requires.
* The holder has no URI (no DID, no account URL we want to publish), so the
  subject is identified the way OB 3.0 provides for that case: an
  ``identifier`` list holding one ``IdentityObject`` of ``identityType``
  "name" with the plain (``hashed: false``) name. The schema's
  ``AchievementSubject`` has no ``name`` property, and ``IdentityObject`` is
  the standard carrier for a recipient's name.
* VC-JWT (OB 3.0 section 8.2, "JSON Web Token Proof Format"): for VCDM 2.0
  credentials the JWT payload *is* the credential's JSON object, with the
  registered claims added alongside: ``iss`` = issuer.id, ``jti`` = id,
  ``nbf`` = validFrom, ``exp`` = validUntil (if any), ``sub`` =
  credentialSubject.id (only if there is one). The ``vc`` wrapper claim is the
  VCDM 1.1 layout and is not used. ``iat`` (signing time) is an extra standard
  claim the spec allows.
* JOSE header: ``alg`` "EdDSA", ``typ`` "JWT", ``kid`` = the RFC 7638 JWK
  thumbprint of the signing key, which is also the ``kid`` in :meth:`KeyStore.jwks`.
  The spec lists only alg/kid/jwk/typ as allowed headers; nothing else is added.

Keys live on disk as unencrypted PKCS#8 PEM files (mode 0600, in a 0700
directory) so that any worker process of the app can sign; old keys are never
deleted so that certificates signed before a rotation stay verifiable.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

__all__ = [
    "CONTEXT",
    "AchievementInfo",
    "CredentialError",
    "CredentialSubjectInfo",
    "IssuerInfo",
    "KeyStore",
    "build_credential",
    "jwk_thumbprint",
    "sign_credential",
    "verify_credential",
]

CONTEXT = [
    "https://www.w3.org/ns/credentials/v2",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
]
CREDENTIAL_TYPE = ["VerifiableCredential", "OpenBadgeCredential"]

ALGORITHM = "EdDSA"
_INDEX_NAME = "keys.json"
_LOCK_NAME = ".lock"

# Tolerated clock difference between the signer and the verifier when checking
# that a token is not used before it is valid (nbf / iat in the future).
CLOCK_SKEW = timedelta(seconds=60)

# JWT claims that describe the token rather than the credential.
_REGISTERED_CLAIMS = ("iss", "sub", "jti", "nbf", "exp", "iat")


class CredentialError(Exception):
    """A key could not be used, or a credential could not be signed or verified."""


# --- base64url / JWK helpers ----------------------------------------------------


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def jwk_thumbprint(public_jwk: dict[str, Any]) -> str:
    """RFC 7638 SHA-256 thumbprint of an OKP public JWK (base64url, 43 chars).

    Only the required members, in lexicographic order, with no whitespace;
    that makes the id stable and derivable by anyone holding the public key.
    """
    canonical = json.dumps(
        {"crv": public_jwk["crv"], "kty": public_jwk["kty"], "x": public_jwk["x"]},
        separators=(",", ":"),
        sort_keys=True,
    )
    return _b64url(hashlib.sha256(canonical.encode("utf-8")).digest())


def _public_jwk(key: Ed25519PublicKey) -> dict[str, str]:
    jwk = {"kty": "OKP", "crv": "Ed25519", "x": _b64url(_raw_public(key))}
    return {**jwk, "kid": jwk_thumbprint(jwk), "alg": ALGORITHM, "use": "sig"}


# --- key store ----------------------------------------------------------------


class KeyStore:
    """Ed25519 signing keys in a directory, with an ordered index.

    Layout: ``<kid>.pem`` per key (PKCS#8, mode 0600) and ``keys.json``, a list
    of ``{"kid", "created"}`` records, oldest first; the last record is the
    active key. The index is only rewritten under an exclusive ``flock`` and
    always via a temporary file plus ``os.replace``, so concurrent processes
    never lose a record and a reader never sees a half-written index.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self._private_cache: dict[str, Ed25519PrivateKey] = {}

    # -- public API --

    def active(self) -> str:
        """The kid of the key to sign with, creating the first key if needed."""
        records = self._read_index()
        if records:
            return records[-1]["kid"]
        with self._locked():
            # Another process may have created the key while we waited.
            records = self._read_index()
            if records:
                return records[-1]["kid"]
            return self._add_key(records)

    def rotate(self) -> str:
        """Create a new key and make it active. Old keys stay published."""
        with self._locked():
            return self._add_key(self._read_index())

    def kids(self) -> list[str]:
        """All key ids, oldest first (does not create a key)."""
        return [record["kid"] for record in self._read_index()]

    def private_key(self, kid: str) -> Ed25519PrivateKey:
        """Load the private key ``kid``; CredentialError if it is not in the index."""
        if kid not in self.kids():
            raise CredentialError(f"no signing key with kid {kid!r} in {self.directory}")
        return self._cached_key(kid)

    def public_jwk(self, kid: str) -> dict[str, str]:
        return _public_jwk(self.private_key(kid).public_key())

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        """JWK Set of every key ever indexed, oldest first, for publication.

        Does not create a key: an empty store publishes an empty set.
        """
        return {"keys": [_public_jwk(self._cached_key(kid).public_key()) for kid in self.kids()]}

    # -- internals --

    def _ensure_directory(self) -> None:
        if not self.directory.is_dir():
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            # mkdir's mode is filtered by the umask; make the intent explicit.
            self.directory.chmod(0o700)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Exclusive lock across processes for index read-modify-write."""
        self._ensure_directory()
        fd = os.open(self.directory / _LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the lock

    def _read_index(self) -> list[dict[str, str]]:
        path = self.directory / _INDEX_NAME
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        try:
            records = json.loads(text)
        except ValueError as exc:
            raise CredentialError(f"key index {path} is not valid JSON") from exc
        if not isinstance(records, list) or not all(
            isinstance(r, dict) and isinstance(r.get("kid"), str) for r in records
        ):
            raise CredentialError(f"key index {path} is not a list of key records")
        return records

    def _write_index(self, records: list[dict[str, str]]) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".keys-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(records, handle, indent=2)
                handle.write("\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.directory / _INDEX_NAME)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise

    def _add_key(self, records: list[dict[str, str]]) -> str:
        """Generate and store a key, then append it to the index. Caller holds the lock."""
        key = Ed25519PrivateKey.generate()
        kid = _public_jwk(key.public_key())["kid"]
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        # O_EXCL: never overwrite an existing key file. The PEM is written
        # before the index, so a crash leaves at worst an unindexed file.
        fd = os.open(self.directory / f"{kid}.pem", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), 0o600)
            handle.write(pem)
            handle.flush()
            os.fsync(handle.fileno())
        created = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        self._write_index([*records, {"kid": kid, "created": created}])
        self._private_cache[kid] = key
        return kid

    def _cached_key(self, kid: str) -> Ed25519PrivateKey:
        # Key files are never rewritten, so caching by kid cannot go stale.
        if kid not in self._private_cache:
            self._private_cache[kid] = self._load_pem(kid)
        return self._private_cache[kid]

    def _load_pem(self, kid: str) -> Ed25519PrivateKey:
        path = self.directory / f"{kid}.pem"
        try:
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except FileNotFoundError as exc:
            raise CredentialError(f"key file {path} is missing") from exc
        except ValueError as exc:
            raise CredentialError(f"key file {path} is not a readable PEM key") from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise CredentialError(f"key file {path} is not an Ed25519 key")
        if _public_jwk(key.public_key())["kid"] != kid:
            raise CredentialError(f"key file {path} does not match its kid")
        return key


# --- credential model ---------------------------------------------------------


@dataclass(frozen=True)
class AchievementInfo:
    """What was achieved. ``url`` (the public page describing the track) is the
    achievement's id; ``slug`` is the app's own handle and is not serialised."""

    slug: str
    title: str
    description: str
    criteria: str
    url: str


@dataclass(frozen=True)
class IssuerInfo:
    """The issuing organisation. ``id`` is a URL that identifies the issuer profile."""

    id: str
    name: str
    url: str


@dataclass(frozen=True)
class CredentialSubjectInfo:
    holder_name: str


def _iso_z(moment: datetime) -> str:
    """ISO 8601 UTC with a Z and whole seconds, so it maps exactly onto a JWT
    NumericDate and back (the VC-JWT rules compare nbf with validFrom)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("credential timestamps must be timezone-aware")
    utc = moment.astimezone(UTC).replace(microsecond=0)
    return utc.strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_iso(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"timestamp {text!r} has no timezone")
    return moment


def build_credential(
    *,
    credential_id: str,
    issuer: IssuerInfo,
    achievement: AchievementInfo,
    holder_name: str,
    valid_from: datetime,
    valid_until: datetime | None,
) -> dict[str, Any]:
    """An unsigned Open Badges 3.0 ``OpenBadgeCredential`` as a JSON-ready dict."""
    credential: dict[str, Any] = {
        "@context": list(CONTEXT),
        "id": credential_id,
        "type": list(CREDENTIAL_TYPE),
        "issuer": {
            "id": issuer.id,
            "type": ["Profile"],
            "name": issuer.name,
            "url": issuer.url,
        },
        "validFrom": _iso_z(valid_from),
        "name": achievement.title,
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "identifier": [
                {
                    "type": "IdentityObject",
                    "identityHash": holder_name,
                    "identityType": "name",
                    "hashed": False,
                }
            ],
            "achievement": {
                "id": achievement.url,
                "type": ["Achievement"],
                "name": achievement.title,
                "description": achievement.description,
                "criteria": {"narrative": achievement.criteria},
                "achievementType": "Certificate",
            },
        },
    }
    if valid_until is not None:
        if valid_until <= valid_from:
            raise ValueError("valid_until must be after valid_from")
        credential["validUntil"] = _iso_z(valid_until)
    return credential


# --- signing ------------------------------------------------------------------


def _numeric_date(text: str) -> int:
    return int(_parse_iso(text).timestamp())


def _issuer_id(credential: dict[str, Any]) -> str | None:
    issuer = credential.get("issuer")
    if isinstance(issuer, str):
        return issuer
    if isinstance(issuer, dict):
        ident = issuer.get("id")
        return ident if isinstance(ident, str) else None
    return None


def _subject_id(credential: dict[str, Any]) -> str | None:
    subject = credential.get("credentialSubject")
    if isinstance(subject, dict):
        ident = subject.get("id")
        return ident if isinstance(ident, str) else None
    return None


def _jwt_claims(credential: dict[str, Any]) -> dict[str, Any]:
    """The registered claims OB 3.0 section 8.2 derives from the credential."""
    issuer_id = _issuer_id(credential)
    if issuer_id is None:
        raise CredentialError("credential has no issuer id")
    if not isinstance(credential.get("id"), str):
        raise CredentialError("credential has no id")
    if not isinstance(credential.get("validFrom"), str):
        raise CredentialError("credential has no validFrom")
    try:
        claims: dict[str, Any] = {
            "iss": issuer_id,
            "jti": credential["id"],
            "nbf": _numeric_date(credential["validFrom"]),
        }
        if "validUntil" in credential:
            claims["exp"] = _numeric_date(credential["validUntil"])
    except ValueError as exc:
        raise CredentialError(f"credential has an invalid timestamp: {exc}") from exc
    subject_id = _subject_id(credential)
    if subject_id is not None:
        claims["sub"] = subject_id
    return claims


def sign_credential(credential: dict[str, Any], keystore: KeyStore, *, now: datetime) -> str:
    """Sign ``credential`` with the store's active key; returns a compact JWS."""
    clashes = [name for name in _REGISTERED_CLAIMS if name in credential]
    if clashes:
        raise CredentialError(f"credential already carries JWT claims {clashes}")
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    payload = {**credential, **_jwt_claims(credential), "iat": int(now.timestamp())}
    kid = keystore.active()
    return jwt.encode(
        payload,
        keystore.private_key(kid),
        algorithm=ALGORITHM,
        headers={"kid": kid, "typ": "JWT"},
    )


# --- verification -------------------------------------------------------------


_B64URL_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def _require_canonical_segments(token: str) -> None:
    """Reject anything but three canonical base64url segments.

    Python's decoder skips unknown characters and ignores the unused low bits
    of the last character, so without this check some one-character edits of
    a token would decode to the same bytes and still verify. A signature only
    proves the decoded bytes; this makes the token text itself tamper-evident.
    """
    if not isinstance(token, str):
        raise CredentialError("token must be a string")
    segments = token.split(".")
    if len(segments) != 3:
        raise CredentialError("not a compact JWS: expected three dot-separated segments")
    # An empty signature is let through here so that an unsigned ("alg": "none")
    # token is reported as such by the algorithm check.
    for index, segment in enumerate(segments):
        if (not segment and index < 2) or not _B64URL_CHARS.issuperset(segment):
            raise CredentialError("token segment is not base64url")
        try:
            canonical = _b64url(_b64url_decode(segment))
        except ValueError as exc:
            raise CredentialError("token segment is not base64url") from exc
        if canonical != segment:
            raise CredentialError("token segment is not canonical base64url")


def _verification_key(header: dict[str, Any], jwks: dict[str, Any]) -> Ed25519PublicKey:
    kid = header.get("kid")
    if not isinstance(kid, str):
        raise CredentialError("token header has no kid")
    keys = jwks.get("keys")
    if not isinstance(keys, list):
        raise CredentialError("JWKS has no 'keys' list")
    for entry in keys:
        if isinstance(entry, dict) and entry.get("kid") == kid:
            if entry.get("kty") != "OKP" or entry.get("crv") != "Ed25519":
                raise CredentialError(f"key {kid!r} is not an Ed25519 key")
            try:
                return Ed25519PublicKey.from_public_bytes(_b64url_decode(entry["x"]))
            except (KeyError, TypeError, ValueError) as exc:
                raise CredentialError(f"key {kid!r} in the JWKS is malformed") from exc
    raise CredentialError(f"token was signed with unknown key {kid!r}")


def _check_consistency(payload: dict[str, Any]) -> None:
    """OB 3.0 section 8.2.4.1: each registered claim must match the credential."""
    credential = {k: v for k, v in payload.items() if k not in _REGISTERED_CLAIMS}
    expected = _jwt_claims(credential)
    for name in ("iss", "jti", "nbf", "exp", "sub"):
        if payload.get(name) != expected.get(name):
            raise CredentialError(f"JWT claim {name!r} does not match the credential")


def _numeric(payload: dict[str, Any], name: str) -> int | None:
    value = payload.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise CredentialError(f"JWT claim {name!r} is not a NumericDate")
    return value


def verify_credential(
    token: str, jwks: dict[str, Any], *, now: datetime | None = None
) -> dict[str, Any]:
    """Verify a VC-JWT against a JWKS and return what it says.

    Raises CredentialError for anything that makes the token untrustworthy:
    unknown kid, any algorithm other than EdDSA (including "none"), a bad
    signature, claims that disagree with the embedded credential, or a token
    that is not valid yet (nbf/iat later than ``now`` + CLOCK_SKEW).

    Expiry is deliberately *not* an error: a verification page should still
    show whose certificate it was and say it has expired, and status
    (revocation) is checked separately from the database. The result is::

        {"kid": str, "claims": <full JWT payload>,
         "credential": <payload without JWT registered claims>, "expired": bool}
    """
    now = now or datetime.now(UTC)
    _require_canonical_segments(token)
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise CredentialError(f"not a well-formed JWT: {exc}") from exc
    if header.get("alg") != ALGORITHM:
        raise CredentialError(f"token algorithm {header.get('alg')!r} is not {ALGORITHM}")
    if header.get("typ", "JWT") != "JWT":
        raise CredentialError(f"token type {header.get('typ')!r} is not JWT")
    key = _verification_key(header, jwks)
    try:
        payload = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            # Times are checked below against ``now``, and expiry is reported, not fatal.
            options={
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
                "require": ["iss", "jti", "nbf"],
            },
        )
    except jwt.InvalidSignatureError as exc:
        raise CredentialError("signature does not match: the token was altered or forged") from exc
    except jwt.PyJWTError as exc:
        raise CredentialError(f"token rejected: {exc}") from exc

    latest = int((now + CLOCK_SKEW).timestamp())
    for name in ("nbf", "iat"):
        value = _numeric(payload, name)
        if value is not None and value > latest:
            raise CredentialError(f"token is not valid yet ({name} is in the future)")
    _check_consistency(payload)
    expires = _numeric(payload, "exp")
    return {
        "kid": header["kid"],
        "claims": payload,
        "credential": {k: v for k, v in payload.items() if k not in _REGISTERED_CLAIMS},
        "expired": expires is not None and expires <= int(now.timestamp()),
    }
