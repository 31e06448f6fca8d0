"""The key-encryption key (KEK): what keeps secrets stored in the database unreadable alone.

Signing keys and second-factor secrets live in the database so that every host shares them; a
database dump or backup must not hand them out. They are stored as Fernet tokens (AES-128-CBC
with an HMAC-SHA256, from `cryptography`) under one KEK taken from the environment
(`KEY_ENCRYPTION_KEY`, URL-safe base64 of 32 bytes, as `Fernet.generate_key()` makes), or, for
the embedded development default, generated once into the instance folder with mode 0600.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken


class KekError(ValueError):
    """The configured KEK is not a Fernet key, or a stored secret was not made with it."""


def new_kek() -> str:
    return Fernet.generate_key().decode()


def fernet(kek: str) -> Fernet:
    try:
        return Fernet(kek.encode())
    except ValueError as exc:
        raise KekError("KEY_ENCRYPTION_KEY must be URL-safe base64 of 32 bytes "
                       "(make one with: python -c 'from cryptography.fernet import Fernet; "
                       "print(Fernet.generate_key().decode())')") from exc


def seal(kek: str, secret: bytes) -> str:
    """`secret` encrypted and authenticated under the KEK, as text for a database column."""
    return fernet(kek).encrypt(secret).decode()


def unseal(kek: str, token: str) -> bytes:
    try:
        return fernet(kek).decrypt(token.encode())
    except InvalidToken as exc:
        raise KekError("a stored secret cannot be read with this KEY_ENCRYPTION_KEY") from exc


class Sealer:
    """`seal`/`unseal` under one KEK, to hand to code that must not know where keys come from
    (services find it in `session.info`; see courseware.services.outbox)."""

    def __init__(self, kek: str) -> None:
        self._fernet = fernet(kek)

    def seal(self, secret: bytes) -> str:
        return self._fernet.encrypt(secret).decode()

    def unseal(self, token: str) -> bytes:
        try:
            return self._fernet.decrypt(token.encode())
        except InvalidToken as exc:
            raise KekError("a stored secret cannot be read with this KEY_ENCRYPTION_KEY") from exc
