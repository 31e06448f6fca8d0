"""Second factors: staff must enrol one before staff pages; TOTP with recovery codes; admin reset.

Passkeys are driven in Chromium with a virtual authenticator (tests/e2e/test_second_factor.py);
here, everything else, over HTTP.
"""

from __future__ import annotations

import html
import re
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from courseware.domain import clock
from courseware.infra.kek import unseal
from courseware.models import AuditEvent, RecoveryCode, TotpSecret, User
from tests.conftest import PASSWORD, Auth, UserFactory, make_app
from tests.test_auth import logged_in

ENROL = "/account/second-factor"


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Flask:
    """The default: second factor required for staff."""
    return make_app(database_url, tmp_path, SECOND_FACTOR_REQUIRED_FOR_STAFF=True)


def text(response: Any) -> str:
    return html.unescape(response.get_data(as_text=True))


def path(response: Any) -> str:
    assert response.status_code == 302, response.status_code
    return urlsplit(response.headers["Location"]).path


def enrol_totp(client: FlaskClient) -> tuple[str, list[str]]:
    """Set up an authenticator app through the pages; (secret, recovery codes)."""
    page = text(client.get(f"{ENROL}/app"))
    match = re.search(r'<code class="hash">([A-Z2-7 ]+)</code>', page)
    assert match, page[:2000]
    secret = match.group(1).replace(" ", "")
    assert "<svg" in page and "QR code to scan with your authenticator app" in page
    response = client.post(f"{ENROL}/app",
                           data={"code": pyotp.TOTP(secret).at(clock.utcnow())})
    assert response.status_code == 200, re.findall(r"problem.*?</ul>", text(response), re.S)
    codes = re.findall(r"<li><code>([a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4})</code>",
                       response.get_data(as_text=True))
    return secret, codes


def code_after(secret: str, step: int) -> str:
    """The code for `step` 30-second steps from now (a new one, never used yet)."""
    return pyotp.TOTP(secret).at(clock.utcnow() + timedelta(seconds=30 * step))


def events(app: Flask, action: str) -> list[AuditEvent]:
    with app.app_context(), app.extensions["courseware.db"].session(write=False) as s:
        found = list(s.scalars(select(AuditEvent).where(AuditEvent.action == action)))
        s.expunge_all()
        return found


@pytest.mark.parametrize("role", ["trainer", "admin"])
def test_staff_enrol_before_any_staff_page(app: Flask, make_user: UserFactory,
                                           role: str) -> None:
    user = make_user(role)
    client = app.test_client()
    assert path(Auth(client).login(user)) == ENROL
    staff_pages = [rule.rule for rule in app.url_map.iter_rules()
                   if rule.endpoint.split(".")[0] in ("grade", "admin")
                   and "GET" in rule.methods and not rule.arguments]
    assert "/grade/" in staff_pages and "/admin/" in staff_pages
    for url in staff_pages:
        response = client.get(url)
        assert response.status_code == 302 and path(response) == ENROL, url
    assert "Staff accounts need a second factor" in text(client.get(ENROL))
    assert client.get("/").status_code == 200  # the rest of the site stays open
    enrol_totp(client)
    assert client.get("/grade/").status_code == 200
    if role == "admin":
        assert client.get("/admin/").status_code == 200


def test_learners_are_not_asked_but_may_enrol(app: Flask, learner: User) -> None:
    client = app.test_client()
    assert path(Auth(client).login(learner)) == "/"
    secret, codes = enrol_totp(client)
    assert len(codes) == 10
    Auth(client).logout()
    assert path(Auth(client).login(learner)) == "/login/verify"
    assert path(client.post("/login/verify", data={"code": code_after(secret, 1)})) == "/"
    assert logged_in(client)


def test_the_secret_is_sealed_and_recovery_codes_hashed(app: Flask, trainer: User) -> None:
    client = app.test_client()
    Auth(client).login(trainer)
    secret, codes = enrol_totp(client)
    with app.app_context(), app.extensions["courseware.db"].session(write=False) as s:
        stored = s.get(TotpSecret, trainer.id)
        assert stored is not None and secret not in stored.sealed_secret
        assert unseal(app.config["KEY_ENCRYPTION_KEY"], stored.sealed_secret).decode() == secret
        hashes = s.scalars(select(RecoveryCode.code_hash)).all()
    assert len(hashes) == 10 and not set(codes) & set(hashes)
    assert not any(code.replace("-", "") in h for code in codes for h in hashes)
    [event] = events(app, "second_factor.enrol")
    assert event.actor_id == trainer.id and event.details == {"kind": "totp"}


def test_a_wrong_enrolment_code_is_refused_and_the_qr_stays(app: Flask, trainer: User) -> None:
    client = app.test_client()
    Auth(client).login(trainer)
    first = re.search(r'<code class="hash">([A-Z2-7 ]+)</code>', text(client.get(f"{ENROL}/app")))
    response = client.post(f"{ENROL}/app", data={"code": "000000"})
    assert response.status_code == 422 and "That code does not match" in text(response)
    again = re.search(r'<code class="hash">([A-Z2-7 ]+)</code>', text(response))
    assert first and again and first.group(1) == again.group(1)  # same key: rescan not needed


def test_login_asks_for_the_code_and_accepts_each_code_once(app: Flask, trainer: User) -> None:
    client = app.test_client()
    Auth(client).login(trainer)
    secret, _codes = enrol_totp(client)
    Auth(client).logout()
    response = Auth(client).login(trainer)
    assert path(response) == "/login/verify"
    assert not logged_in(client)  # the password alone logs nobody in
    assert client.get("/grade/").status_code == 302
    page = text(client.get("/login/verify"))
    assert "Use your authenticator app" in page and "Use a passkey" not in page
    wrong = client.post("/login/verify", data={"code": "123456"})
    assert wrong.status_code == 422 and "That code is not right" in text(wrong)
    code = code_after(secret, 1)
    assert path(client.post("/login/verify", data={"code": code})) == "/"
    assert client.get("/grade/").status_code == 200
    # the same code again, from another client that knows the password: refused
    thief = app.test_client()
    Auth(thief).login(trainer)
    replay = thief.post("/login/verify", data={"code": code})
    assert replay.status_code == 422 and not logged_in(thief)
    assert [e.details["method"] for e in events(app, "login.success")][-1] == "totp"
    assert len(events(app, "login.second_factor_failed")) == 2


def test_a_recovery_code_works_once(app: Flask, trainer: User) -> None:
    client = app.test_client()
    Auth(client).login(trainer)
    _secret, codes = enrol_totp(client)
    Auth(client).logout()
    Auth(client).login(trainer)
    response = client.post("/login/verify", data={"recovery_code": codes[3].upper()})
    assert path(response) == "/"
    assert "You used a recovery code" in text(client.get("/"))
    assert "9 of 10 unused recovery codes left" in text(client.get(ENROL))
    Auth(client).logout()
    Auth(client).login(trainer)
    again = client.post("/login/verify", data={"recovery_code": codes[3]})
    assert again.status_code == 422 and not logged_in(client)


def test_new_recovery_codes_replace_the_old(app: Flask, learner: User) -> None:
    client = app.test_client()
    Auth(client).login(learner)
    _secret, old = enrol_totp(client)
    assert "Make 10 new recovery codes" in text(client.get(f"{ENROL}/recovery-codes"))
    response = client.post(f"{ENROL}/recovery-codes")
    new = re.findall(r"<code>([a-z2-7-]{19})</code>", response.get_data(as_text=True))
    assert len(new) == 10 and not set(new) & set(old)
    Auth(client).logout()
    Auth(client).login(learner)
    assert client.post("/login/verify", data={"recovery_code": old[0]}).status_code == 422
    assert path(client.post("/login/verify", data={"recovery_code": new[0]})) == "/"


def test_the_second_step_waits_five_minutes(app: Flask, learner: User, frozen: Any) -> None:
    client = app.test_client()
    Auth(client).login(learner)
    secret, _ = enrol_totp(client)
    Auth(client).logout()
    start = clock.utcnow()
    Auth(client).login(learner)
    clock.freeze(start + timedelta(minutes=6))
    response = client.post("/login/verify", data={"code": code_after(secret, 1)})
    assert path(response) == "/login"
    assert not logged_in(client)


def test_wrong_codes_are_throttled_like_passwords(app: Flask, learner: User,
                                                  frozen: Any) -> None:
    client = app.test_client()
    Auth(client).login(learner)
    secret, _ = enrol_totp(client)
    Auth(client).logout()
    Auth(client).login(learner)
    for _ in range(app.config["LOGIN_FREE_FAILURES"]):
        client.post("/login/verify", data={"code": "000000"})
    response = client.post("/login/verify", data={"code": code_after(secret, 1)})
    assert response.status_code == 422 and "Too many wrong codes" in text(response)


def test_removing_the_app_turns_it_off(app: Flask, learner: User) -> None:
    client = app.test_client()
    Auth(client).login(learner)
    enrol_totp(client)
    assert path(client.post(f"{ENROL}/app/remove")) == ENROL
    Auth(client).logout()
    assert path(Auth(client).login(learner)) == "/"
    assert events(app, "second_factor.remove")[0].details == {"kind": "totp"}


def test_an_admin_resets_a_second_factor_audited(app: Flask, make_user: UserFactory) -> None:
    admin, trainer = make_user("admin"), make_user("trainer")
    admin_client, trainer_client = app.test_client(), app.test_client()
    for client, user in ((admin_client, admin), (trainer_client, trainer)):
        Auth(client).login(user)
        enrol_totp(client)
    assert logged_in(trainer_client)
    refused = admin_client.post(f"/admin/users/{trainer.id}/second-factor/reset",
                                data={"reason": ""}, follow_redirects=True)
    assert "Give a reason" in text(refused)
    response = admin_client.post(f"/admin/users/{trainer.id}/second-factor/reset",
                                 data={"reason": "Lost phone; identity checked by video"})
    assert path(response) == "/admin/users"
    assert not logged_in(trainer_client)  # their sessions ended
    [event] = events(app, "second_factor.reset")
    assert event.actor_id == admin.id and event.target_id == str(trainer.id)
    assert event.reason == "Lost phone; identity checked by video"
    # they log in with the password and must enrol again
    assert path(Auth(trainer_client).login(trainer)) == ENROL
    own = admin_client.post(f"/admin/users/{admin.id}/second-factor/reset",
                            data={"reason": "x"}, follow_redirects=True)
    assert "cannot reset your own" in text(own)


def test_the_command_line_resets_too(app: Flask, trainer: User) -> None:
    client = app.test_client()
    Auth(client).login(trainer)
    enrol_totp(client)
    result = app.test_cli_runner().invoke(args=["users", "reset-second-factor", trainer.email,
                                                "--reason", "Only admin locked out"])
    assert result.exit_code == 0, result.output
    assert events(app, "second_factor.reset")[0].actor_label == "command line"
    missing = app.test_cli_runner().invoke(args=["users", "reset-second-factor",
                                                 "nobody@example.org", "--reason", "x"])
    assert missing.exit_code != 0


def test_passkey_options_name_this_site(app: Flask, learner: User) -> None:
    client = app.test_client()
    Auth(client).login(learner)
    options = client.post(f"{ENROL}/passkeys/options").get_json()
    assert options["rp"]["id"] == "localhost" and options["challenge"]
    assert options["user"]["name"] == learner.email
    bad = client.post(f"{ENROL}/passkeys", json={"credential": {"id": "x"}, "name": "Mine"})
    assert bad.status_code == 400
    assert "could not be registered" in bad.get_json()["error"]["message"]
    assert client.post(f"{ENROL}/passkeys", json={"credential": {}}).status_code == 400


def test_without_the_setting_staff_are_not_forced(database_url: str, tmp_path: Path,
                                                  trainer: User) -> None:
    relaxed = make_app(database_url, tmp_path / "relaxed",
                       SECOND_FACTOR_REQUIRED_FOR_STAFF=False)
    client = relaxed.test_client()
    assert path(Auth(client).login(trainer, PASSWORD)) == "/"
    assert client.get("/grade/").status_code == 200
