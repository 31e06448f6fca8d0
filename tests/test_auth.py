"""Accounts and sessions through HTTP and the command line: register, log in, throttle, admin."""

from __future__ import annotations

import html
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from courseware.domain.statuses import MessageKind
from courseware.models import AuditEvent, User
from tests.conftest import PASSWORD, Auth, UserFactory, make_app
from tests.mailing import recorded

GOOD = {"name": "Ann Example", "email": "ann@x.org", "password": "a long enough secret"}
CHECK_EMAIL = "Check your email: we have sent a message to ann@x.org."
DUPLICATE = ("We could not create an account with these details. "
             "If you already have one, log in instead.")  # what the command line says
WRONG = "Email or password is incorrect."


def text_of(response: Any) -> str:
    return html.unescape(response.get_data(as_text=True))


def logged_in(client: FlaskClient) -> bool:
    """True when /profile opens, False when it sends the visitor to the login page."""
    response = client.get("/profile")
    if response.status_code == 200:
        return True
    assert response.status_code == 302, response.status_code
    assert urlsplit(response.headers["Location"]).path == "/login"
    return False


def users_named(app: Flask, email: str) -> list[User]:
    with app.app_context(), app.extensions["courseware.db"].session(write=False) as s:
        rows = list(s.scalars(select(User).where(User.email == email)))
        s.expunge_all()
        return rows


def user_count(app: Flask) -> int:
    with app.app_context(), app.extensions["courseware.db"].session(write=False) as s:
        return s.scalar(select(func.count()).select_from(User)) or 0


def audit_rows(app: Flask, action: str) -> list[AuditEvent]:
    with app.app_context(), app.extensions["courseware.db"].session(write=False) as s:
        rows = list(s.scalars(select(AuditEvent).where(AuditEvent.action == action)
                              .order_by(AuditEvent.id)))
        s.expunge_all()
        return rows


def input_value(page: str, name: str) -> str | None:
    match = re.search(rf'<input[^>]*\bname="{name}"[^>]*>', page)
    assert match, f"no input named {name}"
    value = re.search(r'\bvalue="([^"]*)"', match.group(0))
    return html.unescape(value.group(1)) if value else None


# --- register ------------------------------------------------------------------------------

def test_register_answers_check_your_email_and_does_not_log_in(app: Flask,
                                                                client: FlaskClient) -> None:
    assert not logged_in(client)
    response = client.post("/register", data=GOOD)
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/login"
    assert CHECK_EMAIL in text_of(client.get("/login"))
    assert not logged_in(client)
    [user] = users_named(app, "ann@x.org")
    assert user.role == "learner" and user.active and user.name == "Ann Example"
    assert user.email_confirmed_at is None
    assert GOOD["password"] not in user.password_hash
    assert user.password_hash.startswith("$argon2id$")
    assert [m.kind for m in recorded(app, "ann@x.org")] == [MessageKind.CONFIRM_ADDRESS]
    # an unconfirmed account can log in and learn
    assert Auth(client).login("ann@x.org", GOOD["password"]).status_code == 302
    assert logged_in(client)


def test_register_page_renders(client: FlaskClient) -> None:
    response = client.get("/register")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    for name in ("name", "email", "password"):
        assert input_value(page, name) in (None, "")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": ""}, "Enter your name."),
        ({"name": "   "}, "Enter your name."),
        ({"email": ""}, "Enter your email address."),
        ({"password": ""}, "Choose a password."),
        ({"name": "N" * 121}, "120"),
        ({"email": "a" * 64 + "@" + "b" * 186 + ".org"}, "254"),
        ({"password": "p" * 257}, "Use 12 to 256 characters."),
        ({"password": "short pw"}, "Use 12 to 256 characters."),
        ({"email": "not-an-email"}, "Enter an email address like name@example.org."),
        ({"email": "ann@localhost"}, "Enter an email address like name@example.org."),
        ({"email": "ann @x.org"}, "Enter an email address like name@example.org."),
    ],
    ids=["empty-name", "blank-name", "empty-email", "empty-password", "long-name", "long-email",
         "long-password", "short-password", "bad-email", "email-no-dot", "email-space"],
)
def test_register_refuses_bad_input(
    app: Flask, client: FlaskClient, changes: dict[str, str], message: str
) -> None:
    response = client.post("/register", data={**GOOD, **changes})
    assert response.status_code == 422
    assert message in text_of(response)
    assert "There is a problem" in text_of(response)
    assert user_count(app) == 0
    assert not logged_in(client)


@pytest.mark.parametrize("url, field", [
    ("/register", "name"), ("/register", "email"), ("/register", "password"),
    ("/login", "email"), ("/login", "password"),
])
def test_a_nul_byte_is_refused_before_any_view(
    app: Flask, client: FlaskClient, url: str, field: str
) -> None:
    """Nobody types NUL and PostgreSQL cannot store it: one clear 400 for every route."""
    response = client.post(url, data={**GOOD, field: "Ann\x00Example"})
    assert response.status_code == 400
    assert "a NUL byte" in text_of(response)
    assert user_count(app) == 0
    assert not logged_in(client)


def test_register_takes_one_value_of_a_repeated_key(app: Flask, client: FlaskClient) -> None:
    """A list where text is expected (name=a&name=b): the first value, never "['a', 'b']"."""
    response = client.post("/register", data={
        "name": ["Ann First", "Bob Second"], "email": ["ann@x.org", "bob@x.org"],
        "password": GOOD["password"]})
    assert response.status_code == 302
    [user] = users_named(app, "ann@x.org")
    assert user.name == "Ann First"
    assert users_named(app, "bob@x.org") == []
    assert user_count(app) == 1


def test_register_repeated_password_key_uses_the_first(app: Flask, client: FlaskClient) -> None:
    response = client.post("/register", data={**GOOD, "password": ["short", GOOD["password"]]})
    assert response.status_code == 422
    assert "Use 12 to 256 characters." in text_of(response)
    assert user_count(app) == 0


def test_register_keeps_a_unicode_name_exactly(app: Flask, client: FlaskClient) -> None:
    name = "Zoë Ñúñez 李"
    response = client.post("/register", data={**GOOD, "name": name})
    assert response.status_code == 302
    [user] = users_named(app, "ann@x.org")
    assert user.name == name
    assert recorded(app, "ann@x.org")[0].payload["name"] == name


def test_register_collapses_inner_whitespace_of_names(app: Flask, client: FlaskClient) -> None:
    response = client.post("/register", data={**GOOD, "name": "  Ann \t  Example  "})
    assert response.status_code == 302
    assert users_named(app, "ann@x.org")[0].name == "Ann Example"


def test_register_stores_email_casefolded_and_answers_a_duplicate_the_same(
    app: Flask, client: FlaskClient
) -> None:
    first = client.post("/register", data={**GOOD, "email": "ann@x.org"})
    assert first.status_code == 302
    other = app.test_client()
    response = other.post("/register", data={**GOOD, "name": "Another Ann",
                                              "email": "ANN@x.org",
                                              "password": "a different long secret"})
    # the page says what it said to the first: nothing tells whether the address was known
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/login"
    assert CHECK_EMAIL in text_of(other.get("/login"))
    assert user_count(app) == 1
    assert not logged_in(other)
    # the mailbox is told instead: an account exists, with a link to reset its password
    assert [m.kind for m in recorded(app, "ann@x.org")] == [MessageKind.CONFIRM_ADDRESS,
                                                            MessageKind.ADDRESS_TAKEN]
    assert recorded(app, "ann@x.org")[1].link.startswith("/account/reset/")
    # the first account keeps its own password
    assert Auth(app.test_client()).login("Ann@X.org", GOOD["password"]).status_code == 302
    assert Auth(app.test_client()).login("ann@x.org",
                                         "a different long secret").status_code == 422


@pytest.mark.parametrize("variant", ["ANN@X.ORG", " ann@x.org ", "\uff41nn@x.org"],
                         ids=["upper", "spaces", "fullwidth"])
def test_register_makes_no_second_account_for_a_variant_of_an_email(app: Flask,
                                                                    variant: str) -> None:
    assert app.test_client().post("/register", data=GOOD).status_code == 302
    response = app.test_client().post("/register", data={**GOOD, "email": variant})
    assert response.status_code == 302
    assert user_count(app) == 1
    assert recorded(app, "ann@x.org")[-1].kind is MessageKind.ADDRESS_TAKEN


def test_register_form_keeps_what_was_typed_but_never_the_password(client: FlaskClient) -> None:
    secret = "my-secret-but-short"  # 19 characters: passes, the email does not
    response = client.post("/register", data={"name": "Ann <b>Example</b>",
                                              "email": "ann-at-x.org", "password": secret})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert input_value(page, "name") == "Ann <b>Example</b>"
    assert "<b>Example</b>" not in page  # echoed escaped, not as markup
    assert input_value(page, "email") == "ann-at-x.org"
    assert input_value(page, "password") in (None, "")
    assert secret not in page


def test_register_while_logged_in_goes_home(app: Flask, client: FlaskClient,
                                            learner: User) -> None:
    Auth(client).login(learner)
    response = client.post("/register", data={**GOOD, "email": "second@x.org"})
    assert response.status_code == 302
    assert users_named(app, "second@x.org") == []


# --- login and logout ----------------------------------------------------------------------

def test_login_success(client: FlaskClient, auth: Auth, learner: User) -> None:
    response = auth.login(learner)
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/"
    assert logged_in(client)
    assert "My progress" in text_of(client.get("/profile"))


def test_login_email_is_case_and_space_insensitive(client: FlaskClient, auth: Auth,
                                                   learner: User) -> None:
    assert auth.login(f"  {learner.email.upper()} ").status_code == 302
    assert logged_in(client)


def test_wrong_password_and_unknown_email_look_the_same(app: Flask, learner: User) -> None:
    wrong = Auth(app.test_client()).login(learner, "not the right password")
    unknown = Auth(app.test_client()).login("nobody@example.org", "not the right password")
    assert wrong.status_code == unknown.status_code == 422
    assert WRONG in text_of(wrong) and WRONG in text_of(unknown)

    def summary(response: Any) -> str:
        match = re.search(r'<div class="error-summary".*?</div>', text_of(response), re.S)
        assert match
        return match.group(0)

    assert summary(wrong) == summary(unknown)
    # the typed password is not sent back
    assert "not the right password" not in wrong.get_data(as_text=True)


@pytest.mark.parametrize("data", [
    {"email": "", "password": ""},
    {"email": "x@example.org"},
    {"password": PASSWORD},
    {"email": ["a@example.org", "b@example.org"], "password": [PASSWORD, PASSWORD]},
    {"email": "a" * 300 + "@example.org", "password": PASSWORD},
    {"email": "learner1@example.org", "password": "p" * 300},
], ids=["empty", "no-password", "no-email", "repeated", "long-email", "long-password"])
def test_login_refuses_malformed_input(
    client: FlaskClient, learner: User, data: dict[str, Any]
) -> None:
    assert learner.email == "learner1@example.org"
    response = client.post("/login", data=data)
    assert response.status_code == 422
    assert "There is a problem" in text_of(response)
    assert not logged_in(client)


def test_inactive_user_cannot_log_in(app: Flask, client: FlaskClient, auth: Auth,
                                     make_user: UserFactory) -> None:
    user = make_user("learner")
    with app.app_context(), app.extensions["courseware.db"].session() as s:
        s.get(User, user.id).active = False  # type: ignore[union-attr]
        s.commit()
    response = auth.login(user)
    assert response.status_code == 422
    assert WRONG in text_of(response)
    assert not logged_in(client)


def test_logout_is_post_only(client: FlaskClient, auth: Auth, learner: User) -> None:
    auth.login(learner)
    response = client.get("/logout")
    assert response.status_code == 405
    assert "POST" in response.headers["Allow"]
    assert logged_in(client)
    response = auth.logout()
    assert response.status_code == 302
    assert not logged_in(client)


def test_login_page_and_redirect_when_already_logged_in(client: FlaskClient, auth: Auth,
                                                        learner: User) -> None:
    assert client.get("/login").status_code == 200
    auth.login(learner)
    response = client.get("/login?next=/profile")
    assert response.status_code == 302
    assert response.headers["Location"] == "/profile"


def test_session_cookie_is_httponly_and_lax(client: FlaskClient, auth: Auth,
                                            learner: User) -> None:
    response = auth.login(learner)
    cookie = next(h for h in response.headers.getlist("Set-Cookie")
                  if h.startswith("courseware_session="))
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


# --- change password -----------------------------------------------------------------------

def test_change_password_needs_the_current_one(client: FlaskClient, auth: Auth,
                                               learner: User) -> None:
    auth.login(learner)
    response = client.post("/account/password", data={
        "current_password": "not my password", "new_password": "a brand new secret"})
    assert response.status_code == 422
    assert "Your current password is not right." in text_of(response)
    assert Auth(client.application.test_client()).login(learner).status_code == 302


def test_change_password_checks_the_new_one(client: FlaskClient, auth: Auth,
                                            learner: User) -> None:
    auth.login(learner)
    response = client.post("/account/password", data={
        "current_password": PASSWORD, "new_password": "short"})
    assert response.status_code == 422
    assert "Use 12 to 256 characters." in text_of(response)


def test_change_password_requires_login(client: FlaskClient) -> None:
    response = client.get("/account/password")
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/login"


def test_change_password_ends_other_sessions(app: Flask, learner: User) -> None:
    mine, other = app.test_client(), app.test_client()
    Auth(mine).login(learner)
    Auth(other).login(learner)
    assert logged_in(other)
    response = mine.post("/account/password", data={
        "current_password": PASSWORD, "new_password": "a brand new secret"})
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/account"
    assert logged_in(mine)
    assert not logged_in(other)
    assert Auth(app.test_client()).login(learner, PASSWORD).status_code == 422
    assert Auth(app.test_client()).login(learner, "a brand new secret").status_code == 302


# --- session fixation and open redirects ---------------------------------------------------

def test_login_starts_a_fresh_session(client: FlaskClient, auth: Auth, learner: User) -> None:
    client.get("/login")
    with client.session_transaction() as s:
        s["planted"] = "x"
    before = client.get_cookie("courseware_session")
    assert before is not None
    auth.login(learner)
    after = client.get_cookie("courseware_session")
    assert after is not None and after.value != before.value
    with client.session_transaction() as s:
        assert "planted" not in s
        # an opaque random id: nothing in it names the account
        token = s.get("_user_id", "")
        assert len(token) >= 40 and str(learner.id) != token and learner.email not in token


def test_logout_clears_the_session(client: FlaskClient, auth: Auth, learner: User) -> None:
    auth.login(learner)
    with client.session_transaction() as s:
        s["planted"] = "x"
    auth.logout()
    with client.session_transaction() as s:
        assert "planted" not in s
        assert "_user_id" not in s


OFFSITE = ["https://evil.example", "//evil.example", "/\\evil.example", "\\\\evil.example",
           "javascript:alert(1)", "http:/evil.example", " //evil.example", "/\t/evil.example",
           "https:evil.example", "\n//evil.example"]


def _on_site(location: str) -> bool:
    parts = urlsplit(location)
    return (parts.scheme in ("", "http") and parts.netloc in ("", "localhost")
            and location.startswith("/") and not location.startswith("//")
            and "\\" not in location and "evil" not in parts.netloc)


@pytest.mark.parametrize("target", [*OFFSITE, "/%2F%2Fevil"])
def test_login_next_never_leaves_the_site(client: FlaskClient, auth: Auth, learner: User,
                                          target: str) -> None:
    response = client.post("/login", data={"email": learner.email, "password": PASSWORD,
                                           "next": target})
    assert response.status_code == 302
    location = response.headers["Location"]
    assert _on_site(location), location
    if target == "/%2F%2Fevil":
        assert location == "/%2F%2Fevil"  # a path on this site
    else:
        assert location == "/"


@pytest.mark.parametrize("target", OFFSITE)
def test_login_page_next_never_leaves_the_site_when_logged_in(
    client: FlaskClient, auth: Auth, learner: User, target: str
) -> None:
    auth.login(learner)
    response = client.get("/login", query_string={"next": target})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_login_next_is_echoed_escaped(client: FlaskClient) -> None:
    page = client.get("/login", query_string={"next": '/x"><script>alert(1)</script>'}
                      ).get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
    assert input_value(page, "next") == '/x"><script>alert(1)</script>'


def test_login_next_path_is_honoured(client: FlaskClient, learner: User) -> None:
    page = client.get("/login?next=/profile").get_data(as_text=True)
    assert input_value(page, "next") == "/profile"
    response = client.post("/login", data={"email": learner.email, "password": PASSWORD,
                                           "next": "/profile"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/profile"


def test_protected_page_sends_to_login_with_next(client: FlaskClient, learner: User) -> None:
    response = client.get("/profile")
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.path == "/login"
    assert "next=" in location.query


# --- rate limits (the throttle per account and client is in tests/test_lockout.py) -----------

def test_ip_rate_limit_answers_429(database_url: str, tmp_path: Path, learner: User) -> None:
    limited = make_app(database_url, tmp_path / "limited", RATELIMIT_ENABLED=True,
                       LOGIN_LIMIT="3 per minute")
    try:
        client = limited.test_client()
        for n in range(3):
            response = Auth(client).login(f"someone{n}@example.org", "not the right password")
            assert response.status_code == 422
        response = Auth(client).login(learner, PASSWORD)
        assert response.status_code == 429
        retry = response.headers.get("Retry-After")
        assert retry is not None and retry.isdigit() and 1 <= int(retry) <= 60
        page = text_of(response)
        assert "<html" in page.lower()
        assert "Too many requests" in page
        wait = re.search(r"Try again in (\d+) seconds\.", page)
        assert wait, page
        # the page counts from its own clock reading: within a second of the header
        assert abs(int(wait.group(1)) - int(retry)) <= 1
        assert not logged_in(client)
        # the login page itself still opens
        assert client.get("/login").status_code == 200
    finally:
        limited.extensions["courseware.db"].engine.dispose()


def run_together(*calls: Callable[[], Any]) -> list[Any]:
    """Run the calls in two or more threads released at the same moment; their results."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)
    errors: list[BaseException] = []

    def run(index: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=10)
            results[index] = call()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    return results


def test_simultaneous_registrations_of_one_email_make_one_account(app: Flask) -> None:
    clients = [app.test_client(), app.test_client()]
    data = [{**GOOD, "email": "ann@x.org", "name": "Ann One"},
            {**GOOD, "email": "ANN@x.org", "name": "Ann Two"}]
    responses = run_together(*(lambda c=c, d=d: c.post("/register", data=d)
                               for c, d in zip(clients, data, strict=True)))
    assert [r.status_code for r in responses] == [302, 302]
    assert len(users_named(app, "ann@x.org")) == 1
    assert user_count(app) == 1
    assert sorted(m.kind for m in recorded(app, "ann@x.org")) == [
        MessageKind.ADDRESS_TAKEN, MessageKind.CONFIRM_ADDRESS]
    assert [logged_in(c) for c in clients] == [False, False]


def test_register_rate_limit(database_url: str, tmp_path: Path) -> None:
    limited = make_app(database_url, tmp_path / "limited", RATELIMIT_ENABLED=True,
                       REGISTER_LIMIT="2 per hour")
    try:
        for n in range(2):
            response = limited.test_client().post(
                "/register", data={**GOOD, "email": f"person{n}@x.org"})
            assert response.status_code == 302
        response = limited.test_client().post("/register",
                                              data={**GOOD, "email": "person9@x.org"})
        assert response.status_code == 429
        assert int(response.headers["Retry-After"]) > 60
        assert users_named(limited, "person9@x.org") == []
    finally:
        limited.extensions["courseware.db"].engine.dispose()


# --- command line --------------------------------------------------------------------------

def test_cli_users_create(app: Flask) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "create", "Tess@Example.org", "--name", "Tess Trainer",
                                 "--role", "trainer", "--password-stdin"],
                           input="a long trainer secret\n")
    assert result.exit_code == 0, result.output
    assert "created trainer tess@example.org" in result.output
    [user] = users_named(app, "tess@example.org")
    assert user.role == "trainer" and user.name == "Tess Trainer"
    [event] = audit_rows(app, "user.create")
    assert event.target_id == str(user.id) and event.actor_id is None
    client = app.test_client()
    assert Auth(client).login("tess@example.org", "a long trainer secret").status_code == 302
    assert client.get("/grade/").status_code == 200


@pytest.mark.parametrize(("args", "stdin", "message"), [
    (["not-an-email"], "a long trainer secret\n", "Enter an email address like name@example.org."),
    (["t@example.org"], "short\n", "Use at least 12 characters for your password."),
    (["t@example.org", "--role", "owner"], "a long trainer secret\n", "owner"),
])
def test_cli_users_create_refuses_bad_input(app: Flask, args: list[str], stdin: str,
                                            message: str) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "create", *args, "--name", "Tess",
                                 "--password-stdin"], input=stdin)
    assert result.exit_code != 0
    assert message in result.output
    assert user_count(app) == 0


def test_cli_users_create_refuses_an_existing_email(app: Flask, learner: User) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "create", learner.email.upper(), "--name", "Copy",
                                 "--password-stdin"], input="a long trainer secret\n")
    assert result.exit_code != 0
    assert DUPLICATE in result.output
    assert user_count(app) == 1


# --- admin user management -----------------------------------------------------------------

@pytest.fixture
def admin_client(app: Flask, admin: User) -> FlaskClient:
    client = app.test_client()
    assert Auth(client).login(admin).status_code == 302
    return client


def test_admin_lists_and_searches_users(admin_client: FlaskClient, learner: User,
                                        trainer: User) -> None:
    page = text_of(admin_client.get("/admin/users"))
    for user in (learner, trainer):
        assert user.name in page and user.email in page
    found = text_of(admin_client.get("/admin/users", query_string={"q": "LENA"}))
    assert learner.email in found and trainer.email not in found
    for odd in ("%", "_", "'", "\\", "李"):
        assert admin_client.get("/admin/users", query_string={"q": odd}).status_code == 200


def test_admin_user_search_with_a_nul_byte(admin_client: FlaskClient, learner: User) -> None:
    response = admin_client.get("/admin/users", query_string={"q": "lena\x00"})
    assert response.status_code in (200, 400)


def test_user_pages_are_for_admins_only(app: Flask, learner: User, trainer: User) -> None:
    anonymous = app.test_client()
    response = anonymous.get("/admin/users")
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/login"
    for user in (learner, trainer):
        client = app.test_client()
        Auth(client).login(user)
        assert client.get("/admin/users").status_code == 403
        assert client.post(f"/admin/users/{learner.id}/role",
                           data={"role": "admin"}).status_code == 403
        assert client.post(f"/admin/users/{trainer.id}/active",
                           data={"reason": "x"}).status_code == 403
    assert users_named(app, learner.email)[0].role == "learner"
    assert users_named(app, trainer.email)[0].active


def test_admin_changes_a_role_and_it_is_audited(app: Flask, admin_client: FlaskClient,
                                                admin: User, learner: User) -> None:
    learner_client = app.test_client()
    Auth(learner_client).login(learner)
    assert learner_client.get("/grade/").status_code == 403
    response = admin_client.post(f"/admin/users/{learner.id}/role", data={"role": "trainer"})
    assert response.status_code == 302
    assert "is now trainer" in text_of(admin_client.get("/admin/users"))
    assert users_named(app, learner.email)[0].role == "trainer"
    [event] = audit_rows(app, "user.role")
    assert event.actor_id == admin.id
    assert event.target_type == "user" and event.target_id == str(learner.id)
    assert event.details == {"from": "learner", "to": "trainer"}
    # the role change ends the learner's session; logging in again gives the new role
    assert not logged_in(learner_client)
    Auth(learner_client).login(learner)
    assert learner_client.get("/grade/").status_code == 200
    # the same role again is not a change and is not audited
    admin_client.post(f"/admin/users/{learner.id}/role", data={"role": "trainer"})
    assert len(audit_rows(app, "user.role")) == 1


def test_admin_cannot_set_an_unknown_role(app: Flask, admin_client: FlaskClient,
                                          learner: User) -> None:
    response = admin_client.post(f"/admin/users/{learner.id}/role", data={"role": "owner"})
    assert response.status_code == 302
    assert users_named(app, learner.email)[0].role == "learner"
    assert audit_rows(app, "user.role") == []
    assert admin_client.post("/admin/users/999999/role",
                             data={"role": "trainer"}).status_code == 404


def test_admin_deactivates_and_reactivates(app: Flask, admin_client: FlaskClient, admin: User,
                                           learner: User) -> None:
    learner_client = app.test_client()
    Auth(learner_client).login(learner)
    assert logged_in(learner_client)
    response = admin_client.post(f"/admin/users/{learner.id}/active",
                                 data={"reason": "Left the programme"})
    assert response.status_code == 302
    assert not users_named(app, learner.email)[0].active
    [event] = audit_rows(app, "user.deactivate")
    assert event.actor_id == admin.id and event.target_id == str(learner.id)
    assert event.reason == "Left the programme"
    assert not logged_in(learner_client)
    relogin = Auth(learner_client).login(learner)
    assert relogin.status_code == 422 and WRONG in text_of(relogin)

    response = admin_client.post(f"/admin/users/{learner.id}/active",
                                 data={"active": "1", "reason": ""})
    assert response.status_code == 302
    assert users_named(app, learner.email)[0].active
    [event] = audit_rows(app, "user.activate")
    assert event.target_id == str(learner.id)
    assert Auth(learner_client).login(learner).status_code == 302


def test_admin_cannot_demote_or_deactivate_themself(app: Flask, admin_client: FlaskClient,
                                                    admin: User) -> None:
    response = admin_client.post(f"/admin/users/{admin.id}/role", data={"role": "learner"},
                                 follow_redirects=True)
    assert "You cannot remove your own admin role." in text_of(response)
    response = admin_client.post(f"/admin/users/{admin.id}/active", data={"reason": "oops"},
                                 follow_redirects=True)
    assert "You cannot deactivate your own account." in text_of(response)
    [me] = users_named(app, admin.email)
    assert me.role == "admin" and me.active
    assert audit_rows(app, "user.role") == [] and audit_rows(app, "user.deactivate") == []
    assert admin_client.get("/admin/users").status_code == 200


def test_admin_can_promote_another_admin_who_can_then_demote_the_first(
    app: Flask, admin_client: FlaskClient, admin: User, make_user: UserFactory
) -> None:
    other = make_user("trainer")
    admin_client.post(f"/admin/users/{other.id}/role", data={"role": "admin"})
    other_client = app.test_client()
    Auth(other_client).login(other)
    response = other_client.post(f"/admin/users/{admin.id}/role", data={"role": "trainer"})
    assert response.status_code == 302
    assert users_named(app, admin.email)[0].role == "trainer"
    # the demoted admin's session ends with the role change
    assert not logged_in(admin_client)
    Auth(admin_client).login(admin)
    assert admin_client.get("/admin/users").status_code == 403

