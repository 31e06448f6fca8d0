"""A forgotten password: asked for by address, set through an emailed single-use link.

The request reveals nothing (same answer, same work: the lookup runs as a job); the link carries
256 random bits, is stored hashed, works once, for an hour, and dies when the password changes;
setting the password ends every other session. Requests are limited per address and per IP
(in memory, and in Redis where it is installed). An admin can send anyone a link (audited).
"""

from __future__ import annotations

import html
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, select

from courseware.domain import clock
from courseware.domain.statuses import MessageKind
from courseware.models import AccountToken, AuditEvent, User
from tests.conftest import PASSWORD, Auth, UserFactory, make_app
from tests.factories import Factory
from tests.mailing import consumer, last_link, recorded

NEW_PASSWORD = "a brand new long secret"
INVALID = "This link does not work"


def text_of(response: Any) -> str:
    return html.unescape(response.get_data(as_text=True))


def logged_in(client: FlaskClient) -> bool:
    return client.get("/profile").status_code == 200


def statements_during(app: Flask, call: Any) -> int:
    """How many SQL statements the app ran while `call` ran."""
    engine = app.extensions["courseware.db"].engine
    count = 0

    def seen(*_args: object) -> None:
        nonlocal count
        count += 1

    event.listen(engine, "before_cursor_execute", seen)
    try:
        call()
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    return count


def client_from(app: Flask, ip: str) -> FlaskClient:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = ip
    return client


def reset_link_for(app: Flask, user: User) -> str:
    Factory(app).reset_link(user)
    return last_link(app, user.email, MessageKind.PASSWORD_RESET)


# --- asking -------------------------------------------------------------------------------------

def test_the_login_page_offers_a_reset(client: FlaskClient) -> None:
    page = text_of(client.get("/login"))
    assert '<a href="/account/reset">Forgot your password?</a>' in page
    form = client.get("/account/reset")
    assert form.status_code == 200 and "Forgot your password?" in text_of(form)


def test_a_request_answers_the_same_and_does_the_same_work_with_or_without_an_account(
        app: Flask, learner: User) -> None:
    huey = app.extensions["courseware.jobs"].huey
    answers, statements = [], []
    for email in (learner.email, "nobody@example.org"):
        client = app.test_client()
        queued = huey.pending_count()
        responses: list[Any] = []
        statements.append(statements_during(
            app, lambda c=client, e=email, out=responses: out.append(
                c.post("/account/reset", data={"email": e.upper()}))))
        response = responses[0]
        assert response.status_code == 302
        assert urlsplit(response.headers["Location"]).path == "/login"
        answers.append(text_of(client.get("/login")).replace(email, "ADDRESS"))
        assert huey.pending_count() == queued + 1  # one job each, and nothing else
    assert answers[0] == answers[1]
    assert "If an account has the address ADDRESS, we have sent it a link" in answers[0]
    # the request touched no table: the lookup is the job's
    assert statements == [0, 0]
    assert recorded(app) == []
    with consumer(app):
        from tests.mailing import wait_until

        wait_until(lambda: recorded(app), what="the reset job")
    assert [(m.recipient, m.kind) for m in recorded(app)] == [
        (learner.email, MessageKind.PASSWORD_RESET)]


def test_a_malformed_address_is_refused_without_a_job(app: Flask, client: FlaskClient) -> None:
    huey = app.extensions["courseware.jobs"].huey
    queued = huey.pending_count()
    response = client.post("/account/reset", data={"email": "not-an-address"})
    assert response.status_code == 422
    assert "Enter an email address like name@example.org." in text_of(response)
    assert huey.pending_count() == queued


def test_a_deactivated_account_gets_no_link(app: Flask, learner: User, admin: User) -> None:
    with app.app_context(), app.extensions["courseware.db"].session() as s:
        from courseware.services import accounts

        accounts.set_active(s, s.get(User, admin.id), s.get(User, learner.id), False, "left")
        s.commit()
    app.extensions["courseware.jobs"].request_password_reset.call_local(learner.email)
    assert recorded(app, learner.email) == []


# --- the link -------------------------------------------------------------------------------------

def test_the_link_sets_a_new_password_once_and_ends_every_other_session(
        app: Flask, learner: User) -> None:
    elsewhere = app.test_client()
    Auth(elsewhere).login(learner)
    assert logged_in(elsewhere)
    link = reset_link_for(app, learner)
    browser = app.test_client()
    form = browser.get(link)
    assert form.status_code == 200 and "Choose a new password" in text_of(form)
    assert form.headers["Cache-Control"] == "no-store"
    assert form.headers["Referrer-Policy"] == "no-referrer"
    response = browser.post(link, data={"password": NEW_PASSWORD})
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/login"
    assert "Your password is changed, and every session of your account is logged out." in \
        text_of(browser.get("/login"))
    assert not logged_in(elsewhere)
    assert Auth(app.test_client()).login(learner, PASSWORD).status_code == 422
    assert Auth(browser).login(learner, NEW_PASSWORD).status_code == 302
    # the second time, the link is dead
    again = app.test_client().get(link)
    assert again.status_code == 410 and INVALID in text_of(again)
    assert app.test_client().post(link, data={"password": "yet another long one"}
                                  ).status_code == 410
    with app.app_context(), app.extensions["courseware.db"].session(write=False) as s:
        [event_] = s.scalars(select(AuditEvent).where(
            AuditEvent.action == "user.password_reset")).all()
        assert event_.actor_id == learner.id and event_.target_id == str(learner.id)


def test_the_link_expires_after_an_hour(app: Flask, learner: User, frozen: Any) -> None:
    start = clock.utcnow()
    link = reset_link_for(app, learner)
    clock.freeze(start + timedelta(minutes=59, seconds=59))
    assert app.test_client().get(link).status_code == 200
    clock.freeze(start + timedelta(hours=1))
    assert app.test_client().get(link).status_code == 410
    assert app.test_client().post(link, data={"password": NEW_PASSWORD}).status_code == 410
    assert Auth(app.test_client()).login(learner, PASSWORD).status_code == 302


def test_the_link_dies_when_the_password_changes(app: Flask, learner: User) -> None:
    link = reset_link_for(app, learner)
    client = app.test_client()
    Auth(client).login(learner)
    changed = client.post("/account/password", data={"current_password": PASSWORD,
                                                     "new_password": NEW_PASSWORD})
    assert changed.status_code == 302
    assert app.test_client().get(link).status_code == 410


def test_a_newer_link_does_not_kill_an_older_one_but_using_either_kills_both(
        app: Flask, learner: User) -> None:
    first = reset_link_for(app, learner)
    second = reset_link_for(app, learner)
    assert first != second
    assert app.test_client().get(first).status_code == 200
    assert app.test_client().post(second, data={"password": NEW_PASSWORD}).status_code == 302
    assert app.test_client().get(first).status_code == 410  # the password changed


def test_a_weak_password_is_refused_and_the_link_still_works(app: Flask, learner: User) -> None:
    link = reset_link_for(app, learner)
    client = app.test_client()
    response = client.post(link, data={"password": "short"})
    assert response.status_code == 422 and "Use 12 to 256 characters." in text_of(response)
    assert client.get(link).status_code == 200


@pytest.mark.parametrize("token", ["x" * 43, "short", "a.b~c;d", "A" * 200])
def test_an_unknown_or_malformed_link_is_gone(client: FlaskClient, token: str) -> None:
    response = client.get(f"/account/reset/{token}")
    assert response.status_code == 410 and INVALID in text_of(response)


def test_only_the_hash_of_a_token_is_stored(app: Flask, learner: User) -> None:
    token = reset_link_for(app, learner).rsplit("/", 1)[1]
    assert len(token) == 43  # 256 bits
    with app.app_context(), app.extensions["courseware.db"].session(write=False) as s:
        [row] = s.scalars(select(AccountToken)).all()
        assert token not in (row.token_hash, row.email)
        import hashlib

        assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
        assert row.expires_at - row.created_at == timedelta(hours=1)


def test_a_reset_confirms_an_unconfirmed_address(app: Flask) -> None:
    app.test_client().post("/register", data={"name": "Ann Example", "email": "ann@x.org",
                                              "password": "a long enough secret"})
    app.extensions["courseware.jobs"].request_password_reset.call_local("ann@x.org")
    link = last_link(app, "ann@x.org", MessageKind.PASSWORD_RESET)
    assert app.test_client().post(link, data={"password": NEW_PASSWORD}).status_code == 302
    with app.app_context(), app.extensions["courseware.db"].session(write=False) as s:
        user = s.scalar(select(User).where(User.email == "ann@x.org"))
        assert user is not None and user.email_confirmed_at is not None


# --- an admin sends a link ------------------------------------------------------------------------

def test_an_admin_sends_a_reset_link_and_the_audit_log_says_so(
        app: Flask, learner: User, admin: User) -> None:
    client = app.test_client()
    Auth(client).login(admin)
    assert "Send reset link" in text_of(client.get("/admin/users"))
    response = client.post(f"/admin/users/{learner.id}/reset")
    assert response.status_code == 302
    assert f"A link to choose a new password is on its way to {learner.email}" in \
        text_of(client.get("/admin/users"))
    [message] = recorded(app, learner.email, MessageKind.PASSWORD_RESET)
    assert message.payload["by_admin"] is True
    with app.app_context(), app.extensions["courseware.db"].session(write=False) as s:
        [event_] = s.scalars(select(AuditEvent).where(AuditEvent.action == "user.reset_link"))
        assert (event_.actor_id, event_.target_id) == (admin.id, str(learner.id))
    assert app.test_client().post(message.link, data={"password": NEW_PASSWORD}
                                  ).status_code == 302


# --- rate limits (memory, then Redis) -----------------------------------------------------------

def test_reset_requests_are_limited_per_address(database_url: str, tmp_path: Path,
                                                queue: dict[str, object]) -> None:
    app = make_app(database_url, tmp_path, RATELIMIT_ENABLED=True,
                   MAIL_ADDRESS_LIMIT="2 per hour", **queue)
    if queue:
        assert app.config["RATELIMIT_STORAGE_URI"] == queue["REDIS_URL"]
    for n in range(2):  # from two different addresses: the address is what is counted
        client = client_from(app, f"10.0.0.{n}")
        assert client.post("/account/reset", data={"email": "ann@x.org"}).status_code == 302
    third = client_from(app, "10.0.0.9")
    limited = third.post("/account/reset", data={"email": " ANN@x.org"})
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 60
    assert third.post("/account/reset", data={"email": "bob@x.org"}).status_code == 302
    # a form with a mistake costs nothing
    assert third.post("/account/reset", data={"email": "bob-at-x"}).status_code == 422
    assert third.post("/account/reset", data={"email": "bob@x.org"}).status_code == 302


def test_reset_requests_are_limited_per_ip(database_url: str, tmp_path: Path,
                                           queue: dict[str, object]) -> None:
    app = make_app(database_url, tmp_path, RATELIMIT_ENABLED=True, RESET_LIMIT="3 per hour",
                   **queue)
    client = app.test_client()
    for n in range(3):
        assert client.post("/account/reset", data={"email": f"person{n}@x.org"}
                           ).status_code == 302
    assert client.post("/account/reset", data={"email": "person9@x.org"}).status_code == 429
    other = client_from(app, "10.1.1.1")
    assert other.post("/account/reset", data={"email": "person9@x.org"}).status_code == 302


def test_registrations_count_toward_the_address_limit(database_url: str, tmp_path: Path,
                                                      queue: dict[str, object],
                                                      make_user: UserFactory) -> None:
    """Registering with someone's address mails them: it draws on the same per-address budget,
    so the form cannot be used to flood a mailbox either."""
    app = make_app(database_url, tmp_path, RATELIMIT_ENABLED=True,
                   MAIL_ADDRESS_LIMIT="2 per hour", **queue)
    data = {"name": "Someone", "email": "ann@x.org", "password": "a long enough secret"}
    for n in range(2):
        client = client_from(app, f"10.2.0.{n}")
        assert client.post("/register", data=data).status_code == 302
    client = client_from(app, "10.2.0.9")
    assert client.post("/account/reset", data={"email": "ann@x.org"}).status_code == 429
    assert len(recorded(app, "ann@x.org")) == 2  # a confirmation, then "you have an account"
