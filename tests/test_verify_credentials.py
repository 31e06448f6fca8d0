"""/verify with a pasted or uploaded credential: each check in plain words, nothing stored,
nothing fetched, and never a server error whatever is sent."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import re
import socket
from datetime import timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from courseware.domain import clock
from courseware.models import AuditEvent
from tests.factories import Factory
from tests.hostile import JWT_VALUES, VALUES

VALID = "Valid: this credential was issued here"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def words(response: Any) -> str:
    """The page's text, without markup, in single spaces."""
    html = response.get_data(as_text=True)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&#39;", "'")


def rows(response: Any) -> dict[str, str]:
    """Check -> outcome, from the table of checks."""
    html = response.get_data(as_text=True)
    found = re.findall(r'<th scope="row">(\w+)</th><td class="outcome-(\w+)">', html)
    return dict(found)


@pytest.fixture
def issued(app: Flask, factory: Factory) -> tuple[str, str]:
    cert = factory.manual_certificate(factory.user(name="Mo Verified"))
    token = app.test_client().get(f"/certificates/{cert.code}/credential.jwt").get_data(
        as_text=True)
    return cert.code, token


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Checking a credential fetches nothing: any attempt to connect fails the request."""
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the verifier tried to reach the network")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)


def test_a_pasted_credential_is_explained_check_by_check(client: FlaskClient,
                                                         issued: tuple[str, str],
                                                         no_network: None) -> None:
    code, token = issued
    response = client.post("/verify", data={"credential": f"\n  {token}\n"})
    assert response.status_code == 200
    assert rows(response) == {"Format": "passed", "Key": "passed", "Signature": "passed",
                              "Issuer": "passed", "Status": "passed", "Validity": "passed"}
    text = words(response)
    assert VALID in text and "Mo Verified" in text and "Certified Peer Mentor" in text
    assert "Not revoked and not suspended" in text and "RS256" in text
    assert f"http://localhost/verify/{code}" in text


def test_an_uploaded_file_is_checked_the_same_way(client: FlaskClient,
                                                  issued: tuple[str, str]) -> None:
    _code, token = issued
    response = client.post("/verify", data={"file": (io.BytesIO(token.encode()), "c.jwt")},
                           content_type="multipart/form-data")
    assert response.status_code == 200 and VALID in words(response)


def test_nothing_sent_is_stored(app: Flask, client: FlaskClient, issued: tuple[str, str],
                                factory: Factory) -> None:
    _code, token = issued
    with factory.session() as s:
        before = s.scalar(select(func.count()).select_from(AuditEvent))
    client.post("/verify", data={"credential": token})
    with factory.session() as s:
        assert s.scalar(select(func.count()).select_from(AuditEvent)) == before
    signature = token.split(".")[2]
    database = app.config["DATABASE_URL"].removeprefix("sqlite:///")
    if app.config["DATABASE_URL"].startswith("sqlite"):
        with open(database, "rb") as handle:
            assert signature.encode() not in handle.read()


@pytest.mark.parametrize(("change", "row", "said"), [
    ("suspend", "Status", "Suspended: the issuer has put this credential on hold"),
    ("revoke", "Status", "Revoked: the issuer withdrew this credential for good"),
])
def test_a_revoked_or_suspended_credential_says_so(client: FlaskClient, runner,  # type: ignore[no-untyped-def]
                                                   issued: tuple[str, str], change: str,
                                                   row: str, said: str) -> None:
    code, token = issued
    runner.invoke(args=["certificates", change, code, "--reason", "Complaint file 12",
                        "--public-reason", "conduct_review"])
    response = client.post("/verify", data={"credential": token})
    assert rows(response)[row] == "failed" and rows(response)["Signature"] == "passed"
    text = words(response)
    assert said in text and "Conduct review" in text and "Not valid" in text
    assert "Complaint file 12" not in text  # the internal note is never published


def test_an_expired_credential_says_when_it_ended(client: FlaskClient, factory: Factory,
                                                  issued: tuple[str, str]) -> None:
    code, token = issued
    clock.freeze(clock.utcnow() + timedelta(days=800))
    response = client.post("/verify", data={"credential": token})
    assert rows(response)["Validity"] == "failed" and "Expired: it was valid from" in words(
        response)


def test_an_altered_credential_says_what_failed(client: FlaskClient,
                                                issued: tuple[str, str]) -> None:
    _code, token = issued
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["credentialSubject"]["identifier"][1]["identityHash"] = "Mallory"
    altered = f"{header}.{b64(json.dumps(claims).encode())}.{signature}"
    response = client.post("/verify", data={"credential": altered})
    assert rows(response)["Signature"] == "failed"
    assert "The signature does not match" in words(response)
    assert "Mallory" not in words(response)  # what an altered credential says is not shown


def _foreign(now_claims: dict[str, Any], kid: str) -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.encode(now_claims, key, algorithm="RS256", headers={"kid": kid})


def test_a_foreign_issuer_is_reported_and_nothing_is_fetched(
        client: FlaskClient, issued: tuple[str, str], no_network: None) -> None:
    _code, token = issued
    claims = jwt.decode(token, options={"verify_signature": False})
    claims["iss"] = claims["issuer"]["id"] = "https://other.example/issuer"
    response = client.post("/verify", data={"credential": _foreign(
        claims, "https://other.example/.well-known/keys/k1")})
    assert response.status_code == 200
    assert rows(response) == {"Format": "passed", "Key": "unknown", "Issuer": "unknown"}
    text = words(response)
    assert "https://other.example/.well-known/keys/k1" in text and "nothing was fetched" in text
    assert "Not verified here" in text and "https://other.example/issuer" in text


def test_our_kid_with_another_key_or_an_unknown_key_fails(client: FlaskClient,
                                                          issued: tuple[str, str]) -> None:
    _code, token = issued
    claims = jwt.decode(token, options={"verify_signature": False})
    kid = jwt.get_unverified_header(token)["kid"]
    wrong_key = client.post("/verify", data={"credential": _foreign(claims, kid)})
    assert rows(wrong_key)["Signature"] == "failed"
    unknown = client.post("/verify", data={"credential": _foreign(
        claims, kid.rsplit("/", 1)[0] + "/NotAKeyOfOurs")})
    assert rows(unknown)["Key"] == "failed" and "did not sign it" in words(unknown)


def test_an_hs256_token_keyed_with_our_public_key_is_refused(client: FlaskClient,
                                                             issued: tuple[str, str]) -> None:
    _code, token = issued
    kid = jwt.get_unverified_header(token)["kid"]
    jwk = client.get(kid.removeprefix("http://localhost")).get_json()
    pem = jwt.PyJWK(jwk).key.public_bytes(serialization.Encoding.PEM,
                                          serialization.PublicFormat.SubjectPublicKeyInfo)
    header = b64(json.dumps({"alg": "HS256", "kid": kid, "typ": "JWT"}).encode())
    payload = token.split(".")[1]
    mac = b64(hmac.new(pem, f"{header}.{payload}".encode(), hashlib.sha256).digest())
    response = client.post("/verify", data={"credential": f"{header}.{payload}.{mac}"})
    assert rows(response) == {"Format": "failed"}
    assert "HS256" in words(response) and "shared-secret" in words(response)


def test_bad_requests_keep_the_form_and_say_what_to_do(client: FlaskClient,
                                                       issued: tuple[str, str]) -> None:
    _code, token = issued
    empty = client.post("/verify", data={"credential": "  "})
    assert empty.status_code == 422 and "Paste a credential" in words(empty)
    both = client.post("/verify", data={"credential": token,
                                        "file": (io.BytesIO(token.encode()), "c.jwt")},
                       content_type="multipart/form-data")
    assert both.status_code == 422 and "not both" in words(both)
    assert token in both.get_data(as_text=True)  # what was pasted is kept
    big = client.post("/verify", data={"credential": "a" * (64 * 1024 + 1)})
    assert big.status_code == 413 and "larger than 64 KiB" in words(big)
    big_file = client.post("/verify", data={"file": (io.BytesIO(b"a" * (64 * 1024 + 1)),
                                                     "big.jwt")},
                           content_type="multipart/form-data")
    assert big_file.status_code == 413 and "larger than 64 KiB" in words(big_file)


def test_a_hostile_corpus_never_causes_a_server_error(app: Flask, client: FlaskClient,
                                                      issued: tuple[str, str],
                                                      no_network: None) -> None:
    """Truncated, unsigned, oversized, forged, foreign and algorithm-confused tokens, and
    every hostile value: each answered in plain words with a 4xx or a report, never a 5xx, and
    none of them reported valid."""
    _code, token = issued
    header, payload, signature = token.split(".")
    claims = jwt.decode(token, options={"verify_signature": False})
    kid = jwt.get_unverified_header(token)["kid"]
    none_header = b64(json.dumps({"alg": "none", "kid": kid}).encode())
    corpus: list[str] = [
        *(token[:cut] for cut in range(0, len(token), len(token) // 40)),  # truncated
        f"{none_header}.{payload}.", f"{none_header}.{payload}",            # alg: none
        token + "A" * (64 * 1024),                                          # oversized
        _foreign(claims, kid),                                              # wrong key
        _foreign({**claims, "iss": "https://evil.example"}, "https://evil.example/k"),
        f"{header}.{payload}.{signature[::-1]}", f"{header}.{payload[::-1]}.{signature}",
        f"{header}.{payload}", f"{header}..{signature}", token.replace(".", ". "),
        *JWT_VALUES, *VALUES,
    ]
    for value in corpus:
        for response in (
            client.post("/verify", data={"credential": value}),
            client.post("/verify", data={"file": (io.BytesIO(value.encode("utf-8", "replace")),
                                                  "x.jwt")},
                        content_type="multipart/form-data"),
        ):
            assert response.status_code < 500, value[:60]
            assert response.status_code in (200, 400, 413, 422), (response.status_code,
                                                                 value[:60])
            assert VALID not in words(response), value[:60]
    for raw in (b"\xff\xfe\x00\x01", b"\x89PNG\r\n" + bytes(range(256)), token.encode("utf-16")):
        response = client.post("/verify", data={"file": (io.BytesIO(raw), "odd.jwt")},
                               content_type="multipart/form-data")
        assert response.status_code in (200, 413, 422) and VALID not in words(response)


def test_the_cli_says_it_could_not_check_another_issuers_credential(
        runner, issued: tuple[str, str], tmp_path, no_network: None) -> None:  # type: ignore[no-untyped-def]
    _code, token = issued
    claims = jwt.decode(token, options={"verify_signature": False})
    saved = tmp_path / "foreign.jwt"
    saved.write_text(_foreign({**claims, "iss": "https://other.example/issuer"},
                              "https://other.example/k"))
    result = runner.invoke(args=["certificates", "check-credential", str(saved)])
    assert result.exit_code == 1 and "not checked" in result.output
    assert "NOT VERIFIED" in result.output
    big = tmp_path / "big.jwt"
    big.write_text("a" * (70 * 1024))
    assert runner.invoke(args=["certificates", "check-credential", str(big)]).exit_code == 1


def _signed_by_us(app: Flask, credential: dict[str, Any]) -> str:
    """A document signed with this site's active key, as only the site itself could."""
    from courseware.domain.vcjwt import sign_credential
    from courseware.services import keys
    from courseware.web.signing import KekSealer

    with app.app_context(), app.extensions["courseware.db"].session() as s:
        signer = keys.active_signer(s, KekSealer(app.config["KEY_ENCRYPTION_KEY"]))
        assert signer is not None
        kid = keys.kid_url("http://localhost", signer.thumbprint)
        return sign_credential(credential, signer.private_key, kid=kid, now=clock.utcnow())


@pytest.mark.parametrize(("status", "outcome", "said"), [
    (None, "unknown", "carries no status list entry"),
    ({"id": "https://elsewhere.example/s#1", "type": "BitstringStatusListEntry",
      "statusPurpose": "revocation", "statusListIndex": "1",
      "statusListCredential": "https://elsewhere.example/s"}, "unknown", "not fetched"),
    ({"id": "x", "type": "BitstringStatusListEntry", "statusPurpose": "revocation",
      "statusListIndex": "7", "statusListCredential": "http://localhost/status/revocation"},
     "failed", "does not belong to this credential"),
    ([{"id": "x", "type": "BitstringStatusListEntry", "statusPurpose": "suspension",
       "statusListIndex": "-1", "statusListCredential": "http://localhost/status/suspension"}],
     "failed", "is malformed"),
])
def test_a_status_entry_that_cannot_be_trusted_is_not_passed(
        app: Flask, client: FlaskClient, issued: tuple[str, str], status: object,
        outcome: str, said: str) -> None:
    _code, token = issued
    credential = {k: v for k, v in jwt.decode(token, options={"verify_signature": False}).items()
                  if k not in ("iss", "jti", "sub", "nbf", "exp", "iat")}
    if status is None:
        del credential["credentialStatus"]
    else:
        credential["credentialStatus"] = status
    response = client.post("/verify", data={"credential": _signed_by_us(app, credential)})
    assert rows(response)["Signature"] == "passed"
    assert rows(response)["Status"] == outcome and said in words(response)
    assert VALID not in words(response)


def test_a_credential_naming_another_issuer_under_our_key_fails(
        app: Flask, client: FlaskClient, issued: tuple[str, str]) -> None:
    _code, token = issued
    credential = {k: v for k, v in jwt.decode(token, options={"verify_signature": False}).items()
                  if k not in ("iss", "jti", "sub", "nbf", "exp", "iat")}
    credential["issuer"] = {**credential["issuer"], "id": "https://impostor.example/issuer"}
    response = client.post("/verify", data={"credential": _signed_by_us(app, credential)})
    assert rows(response)["Issuer"] == "failed" and "naming another issuer" in words(response)


def test_the_cli_checks_with_a_given_key_set(runner, app: Flask, client: FlaskClient,  # type: ignore[no-untyped-def]
                                             issued: tuple[str, str], tmp_path) -> None:
    _code, token = issued
    saved, keyset = tmp_path / "c.jwt", tmp_path / "jwks.json"
    saved.write_text(token)
    keyset.write_text(json.dumps({"keys": []}))
    missing = runner.invoke(args=["certificates", "check-credential", str(saved), "--jwks",
                                  str(keyset)])
    assert missing.exit_code == 1 and "is not in the key set given" in missing.output
    keyset.write_text("not json")
    broken = runner.invoke(args=["certificates", "check-credential", str(saved), "--jwks",
                                 str(keyset)])
    assert broken.exit_code != 0 and "not valid JSON" in broken.output
    claims = jwt.decode(token, options={"verify_signature": False})
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    other = jwt.encode({**claims, "iss": "https://other.example/issuer",
                        "issuer": {**claims["issuer"], "id": "https://other.example/issuer"}},
                       key, algorithm="RS256", headers={"kid": "https://other.example/k"})
    saved.write_text(other)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    keyset.write_text(json.dumps({"keys": [{**jwk, "kid": "https://other.example/k"}]}))
    foreign = runner.invoke(args=["certificates", "check-credential", str(saved), "--jwks",
                                  str(keyset)])
    assert foreign.exit_code == 0, foreign.output
    assert "signature valid, but not every check could be made here" in foreign.output
    assert "Status: not checked" in foreign.output
