"""Programs' API keys: made by staff (shown once) or the command line, Bearer on the API,
401 for a bad, expired or revoked key (never a silent anonymous answer), 403 without the
scope, per-key limits and a daily quota (429 with Retry-After), last use recorded."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from courseware.domain import clock
from courseware.models import ApiKey, User
from tests.conftest import Auth, make_app
from tests.factories import Factory


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def holder_code(factory: Factory) -> str:
    return factory.manual_certificate(factory.user(name="Holder Person")).code


def stored(app: Flask, key_id: int) -> ApiKey:
    with app.app_context(), app.extensions["courseware.db"].session() as s:
        key = s.get(ApiKey, key_id)
        assert key is not None
        s.expunge(key)
        return key


def test_a_verify_key_looks_certificates_up(client: FlaskClient, factory: Factory,
                                           holder_code: str) -> None:
    _key, plaintext = factory.api_key(factory.program(), "verify")
    response = client.get(f"/api/v1/certificates/{holder_code}", headers=bearer(plaintext))
    assert response.status_code == 200 and response.get_json()["holder"]["name"] == "Holder Person"
    batch = client.post("/api/v1/eligibility", json={"codes": [holder_code]},
                        headers=bearer(plaintext))
    assert batch.status_code == 200 and batch.get_json()["results"][0]["eligible"] is True


@pytest.mark.parametrize("path", ["/api/v1/certificates/{code}", "/api/v1/roster"])
def test_a_bad_key_is_refused_with_401_even_where_anonymous_calls_work(
        client: FlaskClient, holder_code: str, path: str) -> None:
    url = path.format(code=holder_code)
    for header in ("Bearer nope", "Bearer cwk_abcdefgh_" + "a" * 43, "Basic dXNlcjpwdw==",
                   "Bearer"):
        response = client.get(url, headers={"Authorization": header})
        assert response.status_code == 401, header
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert response.get_json()["error"]["code"] == "invalid_key"
    # without the header the anonymous route answers, and the keyed one asks for a key
    anonymous = client.get(url)
    assert anonymous.status_code == (200 if "certificates" in path else 401)
    if anonymous.status_code == 401:
        assert anonymous.get_json()["error"]["code"] == "missing_key"


def test_expired_and_revoked_keys_are_refused(app: Flask, client: FlaskClient,
                                              factory: Factory, holder_code: str) -> None:
    program = factory.program()
    staff = factory.program_staff(program)
    expiring, expiring_key = factory.api_key(program, "verify",
                                             expires_at=clock.utcnow() + timedelta(minutes=10))
    url = f"/api/v1/certificates/{holder_code}"
    assert client.get(url, headers=bearer(expiring_key)).status_code == 200
    staff_client = app.test_client()
    Auth(staff_client).login(staff)
    clock.freeze(clock.utcnow() + timedelta(minutes=10))
    response = client.get(url, headers=bearer(expiring_key))
    assert response.status_code == 401 and response.get_json()["error"]["code"] == "expired_key"
    assert "expired" in staff_client.get("/program/keys").get_data(as_text=True)
    clock.freeze(None)

    key, plaintext = factory.api_key(program, "verify", name="to revoke")
    assert staff_client.post(f"/program/keys/{key.id}/revoke").status_code == 302
    response = client.get(url, headers=bearer(plaintext))
    assert response.status_code == 401 and response.get_json()["error"]["code"] == "revoked_key"
    assert stored(app, key.id).revoked_by_id == staff.id
    page = staff_client.get("/program/keys").get_data(as_text=True)
    assert f"{key.prefix}" in page and "revoked" in page


def test_a_key_without_the_scope_gets_403(client: FlaskClient, factory: Factory,
                                          holder_code: str) -> None:
    program = factory.program()
    _k, roster_only = factory.api_key(program, "roster")
    _k, verify_only = factory.api_key(program, "verify")
    response = client.get(f"/api/v1/certificates/{holder_code}", headers=bearer(roster_only))
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "insufficient_scope"
    assert 'scope="verify"' in response.headers["WWW-Authenticate"]
    assert client.get("/api/v1/roster", headers=bearer(verify_only)).status_code == 403
    assert client.post("/api/v1/roster", json={"codes": [holder_code]},
                       headers=bearer(verify_only)).status_code == 403
    assert client.delete(f"/api/v1/roster/{holder_code}",
                         headers=bearer(verify_only)).status_code == 403


def test_last_use_is_recorded_at_most_once_a_minute(app: Flask, client: FlaskClient,
                                                     factory: Factory, frozen,  # type: ignore[no-untyped-def]
                                                     holder_code: str) -> None:
    key, plaintext = factory.api_key(factory.program(), "verify", "roster")
    assert stored(app, key.id).last_used_at is None
    first = clock.utcnow()
    client.get(f"/api/v1/certificates/{holder_code}", headers=bearer(plaintext))
    assert stored(app, key.id).last_used_at == first
    frozen.freeze(first + timedelta(seconds=59))
    client.get("/api/v1/roster", headers=bearer(plaintext))
    client.post("/api/v1/roster", json={"codes": [holder_code]}, headers=bearer(plaintext))
    assert stored(app, key.id).last_used_at == first
    later = first + timedelta(minutes=1)
    frozen.freeze(later)
    client.post("/api/v1/roster", json={"codes": [holder_code]}, headers=bearer(plaintext))
    assert stored(app, key.id).last_used_at == later


def limited(database_url: str, tmp_path: Path, **limits: str) -> Flask:
    return make_app(database_url, tmp_path, RATELIMIT_ENABLED=True, VERIFY_LIMIT="2 per minute",
                    **limits)


def test_keys_have_limits_of_their_own(database_url: str, tmp_path: Path) -> None:
    app = limited(database_url, tmp_path, API_KEY_RATE_LIMIT="3 per minute")
    factory = Factory(app)
    code = factory.manual_certificate(factory.user()).code
    program = factory.program()
    _a, key_a = factory.api_key(program, "verify")
    _b, key_b = factory.api_key(program, "verify")
    client = app.test_client()
    url = f"/api/v1/certificates/{code}"
    assert [client.get(url, headers=bearer(key_a)).status_code for _ in range(3)] == [200] * 3
    refused = client.get(url, headers=bearer(key_a))
    assert refused.status_code == 429
    assert refused.get_json()["error"]["code"] == "rate_limited"
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    # the same address, anonymously or with another key, still has its own budgets
    assert client.get(url).status_code == 200
    assert client.get(url, headers=bearer(key_b)).status_code == 200
    # the anonymous budget is the per-IP one, untouched by keyed calls
    assert client.get(url).status_code == 200
    assert client.get(url).status_code == 429


def test_a_key_has_a_daily_quota(database_url: str, tmp_path: Path) -> None:
    app = limited(database_url, tmp_path, API_KEY_DAILY_QUOTA="3 per day")
    factory = Factory(app)
    code = factory.manual_certificate(factory.user()).code
    _key, key = factory.api_key(factory.program(), "verify", "roster")
    client = app.test_client()
    calls = [client.get(f"/api/v1/certificates/{code}", headers=bearer(key)),
             client.post("/api/v1/eligibility", json={"codes": [code]}, headers=bearer(key)),
             client.get("/api/v1/roster", headers=bearer(key)),
             client.post("/api/v1/roster", json={"codes": [code]}, headers=bearer(key))]
    assert [c.status_code for c in calls] == [200, 200, 200, 429]
    assert int(calls[-1].headers["Retry-After"]) > 23 * 3600
    assert calls[-1].get_json()["error"]["code"] == "rate_limited"


def test_trying_keys_draws_on_the_per_ip_budget(database_url: str, tmp_path: Path) -> None:
    """A made-up or revoked key is not a budget of its own: guessing keys, on any API route,
    costs what guessing codes costs, and the program's real key keeps its own budget."""
    app = limited(database_url, tmp_path)
    factory = Factory(app)
    revoked_row, revoked = factory.api_key(factory.program(), "roster")
    with factory.session() as s:
        held = s.get(ApiKey, revoked_row.id)
        assert held is not None
        held.revoked_at = clock.utcnow()
    _row, good = factory.api_key(factory.program(), "roster")
    client = app.test_client()
    guesses = [f"cwk_{n:08d}_{'x' * 43}" for n in range(2)]
    answers = [client.get("/api/v1/roster", headers=bearer(k)).status_code
               for k in (*guesses, revoked)]
    assert answers == [401, 401, 429]
    assert client.get("/api/v1/webhooks").status_code == 429  # no key at all: the same budget
    assert client.get("/api/v1/roster", headers=bearer(good)).status_code == 200


def test_staff_make_a_key_shown_once_and_it_works(app: Flask, client: FlaskClient,
                                                   program: User, holder_code: str) -> None:
    Auth(client).login(program)
    form = client.get("/program/keys").get_data(as_text=True)
    assert 'name="scopes"' in form and "No keys yet" in form
    response = client.post("/program/keys", data={"name": "CRM sync",
                                                  "scopes": ["verify", "roster"]})
    assert response.status_code == 201
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    plaintext = re.search(r"cwk_[a-z0-9]{8}_[A-Za-z0-9_-]{43}",
                          response.get_data(as_text=True))
    assert plaintext is not None
    key = plaintext.group(0)
    listing = client.get("/program/keys").get_data(as_text=True)
    assert key[:12] in listing and key not in listing and "roster verify" in listing
    api = app.test_client()
    assert api.get(f"/api/v1/certificates/{holder_code}", headers=bearer(key)).status_code == 200
    assert api.get("/api/v1/roster", headers=bearer(key)).status_code == 200
    altered = key[:-1] + ("A" if key[-1] != "A" else "B")
    assert api.get("/api/v1/certificates/x", headers=bearer(altered)).status_code == 401


@pytest.mark.parametrize(("data", "message"), [
    ({"name": "No scope"}, "Choose at least one scope"),
    ({"name": "Odd", "scopes": ["admin"]}, "Unknown scope admin"),
    ({"name": "", "scopes": ["verify"]}, "Name the key"),
    ({"name": "Past", "scopes": ["verify"], "expires_on": "2020-01-01"}, "after today"),
])
def test_a_key_form_with_a_problem_says_so_and_keeps_what_was_typed(
        client: FlaskClient, program: User, data: dict[str, object], message: str) -> None:
    Auth(client).login(program)
    response = client.post("/program/keys", data=data)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page and "cwk_" not in page
    if data["name"]:
        assert f'value="{data["name"]}"' in page


def test_the_command_line_prints_a_working_key_alone_on_its_last_line(
        app: Flask, factory: Factory, holder_code: str) -> None:
    factory.program("Riverside Mentors")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["programs", "key", "Riverside Mentors", "--scope", "verify,roster",
                                 "--name", "nightly", "--expires-days", "30"])
    assert result.exit_code == 0, result.output
    key = result.output.strip().splitlines()[-1]
    assert re.fullmatch(r"cwk_[a-z0-9]{8}_[A-Za-z0-9_-]{43}", key)
    assert "roster verify" in result.output
    client = app.test_client()
    assert client.get(f"/api/v1/certificates/{holder_code}", headers=bearer(key)).status_code == 200
    assert client.get("/api/v1/roster", headers=bearer(key)).status_code == 200
    for args, message in ((["programs", "key", "Nobody", "--scope", "verify"], "no program"),
                          (["programs", "key", "Riverside Mentors", "--scope", "admin"],
                           "Unknown scope")):
        failed = runner.invoke(args=args)
        assert failed.exit_code != 0 and message in failed.output
