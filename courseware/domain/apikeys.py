"""Programs' API keys as plain rules: the key's shape, its hash, its scopes, whether it acts.

A key reads `cwk_<prefix>_<secret>`: `cwk_` names it as ours (secret scanners and people
recognise it), 8 random lowercase letters and digits make the prefix that staff see beside
the key's name, and 256 random bits (`secrets.token_urlsafe(32)`) the secret. The database keeps
the visible prefix and the SHA-256 of the whole key, never the key: a random 256-bit key needs
no slow hash, and looking it up by its hash (a unique index) needs no constant-time compare.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from courseware.domain.statuses import ApiScope, KeyCheck

KEY_TAG = "cwk_"
PREFIX_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
PREFIX_LENGTH = 8
SECRET_BYTES = 32
_SHAPE = re.compile(r"cwk_[a-z0-9]{8}_[A-Za-z0-9_-]{43}")
# a busy key records its last use at most this often, not on every request
TOUCH_EVERY = timedelta(minutes=1)
NAME_MAX = 80


@dataclass(frozen=True)
class NewKey:
    """A key just made: `plaintext` is shown once; `prefix` and `digest` are stored."""

    plaintext: str
    prefix: str
    digest: str


def new_key() -> NewKey:
    prefix = KEY_TAG + "".join(secrets.choice(PREFIX_ALPHABET) for _ in range(PREFIX_LENGTH))
    plaintext = f"{prefix}_{secrets.token_urlsafe(SECRET_BYTES)}"
    return NewKey(plaintext, prefix, key_hash(plaintext))


def key_hash(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def well_formed(text: str) -> bool:
    """Whether `text` could be one of our keys: anything else is refused without a lookup."""
    return _SHAPE.fullmatch(text) is not None


def bearer_token(header: str | None) -> str | None:
    """The credential of an `Authorization: Bearer <key>` header ("" when the header names
    another scheme or is empty), or None when there is no header at all."""
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return ""
    return token.strip()


class BadScopes(ValueError):
    pass


def parse_scopes(values: Iterable[str]) -> tuple[ApiScope, ...]:
    """Scopes from checkboxes or the command line (`--scope verify --scope roster`, or
    `--scope verify,roster`): sorted, each once; at least one, and no unknown name."""
    names = {part.strip().lower() for value in values for part in value.split(",")}
    names.discard("")
    unknown = sorted(names - {scope.value for scope in ApiScope})
    if unknown:
        raise BadScopes(f"Unknown scope {', '.join(unknown)}: choose from "
                        f"{', '.join(scope.value for scope in ApiScope)}.")
    if not names:
        raise BadScopes("Choose at least one scope.")
    return tuple(sorted((ApiScope(name) for name in names), key=lambda scope: scope.value))


def format_scopes(scopes: Iterable[ApiScope]) -> str:
    """How scopes are stored: space-separated, sorted, each once."""
    return " ".join(sorted({ApiScope(scope).value for scope in scopes}))


def stored_scopes(text: str) -> frozenset[ApiScope]:
    return frozenset(ApiScope(name) for name in text.split() if name in set(ApiScope))


def check(*, now: datetime, expires_at: datetime | None,
          revoked_at: datetime | None) -> KeyCheck:
    """A found key acts unless revoked (whatever its dates) or past its expiry."""
    if revoked_at is not None:
        return KeyCheck.REVOKED
    if expires_at is not None and now >= expires_at:
        return KeyCheck.EXPIRED
    return KeyCheck.VALID


def touch_due(last_used_at: datetime | None, now: datetime) -> bool:
    """Whether to record this use: never recorded, or not within the last minute."""
    return last_used_at is None or now - last_used_at >= TOUCH_EVERY


def clean_name(name: str) -> str:
    """A key's label (what staff call it: "CRM sync"), trimmed, printable, 1-80 characters."""
    name = " ".join(name.split())
    if not name:
        raise ValueError("Name the key (what uses it, for example “CRM sync”).")
    if len(name) > NAME_MAX:
        raise ValueError(f"Use at most {NAME_MAX} characters for the key's name.")
    if not name.isprintable():
        raise ValueError("The key's name contains characters that cannot be shown.")
    return name
