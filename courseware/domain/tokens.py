"""Single-use tokens for emailed links (password reset, address confirmation).

The link carries 256 random bits; the database keeps only their SHA-256, so a copy of the
database (or of its backups) opens no account. A reset token also remembers a fingerprint of
the password hash it was issued against: once the password changes, by whatever path, the
fingerprint no longer matches and the link is dead.
"""

from __future__ import annotations

import hashlib
import re
import secrets

TOKEN_BYTES = 32  # 256 bits; OWASP asks for at least 128 in a reset token
_SHAPE = re.compile(r"[A-Za-z0-9_-]{43}")  # what token_urlsafe(32) writes


def new_token() -> tuple[str, str]:
    """A fresh token for the link, and the hash to store."""
    raw = secrets.token_urlsafe(TOKEN_BYTES)
    return raw, token_hash(raw)


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def well_formed(raw: str) -> bool:
    """Whether `raw` could be one of ours: anything else is refused without a lookup."""
    return _SHAPE.fullmatch(raw) is not None


def password_fingerprint(password_hash: str) -> str:
    """Changes whenever the password does (a new argon2 hash has a new salt)."""
    return hashlib.sha256(b"courseware-reset:" + password_hash.encode()).hexdigest()
