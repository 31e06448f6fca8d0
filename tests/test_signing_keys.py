"""Signing keys in the database: made once, sealed, rotated, listed, exported and imported."""

from __future__ import annotations

import json
import stat
import threading
from pathlib import Path

import jwt
import pytest
from flask import Flask
from sqlalchemy import delete, func, select

from courseware.domain import clock
from courseware.domain.vcjwt import verify_credential
from courseware.infra.kek import new_kek, unseal
from courseware.models import SigningKey, User
from courseware.services import keys
from courseware.web.signing import KekSealer
from tests.conftest import make_app
from tests.factories import Factory


def _credential(app: Flask, code: str) -> str:
    response = app.test_client().get(f"/certificates/{code}/credential.jwt")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _dereference(app: Flask, token: str) -> dict[str, str]:
    """What a verifier does: fetch the kid URL and read the one JWK it answers."""
    kid = jwt.get_unverified_header(token)["kid"]
    assert kid.startswith("http://localhost/.well-known/keys/")
    response = app.test_client().get(kid.removeprefix("http://localhost"))
    assert response.status_code == 200 and response.is_json
    jwk: dict[str, str] = response.get_json()
    assert jwk["kid"] == kid and "d" not in jwk and "keys" not in jwk
    return jwk


def test_the_first_key_is_made_once_on_first_need(app: Flask, factory: Factory) -> None:
    with factory.session() as s:
        assert keys.listing(s) == []
    jwks = app.test_client().get("/.well-known/jwks.json").get_json()
    assert len(jwks["keys"]) == 1
    cert = factory.manual_certificate(factory.user())
    token = _credential(app, cert.code)
    assert jwt.get_unverified_header(token)["kid"] == jwks["keys"][0]["kid"]
    with factory.session() as s:
        assert s.scalar(select(func.count()).select_from(SigningKey)) == 1
    assert not (Path(app.instance_path) / "keys").exists()  # no key files any more


def test_two_processes_needing_the_first_key_at_once_make_one(app: Flask) -> None:
    barrier = threading.Barrier(4)
    made: list[str] = []
    errors: list[BaseException] = []
    sealer = KekSealer(app.config["KEY_ENCRYPTION_KEY"])

    def need() -> None:
        try:
            barrier.wait(timeout=30)
            with app.app_context(), app.extensions["courseware.db"].session() as s:
                signer = keys.ensure_signer(s, sealer, clock.utcnow())
                s.commit()
                made.append(signer.thumbprint)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=need) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert len(made) == 4 and len(set(made)) == 1
    with app.app_context(), app.extensions["courseware.db"].session() as s:
        assert s.scalar(select(func.count()).select_from(SigningKey)) == 1


def test_private_keys_are_stored_sealed_never_in_plain_text(app: Flask, factory: Factory) -> None:
    app.test_client().get("/.well-known/jwks.json")
    with factory.session() as s:
        row = s.scalars(select(SigningKey)).one()
        sealed, public = row.private_key_sealed, row.public_jwk
    assert not sealed.startswith("-----BEGIN") and "PRIVATE" not in sealed
    der = unseal(app.config["KEY_ENCRYPTION_KEY"], sealed)
    assert der[:2] == b"\x30\x82" and der.hex() not in sealed  # PKCS#8 DER, only sealed
    assert set(public) == {"kty", "n", "e", "alg", "use"}


def test_rotating_twice_keeps_every_credential_verifying(app: Flask, factory: Factory,
                                                         runner) -> None:  # type: ignore[no-untyped-def]
    cert = factory.manual_certificate(factory.user())
    tokens = [_credential(app, cert.code)]
    for _ in range(2):
        result = runner.invoke(args=["keys", "rotate"])
        assert result.exit_code == 0, result.output
        assert "new active key" in result.output
        tokens.append(_credential(app, cert.code))
    kids = [jwt.get_unverified_header(t)["kid"] for t in tokens]
    assert len(set(kids)) == 3
    published = app.test_client().get("/.well-known/jwks.json").get_json()["keys"]
    assert [k["kid"] for k in published] == kids  # oldest first, every one still there
    for token in tokens:  # each verifies with the key its own kid URL answers, and nothing else
        assert verify_credential(token, _dereference(app, token), now=clock.utcnow()).kid in kids
        page = app.test_client().post("/verify", data={"credential": token})
        assert "Valid: this credential was issued here" in page.get_data(as_text=True)
    listed = runner.invoke(args=["keys", "list"])
    lines = listed.output.strip().splitlines()
    assert len(lines) == 3 and "ACTIVE" in lines[0] and kids[-1] in lines[0]
    assert all("ACTIVE" not in line for line in lines[1:])


def test_an_unknown_kid_url_is_not_found_as_json(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/.well-known/keys/no-such-key")
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"


def test_export_and_import_restore_every_key(app: Flask, factory: Factory, runner,
                                             tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cert = factory.manual_certificate(factory.user())
    old = _credential(app, cert.code)
    runner.invoke(args=["keys", "rotate"])
    new = _credential(app, cert.code)
    backup = tmp_path / "keys.json"
    exported = runner.invoke(args=["keys", "export", str(backup)])
    assert exported.exit_code == 0 and "exported 2 key(s)" in exported.output
    assert "KEY_ENCRYPTION_KEY" in exported.output
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    data = json.loads(backup.read_text())
    assert data["format"] == "courseware-signing-keys" and len(data["keys"]) == 2
    assert "BEGIN" not in backup.read_text()
    with factory.session() as s:  # a database restored without its keys
        s.execute(delete(SigningKey))
    assert runner.invoke(args=["keys", "list"]).output.startswith("no signing key yet")

    imported = runner.invoke(args=["keys", "import", str(backup)])
    assert imported.exit_code == 0, imported.output
    assert "imported 2 key(s); 0 already here" in imported.output
    assert jwt.get_unverified_header(new)["kid"].endswith(imported.output.split()[-1])
    for token in (old, new):
        verify_credential(token, _dereference(app, token), now=clock.utcnow())
    again = runner.invoke(args=["keys", "import", str(backup)])
    assert "imported 0 key(s); 2 already here" in again.output
    # the new key signs again after the restore
    assert jwt.get_unverified_header(_credential(app, cert.code))["kid"] == \
        jwt.get_unverified_header(new)["kid"]


def test_import_refuses_a_file_this_kek_cannot_open_or_that_was_altered(
        database_url: str, tmp_path: Path, app: Flask, runner) -> None:  # type: ignore[no-untyped-def]
    app.test_client().get("/.well-known/jwks.json")
    backup = tmp_path / "keys.json"
    runner.invoke(args=["keys", "export", str(backup)])
    other = make_app(database_url, tmp_path / "other", KEY_ENCRYPTION_KEY=new_kek())
    refused = other.test_cli_runner().invoke(args=["keys", "import", str(backup)])
    assert refused.exit_code != 0
    assert "cannot be read with this KEY_ENCRYPTION_KEY" in refused.output

    data = json.loads(backup.read_text())
    data["keys"][0]["thumbprint"] = "A" * 43
    backup.write_text(json.dumps(data))
    tampered = runner.invoke(args=["keys", "import", str(backup)])
    assert tampered.exit_code != 0 and "disagree" in tampered.output
    for bad in ("[]", "{}", '{"format": "courseware-signing-keys", "keys": [1]}', "not json"):
        backup.write_text(bad)
        result = runner.invoke(args=["keys", "import", str(backup)])
        assert result.exit_code != 0 and "Error" in result.output, bad
    with app.app_context(), app.extensions["courseware.db"].session() as s:
        assert s.scalar(select(func.count()).select_from(SigningKey)) == 1


def test_a_key_sealed_under_another_kek_cannot_sign(app: Flask) -> None:
    app.test_client().get("/.well-known/jwks.json")
    with app.app_context(), app.extensions["courseware.db"].session() as s:
        row = s.scalars(select(SigningKey)).one()
        keys._PRIVATE.pop(row.thumbprint)  # as in a fresh process
        with pytest.raises(keys.SigningKeyError, match="cannot be opened"):
            keys.active_signer(s, KekSealer(new_kek()))
        assert keys.active_signer(s, KekSealer(app.config["KEY_ENCRYPTION_KEY"])) is not None


def test_every_holder_has_a_stable_subject_id(factory: Factory) -> None:
    first, second = factory.user(), factory.user()
    assert first.subject_id.startswith("urn:uuid:") and len(first.subject_id) == 45
    assert first.subject_id != second.subject_id
    with factory.session() as s:
        assert s.get(User, first.id).subject_id == first.subject_id  # type: ignore[union-attr]
