"""Server-side sessions: logout ends a session everywhere, timeouts, the account page's list."""

from __future__ import annotations

import hashlib
import html
import re
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from courseware.domain import clock
from courseware.domain.devices import clean_user_agent, device_label
from courseware.models import AuditEvent, User, UserSession
from tests.conftest import Auth, UserFactory
from tests.test_auth import logged_in

COOKIE = "courseware_session"
FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
          "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1")


def copy_of(app: Flask, client: FlaskClient) -> FlaskClient:
    """Another client holding the same session cookie, as a thief would."""
    cookie = client.get_cookie(COOKIE)
    assert cookie is not None
    thief = app.test_client()
    thief.set_cookie(COOKIE, cookie.value)
    return thief


def rows(app: Flask, user: User) -> list[UserSession]:
    with app.app_context(), app.extensions["courseware.db"].session(write=False) as s:
        found = list(s.scalars(select(UserSession).where(UserSession.user_id == user.id)
                               .order_by(UserSession.id)))
        s.expunge_all()
        return found


def login_as(app: Flask, user: User, agent: str = FIREFOX) -> FlaskClient:
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = agent
    assert Auth(client).login(user).status_code == 302
    return client


def test_logout_ends_the_session_for_a_copied_cookie_too(app: Flask, learner: User) -> None:
    client = login_as(app, learner)
    thief = copy_of(app, client)
    assert logged_in(thief)
    assert Auth(client).logout().status_code == 302
    assert not logged_in(client)
    assert not logged_in(thief)  # the copy no longer works, however often it is renewed
    assert not logged_in(thief)
    [row] = rows(app, learner)
    assert row.revoked_at is not None


def test_the_cookie_holds_a_random_id_and_the_server_only_its_hash(app: Flask,
                                                                   learner: User) -> None:
    client = login_as(app, learner)
    with client.session_transaction() as s:
        token = s["_user_id"]
    [row] = rows(app, learner)
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in row.token_hash and row.device == "Firefox on Windows"


@pytest.mark.parametrize(("role", "idle"), [("learner", 120), ("trainer", 30), ("admin", 30)])
def test_idle_timeout_by_role(app: Flask, make_user: UserFactory, frozen: Any, role: str,
                              idle: int) -> None:
    user = make_user(role)
    start = clock.utcnow()
    client = login_as(app, user)
    clock.freeze(start + timedelta(minutes=idle - 1))
    assert logged_in(client)  # use keeps it alive
    clock.freeze(start + timedelta(minutes=2 * idle - 2))
    assert logged_in(client)
    clock.freeze(start + timedelta(minutes=3 * idle))
    assert not logged_in(client)


def test_absolute_lifetime_ends_even_a_busy_session(app: Flask, learner: User,
                                                    frozen: Any) -> None:
    start = clock.utcnow()
    client = login_as(app, learner)
    for hour in range(1, 12):
        clock.freeze(start + timedelta(hours=hour))
        assert logged_in(client), hour
    clock.freeze(start + timedelta(hours=12, minutes=1))
    assert not logged_in(client)


def test_settings_change_the_timeouts(database_url: str, tmp_path: Any, learner: User,
                                      frozen: Any) -> None:
    from tests.conftest import make_app

    app = make_app(database_url, tmp_path / "short", SESSION_IDLE_MINUTES_LEARNER=5,
                   SESSION_MAX_HOURS=1)
    start = clock.utcnow()
    client = login_as(app, learner)
    clock.freeze(start + timedelta(minutes=6))
    assert not logged_in(client)
    assert app.config["PERMANENT_SESSION_LIFETIME"] == timedelta(hours=1)


def test_last_seen_is_written_at_most_once_a_minute(app: Flask, learner: User,
                                                    frozen: Any) -> None:
    start = clock.utcnow()
    client = login_as(app, learner)
    clock.freeze(start + timedelta(seconds=50))
    assert logged_in(client)
    assert rows(app, learner)[0].last_seen_at == start
    clock.freeze(start + timedelta(minutes=3))
    assert logged_in(client)
    assert rows(app, learner)[0].last_seen_at == start + timedelta(minutes=3)


def test_account_page_lists_sessions_and_signs_one_out(app: Flask, learner: User) -> None:
    laptop = login_as(app, learner, FIREFOX)
    phone = login_as(app, learner, IPHONE)
    page = re.sub(r"<[^>]+>", "", html.unescape(laptop.get("/account").get_data(as_text=True)))
    assert "Firefox on Windows (this session)" in page and "Safari on iPhone" in page
    phone_row = next(r for r in rows(app, learner) if r.device == "Safari on iPhone")
    response = laptop.post(f"/account/sessions/{phone_row.id}/revoke")
    assert response.status_code == 302
    assert not logged_in(phone) and logged_in(laptop)
    page = html.unescape(laptop.get("/account").get_data(as_text=True))
    assert "Safari on iPhone" not in page


def test_sign_out_everywhere_else(app: Flask, learner: User) -> None:
    mine = login_as(app, learner)
    others = [login_as(app, learner, IPHONE) for _ in range(2)]
    response = mine.post("/account/sessions/others/revoke", follow_redirects=True)
    assert "Signed out everywhere else (2 sessions)." in html.unescape(
        response.get_data(as_text=True))
    assert logged_in(mine) and not any(logged_in(o) for o in others)
    with app.app_context(), app.extensions["courseware.db"].session(write=False) as s:
        [event] = s.scalars(select(AuditEvent).where(
            AuditEvent.action == "session.revoke_others")).all()
        assert event.actor_id == learner.id and event.details == {"sessions": 2}
        assert event.client_address == "127.0.0.1"


def test_nobody_signs_out_another_persons_session(app: Flask, make_user: UserFactory) -> None:
    ann, bob = make_user("learner"), make_user("learner")
    ann_client, bob_client = login_as(app, ann), login_as(app, bob)
    [bob_row] = rows(app, bob)
    response = ann_client.post(f"/account/sessions/{bob_row.id}/revoke", follow_redirects=True)
    assert "already ended" in html.unescape(response.get_data(as_text=True))
    assert logged_in(bob_client)


def test_deactivation_and_role_change_end_every_session(app: Flask, admin: User,
                                                        make_user: UserFactory) -> None:
    admin_client = login_as(app, admin)
    person = make_user("learner")
    phones = [login_as(app, person, IPHONE) for _ in range(2)]
    admin_client.post(f"/admin/users/{person.id}/role", data={"role": "trainer"})
    assert not any(logged_in(p) for p in phones)
    phone = login_as(app, person, IPHONE)
    admin_client.post(f"/admin/users/{person.id}/active", data={"reason": "Left"})
    assert not logged_in(phone)
    assert all(r.revoked_at is not None for r in rows(app, person))


def test_password_change_ends_every_other_session_and_keeps_this_one(
    app: Flask, learner: User,
) -> None:
    mine, other = login_as(app, learner), login_as(app, learner, IPHONE)
    thief = copy_of(app, mine)
    response = mine.post("/account/password", data={
        "current_password": "correct horse battery staple",
        "new_password": "an entirely different passphrase 42"})
    assert response.status_code == 302
    assert logged_in(mine) and not logged_in(other) and not logged_in(thief)


@pytest.mark.parametrize(("agent", "label"), [
    (FIREFOX, "Firefox on Windows"),
    (IPHONE, "Safari on iPhone"),
    ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/126.0.0.0 Safari/537.36", "Chrome on Linux"),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0", "Edge on macOS"),
    ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/126.0 Mobile Safari/537.36", "Chrome on Android"),
    ("curl/8.5.0", "Unknown device"),
    (None, "Unknown device"),
])
def test_device_labels(agent: str | None, label: str) -> None:
    assert device_label(agent) == label


def test_user_agents_are_cleaned_and_truncated() -> None:
    assert clean_user_agent("A\x00B\nC" + "x" * 500) == ("ABC" + "x" * 500)[:200]
    assert clean_user_agent("   ") is None and clean_user_agent(None) is None
    assert re.fullmatch(r"[ -~]*", clean_user_agent(FIREFOX) or "")
