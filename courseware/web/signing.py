"""The issuer for this request: its address and name, its keys (sealed under the KEK)."""

from __future__ import annotations

from flask import current_app

from courseware.domain import clock
from courseware.infra import kek
from courseware.services import keys
from courseware.services.credentials import Issuer
from courseware.web import db


class KekSealer:
    """Seals secrets for the database under the KEY_ENCRYPTION_KEY (courseware.infra.kek)."""

    def __init__(self, key: str) -> None:
        self._key = key

    def seal(self, secret: bytes) -> str:
        return kek.seal(self._key, secret)

    def unseal(self, token: str) -> bytes:
        return kek.unseal(self._key, token)


def sealer() -> KekSealer:
    return KekSealer(current_app.config["KEY_ENCRYPTION_KEY"])


def issuer() -> Issuer:
    return Issuer(base_url=current_app.config["BASE_URL"], name=current_app.config["ISSUER_NAME"])


def signer() -> keys.Signer:
    """The active signing key; the first one is made on first need, committed on its own.

    Its own sessions, not the request's: on SQLite a read transaction keeps the snapshot of its
    first read, so the request would not see a key committed after it started."""
    database = db.database()
    with database.session(write=False) as s:
        found = keys.active_signer(s, sealer())
    if found is not None:
        return found
    with database.session() as s:
        made = keys.ensure_signer(s, sealer(), clock.utcnow())
        s.commit()
    return made
