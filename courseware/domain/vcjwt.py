"""VC-JWT: credentials signed as JSON Web Tokens (Open Badges 3.0, section 8.2), RS256.

Pure functions: make and read signing keys, sign a credential, verify a token against a key.
Where keys are kept (sealed in the database) is the key service's business.

The rules followed, from OB 3.0 section 8.2 ("JSON Web Token Proof Format"):

* JOSE header: ``alg`` RS256 (the algorithm every implementation must support; 1EdTech's
  validator accepts RS256 and ES256 only), ``typ`` JWT, ``kid`` a URL that dereferences to the
  public JWK. Nothing else.
* Payload: the credential object itself (VC Data Model 2.0 layout, no ``vc`` wrapper) with the
  registered claims beside it: ``iss`` = issuer id, ``jti`` = credential id, ``sub`` =
  credentialSubject id, ``nbf`` = validFrom, ``exp`` = validUntil when there is one, and
  ``iat``, the signing time.
* A verifier takes the algorithm from the key it trusts, never from the token: a token whose
  header asks for ``none``, HS256 (the "public key as HMAC secret" trick) or anything but the
  key's own algorithm is refused before any signature is computed.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

__all__ = [
    "ALGORITHM",
    "CLOCK_SKEW",
    "CredentialError",
    "Verified",
    "iso_z",
    "jwk_thumbprint",
    "load_private_key",
    "new_private_key",
    "public_jwk",
    "read_header",
    "sign_credential",
    "unverified_claims",
    "verify_credential",
]

ALGORITHM = "RS256"
RSA_BITS = 3072
# algorithm -> the key type it needs; a key of another type never verifies a token
ACCEPTED_ALGORITHMS = {"RS256": "RSA", "ES256": "EC"}
# Tolerated clock difference between signer and verifier for "not valid yet".
CLOCK_SKEW = timedelta(seconds=60)
# Far above any credential (ours are about 20 KB); anything longer is refused unread.
MAX_TOKEN_CHARS = 1024 * 1024

# JWT claims that describe the token rather than the credential.
REGISTERED_CLAIMS = ("iss", "sub", "jti", "nbf", "exp", "iat")
# Header parameters we could not honour (RFC 7515 "crit"; RFC 7797 unencoded payloads).
_REFUSED_HEADERS = ("crit", "b64")

Step = Literal["format", "key", "signature", "claims", "validity"]


class CredentialError(Exception):
    """A token that is not a credential we can trust, and the step of checking it that failed."""

    def __init__(self, message: str, step: Step = "format") -> None:
        super().__init__(message)
        self.step: Step = step


# --- base64url ---------------------------------------------------------------------------------

def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _int_b64(number: int) -> str:
    return _b64url(number.to_bytes((number.bit_length() + 7) // 8 or 1, "big"))


# --- keys ----------------------------------------------------------------------------------

def new_private_key() -> bytes:
    """A new RSA signing key (3072 bits), as unencrypted PKCS#8 DER: seal it before storing."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
    return key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def load_private_key(der: bytes) -> rsa.RSAPrivateKey:
    try:
        key = serialization.load_der_private_key(der, password=None)
    except ValueError as exc:
        raise CredentialError("the stored signing key is not a readable PKCS#8 key", "key") from exc
    if not isinstance(key, rsa.RSAPrivateKey):
        raise CredentialError("the stored signing key is not an RSA key", "key")
    return key


def public_jwk(key: rsa.RSAPrivateKey | rsa.RSAPublicKey) -> dict[str, str]:
    """The public JWK of an RSA key, without a kid (the caller knows where it is published)."""
    public = key.public_key() if isinstance(key, rsa.RSAPrivateKey) else key
    numbers = public.public_numbers()
    return {"kty": "RSA", "n": _int_b64(numbers.n), "e": _int_b64(numbers.e),
            "alg": ALGORITHM, "use": "sig"}


_THUMBPRINT_MEMBERS = {"RSA": ("e", "kty", "n"), "EC": ("crv", "kty", "x", "y"),
                       "OKP": ("crv", "kty", "x")}


def jwk_thumbprint(jwk: Mapping[str, Any]) -> str:
    """RFC 7638 SHA-256 thumbprint (base64url, 43 characters): the required members only,
    sorted, without whitespace; anyone holding the public key derives the same value."""
    members = _THUMBPRINT_MEMBERS.get(str(jwk.get("kty")))
    if members is None or not all(isinstance(jwk.get(m), str) for m in members):
        raise CredentialError("the JWK has no key type this verifier knows", "key")
    canonical = json.dumps({m: jwk[m] for m in members}, separators=(",", ":"), sort_keys=True)
    return _b64url(hashlib.sha256(canonical.encode("utf-8")).digest())


def _verification_key(jwk: Mapping[str, Any], algorithm: str
                      ) -> rsa.RSAPublicKey | ec.EllipticCurvePublicKey:
    if not isinstance(jwk, Mapping):
        raise CredentialError("the published key is not a JWK object", "key")
    if "d" in jwk:
        raise CredentialError("the published key carries private parts: it is refused", "key")
    if jwk.get("kty") != ACCEPTED_ALGORITHMS[algorithm]:
        raise CredentialError(f"the token asks for {algorithm}, but the key is of type "
                              f"{jwk.get('kty')!r}", "key")
    if jwk.get("alg", algorithm) != algorithm:
        raise CredentialError(f"the token asks for {algorithm}, but the key is for "
                              f"{jwk.get('alg')!r}", "key")
    text = json.dumps(dict(jwk))
    try:
        if algorithm == "RS256":
            key = RSAAlgorithm.from_jwk(text)
            if isinstance(key, rsa.RSAPublicKey) and key.key_size >= 2048:
                return key
            raise CredentialError("the RSA key is shorter than 2048 bits", "key")
        key_ec = ECAlgorithm.from_jwk(text)
    except (jwt.PyJWTError, ValueError, TypeError, KeyError) as exc:
        raise CredentialError("the published key is not a well-formed JWK", "key") from exc
    if isinstance(key_ec, ec.EllipticCurvePublicKey) and key_ec.curve.name == "secp256r1":
        return key_ec
    raise CredentialError("ES256 needs a P-256 public key", "key")


# --- times ---------------------------------------------------------------------------------

def iso_z(moment: datetime) -> str:
    """ISO 8601 UTC with whole seconds and a Z, so it maps exactly onto a JWT NumericDate."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("credential timestamps must be timezone-aware")
    return moment.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"timestamp {text!r} has no timezone")
    return moment


def _numeric_date(text: str) -> int:
    return int(parse_iso(text).timestamp())


# --- claims --------------------------------------------------------------------------------

def _id_of(value: object) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        ident = value.get("id")
        return ident if isinstance(ident, str) else None
    return None


def _jwt_claims(credential: Mapping[str, Any]) -> dict[str, Any]:
    """The registered claims OB 3.0 section 8.2 derives from a credential."""
    issuer_id = _id_of(credential.get("issuer"))
    if issuer_id is None:
        raise CredentialError("the credential has no issuer id", "claims")
    if not isinstance(credential.get("id"), str):
        raise CredentialError("the credential has no id", "claims")
    if not isinstance(credential.get("validFrom"), str):
        raise CredentialError("the credential has no validFrom", "claims")
    try:
        claims: dict[str, Any] = {"iss": issuer_id, "jti": credential["id"],
                                  "nbf": _numeric_date(credential["validFrom"])}
        if "validUntil" in credential:
            if not isinstance(credential["validUntil"], str):
                raise ValueError("validUntil is not a date")
            claims["exp"] = _numeric_date(credential["validUntil"])
    except ValueError as exc:
        raise CredentialError(f"the credential has an invalid date: {exc}", "claims") from exc
    subject_id = _id_of(credential.get("credentialSubject"))
    if subject_id is not None:
        claims["sub"] = subject_id
    return claims


def sign_credential(credential: Mapping[str, Any], key: rsa.RSAPrivateKey, *, kid: str,
                    now: datetime) -> str:
    """The compact JWS of `credential`, signed RS256 with `key`, published at the URL `kid`."""
    clashes = [name for name in REGISTERED_CLAIMS if name in credential]
    if clashes:
        raise CredentialError(f"the credential already carries JWT claims {clashes}", "claims")
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    payload = {**credential, **_jwt_claims(credential), "iat": int(now.timestamp())}
    return jwt.encode(payload, key, algorithm=ALGORITHM, headers={"kid": kid, "typ": "JWT"})


# --- reading and verifying -----------------------------------------------------------------

_B64URL_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def _segments(token: object) -> list[str]:
    """Three canonical base64url segments, or CredentialError.

    Python's decoder skips unknown characters and ignores the unused low bits of the last
    character, so without this some one-character edits would decode to the same bytes and
    still verify. A signature proves the decoded bytes; this makes the text tamper-evident too.
    """
    if not isinstance(token, str):
        raise CredentialError("a credential token is text")
    if len(token) > MAX_TOKEN_CHARS:
        raise CredentialError("the token is far larger than any credential")
    segments = token.split(".")
    if len(segments) != 3:
        raise CredentialError("this is not a signed JWT: a VC-JWT has three parts separated by "
                              f"dots, this has {len(segments)}")
    # an empty signature passes here, so that an unsigned token is named as such below
    for index, segment in enumerate(segments):
        if (not segment and index < 2) or not _B64URL_CHARS.issuperset(segment):
            raise CredentialError("a part of the token is not base64url text (is it cut short?)")
        try:
            canonical = _b64url(_b64url_decode(segment))
        except ValueError as exc:
            raise CredentialError("a part of the token is not base64url text") from exc
        if canonical != segment:
            raise CredentialError("a part of the token is not canonical base64url: it was "
                                  "cut short or altered")
    return segments


def _json_object(segment: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(_b64url_decode(segment))
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise CredentialError(f"the token's {what} is not JSON (is it cut short?)") from exc
    if not isinstance(value, dict):
        raise CredentialError(f"the token's {what} is not a JSON object")
    return value


def read_header(token: object) -> dict[str, Any]:
    """The JOSE header of a well-formed, signed token with an algorithm we accept."""
    segments = _segments(token)
    header = _json_object(segments[0], "header")
    alg = header.get("alg")
    if alg in (None, "none", "None", "NONE") or not segments[2]:
        raise CredentialError("the token is not signed (algorithm 'none'): anyone could have "
                              "written it")
    if not isinstance(alg, str) or alg not in ACCEPTED_ALGORITHMS:
        shown = alg if isinstance(alg, str) else type(alg).__name__
        detail = (" (a shared-secret algorithm: it would let anyone holding the public key "
                  "forge credentials)") if isinstance(alg, str) and alg.startswith("HS") else ""
        raise CredentialError(f"the token is signed with {shown[:20]!r}{detail}; credentials "
                              "are signed with RS256 or ES256")
    if header.get("typ", "JWT") not in ("JWT", "vc+jwt"):
        raise CredentialError("the token's type is not JWT")
    refused = [name for name in _REFUSED_HEADERS if name in header]
    if refused:
        raise CredentialError(f"the token uses header parameters this verifier cannot honour: "
                              f"{refused}")
    if not isinstance(header.get("kid"), str) or not header["kid"]:
        raise CredentialError("the token does not say which key signed it (no kid)", "key")
    _json_object(segments[1], "payload")
    return header


def unverified_claims(token: str) -> dict[str, Any]:
    """The payload of a well-formed token, NOT verified: only to say whose it claims to be."""
    return _json_object(_segments(token)[1], "payload")


@dataclass(frozen=True)
class Verified:
    """A token whose signature, claims and start date held."""

    kid: str
    algorithm: str
    claims: dict[str, Any]
    credential: dict[str, Any]  # the payload without the JWT's registered claims
    expired: bool


def _numeric(payload: Mapping[str, Any], name: str) -> int | None:
    value = payload.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise CredentialError(f"the JWT claim {name!r} is not a NumericDate", "claims")
    return value


def verify_credential(token: str, jwk: Mapping[str, Any], *, now: datetime) -> Verified:
    """Verify a VC-JWT with the public JWK its kid names (the caller resolved and trusts it).

    Raises CredentialError, naming the step that failed: a malformed token or refused algorithm
    (format), a key that does not fit (key), a signature that does not match (signature), JWT
    claims that disagree with the credential (claims), a token not valid yet (validity).
    Expiry is reported, not raised: a verifier still says whose credential it was.
    """
    header = read_header(token)
    algorithm = str(header["alg"])
    key = _verification_key(jwk, algorithm)
    try:
        payload = jwt.decode(
            token, key, algorithms=[algorithm],
            # dates are checked below against `now`; expiry is reported, not fatal
            options={"verify_exp": False, "verify_nbf": False, "verify_iat": False,
                     "verify_aud": False, "require": ["iss", "jti", "nbf"]})
    except jwt.InvalidSignatureError as exc:
        raise CredentialError("the signature does not match: the credential was altered after "
                              "it was signed, or another key signed it", "signature") from exc
    except jwt.MissingRequiredClaimError as exc:
        raise CredentialError(f"the token lacks a required claim: {exc}", "claims") from exc
    except jwt.PyJWTError as exc:
        raise CredentialError(f"the token was refused: {exc}", "signature") from exc
    credential = {k: v for k, v in payload.items() if k not in REGISTERED_CLAIMS}
    expected = _jwt_claims(credential)
    for name in ("iss", "jti", "sub", "nbf", "exp"):
        if payload.get(name) != expected.get(name):
            raise CredentialError(f"the JWT claim {name!r} does not match the credential",
                                  "claims")
    latest = int((now + CLOCK_SKEW).timestamp())
    for name in ("nbf", "iat"):
        value = _numeric(payload, name)
        if value is not None and value > latest:
            raise CredentialError(f"the credential is not valid yet ({name} is in the future)",
                                  "validity")
    expires = _numeric(payload, "exp")
    return Verified(kid=str(header["kid"]), algorithm=algorithm, claims=payload,
                    credential=credential,
                    expired=expires is not None and expires <= int(now.timestamp()))
