"""What the busiest paths skip, and that skipping it changes no answer: the verify API's lookup
runs outside any transaction yet sees every change at once (its statement count and headers:
tests/test_api_limits.py), and the app has no coroutine views or hooks
(courseware.web.app.SyncFlask no longer asks Flask to check each one per request)."""

from __future__ import annotations

import inspect
import re
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, event

from courseware.domain import clock
from courseware.domain.statuses import CertificateChange
from courseware.infra.config import PROJECT_ROOT
from courseware.models import ModuleRead, User
from courseware.services import learning, sessions
from tests.conftest import PASSWORD, UserFactory, make_app
from tests.factories import Factory


def traced_lookups(engine: Engine) -> tuple[list[str], list[tuple[Any, bool]],
                                            Callable[[], None]]:
    """What the pool's connections run while traced: the statements (SQLite: the driver's own
    trace, BEGIN and ROLLBACK included; PostgreSQL: one "checkout" per connection taken), and
    each connection's state when the pool takes it back (in a transaction?, autocommit?).
    Returns the two lists and the function that stops tracing."""
    statements: list[str] = []
    returned: list[tuple[Any, bool]] = []
    sqlite = engine.dialect.name == "sqlite"

    def checked_out(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        if sqlite:
            dbapi_connection.set_trace_callback(statements.append)
        else:
            statements.append("checkout")

    def checked_in(dbapi_connection: Any, _record: Any) -> None:
        if sqlite:
            dbapi_connection.set_trace_callback(None)
            returned.append((dbapi_connection.in_transaction, False))
        else:
            returned.append((dbapi_connection.info.transaction_status != 0,
                             dbapi_connection.autocommit))

    event.listen(engine.pool, "checkout", checked_out)
    event.listen(engine.pool, "checkin", checked_in)

    def stop() -> None:
        event.remove(engine.pool, "checkout", checked_out)
        event.remove(engine.pool, "checkin", checked_in)

    return statements, returned, stop


def test_the_verify_lookup_sees_a_revocation_at_once(app: Flask, client: FlaskClient,
                                                     factory: Factory) -> None:
    """No transaction, no snapshot kept between requests: the next lookup reads the change."""
    cert = factory.manual_certificate(factory.user())
    assert client.get(f"/api/v1/certificates/{cert.code}").get_json()["status"] == "valid"
    factory.change_certificate(cert, CertificateChange.REVOKE, "Withdrawn")
    body = client.get(f"/api/v1/certificates/{cert.code}").get_json()
    assert (body["status"], body["eligible"]) == ("revoked", False)


def test_no_view_or_hook_is_a_coroutine(app: Flask) -> None:
    hooks: list[Any] = [*app.view_functions.values(), *app.teardown_appcontext_funcs]
    for registry in (app.before_request_funcs, app.after_request_funcs,
                     app.teardown_request_funcs, app.url_value_preprocessors,
                     app.template_context_processors):
        for functions in registry.values():
            hooks.extend(functions)
    assert len(hooks) > 100
    assert [f for f in hooks if inspect.iscoroutinefunction(f)] == []


def test_a_one_row_read_that_fails_drops_its_connection(app: Flask) -> None:
    """A statement that fails leaves its connection in a state nobody knows: it is dropped,
    never handed to the next request, and the driver's error reaches the caller."""
    from sqlalchemy import column, select, table

    from courseware.infra.db import DirectRead
    from courseware.services import certificates

    engine = app.extensions["courseware.db"].engine
    dialect_errors = engine.dialect.loaded_dbapi.Error  # sqlite3's or psycopg's base error
    missing = DirectRead(select(column("x")).select_from(table("no_such_table")), tuple)
    dropped: list[object] = []

    def invalidated(dbapi_connection: Any, _record: Any, _exc: Any) -> None:
        dropped.append(dbapi_connection)

    event.listen(engine.pool, "invalidate", invalidated)
    try:
        with pytest.raises(dialect_errors, match="no_such_table"):
            missing.first(engine)
    finally:
        event.remove(engine.pool, "invalidate", invalidated)
    assert len(dropped) == 1 and engine.pool.checkedout() == 0
    # the pool goes on serving
    assert certificates.public_record_of(engine, "0" * 27, clock.utcnow(), "x") is None


# --- a logged-in page (the module page, the course's busiest) ----------------------------------


def _log_in(client: FlaskClient, user: User) -> None:
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302


def _log_in_through_the_form(client: FlaskClient, email: str) -> None:
    """As a browser does where CSRF is checked: the login form's token with the password."""
    token = csrf_of(client.get("/login").text)
    response = client.post("/login", data={"email": email, "password": PASSWORD,
                                           "csrf_token": token})
    assert response.status_code == 302


def test_a_logged_in_page_reads_its_session_and_module_outside_any_transaction(
        app: Flask, client: FlaskClient, learner: User) -> None:
    """The session and account, then the learner's module states: two reads, each on a pooled
    connection on its own; no BEGIN, nothing to roll back at the end of the request."""
    _log_in(client, learner)
    assert client.get("/modules/foundations").status_code == 200  # content data now kept
    engine = app.extensions["courseware.db"].engine
    statements, returned, stop = traced_lookups(engine)
    try:
        response = client.get("/modules/foundations")
    finally:
        stop()
    assert response.status_code == 200 and "Mark this module as read" in response.text
    assert returned == [(False, False), (False, False)]  # idle, out of autocommit
    if engine.dialect.name == "sqlite":
        assert len(statements) == 2
        assert all(s.lstrip().upper().startswith("SELECT") for s in statements), statements
    else:
        assert statements == ["checkout", "checkout"]


def test_the_account_read_directly_is_saved_like_one_loaded(app: Flask, learner: User) -> None:
    """sessions.resolve reads the session and account on a connection of its own and makes the
    account part of the ORM session without a query: a change to it is flushed and committed
    as usual, and a session that already holds the account (with a change not yet flushed)
    gets its own object back."""
    database = app.extensions["courseware.db"]
    policy = sessions.SessionPolicy.from_config(app.config)
    with database.sessions() as s:
        token = sessions.start(s, s.get(User, learner.id), user_agent=None, now=clock.utcnow())
        s.commit()
    with database.sessions() as s:
        found = sessions.resolve(s, token, clock.utcnow(), policy)
        assert found is not None
        _row, user = found
        assert (user.id, user.email, user.role) == (learner.id, learner.email, learner.role)
        assert user in s and not s.dirty
        user.name = "Renamed Learner"
        s.commit()
    with database.sessions() as s:
        held = s.get(User, learner.id)
        assert held is not None and held.name == "Renamed Learner"
        held.name = "Not Flushed Yet"
        found = sessions.resolve(s, token, clock.utcnow(), policy)
        assert found is not None and found[1] is held and found[1].name == "Not Flushed Yet"
        assert sessions.resolve(s, token + "x", clock.utcnow(), policy) is None


def test_a_direct_read_sees_what_its_session_has_written(app: Flask, learner: User) -> None:
    """Module states are read on a connection of their own only while the session has done
    nothing: after a write, flushed or not, they are read in the session's transaction."""
    database = app.extensions["courseware.db"]
    with database.sessions() as s:
        user = s.get(User, learner.id)
        assert user is not None
        first = learning.module_states(s, user)[0]
        assert not first.read
        s.add(ModuleRead(user_id=user.id, module_id=first.id))  # pending, not flushed
        assert learning.module_states(s, user)[0].read
        s.rollback()
        assert not learning.module_states(s, user)[0].read
        assert learning.mark_read(s, user, first)  # flushed in a savepoint
        assert learning.module_states(s, user)[0].read


def test_a_remembered_session_cookie_is_still_checked(app: Flask, client: FlaskClient,
                                                      learner: User) -> None:
    """Opening a cookie once per process changes nothing a cookie may do: a changed one is
    refused, and one older than the session lifetime has expired."""
    _log_in(client, learner)
    assert client.get("/modules/foundations").status_code == 200
    assert client.get("/modules/foundations").status_code == 200  # the remembered one
    name = app.config["SESSION_COOKIE_NAME"]
    cookie = client.get_cookie(name)
    assert cookie is not None
    client.set_cookie(name, cookie.value[:-2] + ("AA" if cookie.value[-2:] != "AA" else "BB"))
    assert client.get("/modules/foundations").status_code == 302
    client.set_cookie(name, cookie.value)
    assert client.get("/modules/foundations").status_code == 200
    app.permanent_session_lifetime = timedelta(seconds=1)
    time.sleep(2.1)  # signing times are whole seconds: 2 s is surely older than 1 s
    response = client.get("/modules/foundations")
    assert response.status_code == 302 and "/login" in response.location


def test_remembered_links_follow_where_the_app_is_mounted(app: Flask) -> None:
    """Links are remembered per mount point: each is the one Flask itself would build."""
    endpoints = [("learn.home", {}), ("verify.form", {}), ("static", {"filename": "site.css"}),
                 ("learn.module", {"slug": "foundations"}), ("verify.form", {"next": "a b"})]
    for mount in ("/training", "", "/training"):
        with app.test_request_context("/", environ_overrides={"SCRIPT_NAME": mount}):
            for endpoint, values in endpoints:
                link = app.url_for(endpoint, **values)
                assert link == Flask.url_for(app, endpoint, **values)
                assert link.startswith(mount + "/")
            assert app.url_for("learn.home", _anchor="top") == mount + "/#top"
            assert app.url_for("learn.home", _external=True) == f"http://localhost{mount}/"


def test_one_signed_csrf_token_serves_every_page_of_a_session(
        database_url: str, tmp_path: Path, make_user: UserFactory) -> None:
    """The templates' token is signed once per session and process: the page carries the same
    one a second later, it is accepted, and another session's token differs."""
    app = make_app(database_url, tmp_path, WTF_CSRF_ENABLED=True)
    learner = make_user()
    tokens = []
    for _session in range(2):
        client = app.test_client()
        _log_in_through_the_form(client, learner.email)
        pages = []
        # (a page with a WTForms form has Flask-WTF sign the token before the template asks)
        for path in ("/modules/foundations", "/modules/foundations"):
            pages.append(csrf_of(client.get(path).text))
            time.sleep(1.1)  # a signature made anew would differ: it carries the second
        assert pages[0] == pages[1]
        tokens.append(pages[0])
        assert client.post("/modules/foundations/read", data={}).status_code == 400
        response = client.post("/modules/foundations/read", data={"csrf_token": pages[0]})
        assert response.status_code == 302
    assert tokens[0] != tokens[1]


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert found, "no CSRF token on the page"
    return found.group(1)


def test_stored_enum_text_reads_as_its_member_and_refuses_a_stranger() -> None:
    """Rows convert their enum columns by a dictionary lookup: the same members Enum itself
    gives, and Enum's own error for text no member has."""
    from sqlalchemy.dialects import sqlite

    from courseware.domain.statuses import ContentKind
    from courseware.models.base import EnumText

    kind, dialect = EnumText(ContentKind), sqlite.dialect()
    for member in ContentKind:
        assert kind.process_result_value(member.value, dialect) is member
    assert kind.process_result_value(None, dialect) is None
    with pytest.raises(ValueError, match="not a valid ContentKind"):
        kind.process_result_value("lecture", dialect)


def test_the_kept_site_header_is_each_roles_and_sessions_own(
        app: Flask, learner: User, trainer: User, admin: User, program: User) -> None:
    """The header is rendered once per role, mount point and session token, and kept: every
    role still sees its own links, whoever asked first."""
    own = {"learner": [], "trainer": ["Grading", "Reports"],
           "admin": ["Grading", "Reports", "Admin"],
           "program": ["Our mentors", "API keys", "Webhooks"]}
    anonymous = app.test_client()
    for repeat in range(2):
        for user in (learner, trainer, admin, program):
            client = app.test_client()
            _log_in(client, user)
            header = client.get("/verify").text.split("</header>")[0]
            for links in own.values():
                for link in links:
                    shown = f">{link}</a>" in header
                    assert shown == (link in own[user.role]), (repeat, user.role, link)
            assert "My progress" in header and "Log out" in header and "Log in" not in header
        header = anonymous.get("/verify").text.split("</header>")[0]
        assert "Log in" in header and "Log out" not in header and "My progress" not in header


def test_the_kept_site_header_carries_the_sessions_csrf_token(
        database_url: str, tmp_path: Path, make_user: UserFactory) -> None:
    """Each session's logout form carries that session's token, and it logs that session out."""
    app = make_app(database_url, tmp_path, WTF_CSRF_ENABLED=True)
    learner = make_user()
    headers_tokens = []
    for _session in range(2):
        client = app.test_client()
        _log_in_through_the_form(client, learner.email)
        header = client.get("/modules/foundations").text.split("</header>")[0]
        token = csrf_of(header)
        headers_tokens.append(token)
        assert client.post("/logout", data={"csrf_token": token}).status_code == 302
        assert client.get("/modules/foundations").status_code == 302  # logged out
    assert headers_tokens[0] != headers_tokens[1]


def test_a_direct_read_refuses_a_statement_with_values_of_its_own(app: Flask) -> None:
    """Its parameters go to the driver as given: a value written into the statement (which
    SQLAlchemy would convert on the way) is refused when the statement is first compiled."""
    from sqlalchemy import select

    from courseware.infra.db import DirectRead
    from courseware.models import ContentItem

    engine = app.extensions["courseware.db"].engine
    literal = DirectRead(select(ContentItem.id).where(ContentItem.slug == "foundations"), int)
    with pytest.raises(ValueError, match="slug"):
        literal.all(engine)


def test_what_a_process_remembers_stays_bounded() -> None:
    from courseware.infra.remembered import Remembered

    kept: Remembered[int, str] = Remembered(3)
    for n in range(10):
        assert kept.keep(n, str(n)) == str(n)
        assert len(kept) <= 3 and kept[n] == str(n)


def test_learners_alike_share_one_module_page_each_with_their_own_token(
        database_url: str, tmp_path: Path, make_user: UserFactory) -> None:
    """The module page is rendered once for learners in the same state and kept; each gets it
    with their own session's CSRF token, which only their session accepts, and a learner whose
    state changes gets the page for the new state (with the flash, once)."""
    app = make_app(database_url, tmp_path, WTF_CSRF_ENABLED=True)
    sessions_ = []
    for _learner in range(2):
        client = app.test_client()
        _log_in_through_the_form(client, make_user().email)
        page = client.get("/modules/foundations").text
        tokens = set(re.findall(r'name="csrf_token"[^>]*value="([^"]+)"', page))
        assert len(tokens) == 1 and "stand-in" not in page  # logout and mark-read forms
        sessions_.append((client, page, tokens.pop()))
    (ann, ann_page, ann_token), (bob, bob_page, bob_token) = sessions_
    assert ann_token != bob_token
    assert ann_page.replace(ann_token, "T") == bob_page.replace(bob_token, "T")
    assert "Mark this module as read" in ann_page

    read = "/modules/foundations/read"
    assert bob.post(read, data={"csrf_token": ann_token}).status_code == 400
    assert bob.post(read, data={"csrf_token": bob_token}).status_code == 302
    after = bob.get("/modules/foundations").text
    assert "is marked as read" in after and "You have marked this module as read" in after
    again = bob.get("/modules/foundations").text
    assert "is marked as read" not in again and "You have marked this module as read" in again
    assert csrf_of(again) == bob_token
    still = ann.get("/modules/foundations").text
    assert "Mark this module as read" in still and csrf_of(still) == ann_token


def test_a_shared_module_page_shows_each_role_its_own_header(
        app: Flask, learner: User, trainer: User) -> None:
    for repeat in range(2):
        for user, grading in ((learner, False), (trainer, True)):
            client = app.test_client()
            _log_in(client, user)
            header = client.get("/modules/foundations").text.split("</header>")[0]
            assert (">Grading</a>" in header) == grading, (repeat, user.role)


@pytest.mark.parametrize("personal", ["current_user.name", "session['csrf_token']", "g.user",
                                      "request.path"])
def test_a_shared_page_cannot_read_the_persons_own_objects(
        app: Flask, learner: User, personal: str) -> None:
    """Everything a shared page shows must come in its context (which is its key): a template
    reading the person's own objects would show one learner's page to the next, so it fails."""
    from flask_login import login_user
    from jinja2 import ChoiceLoader, DictLoader

    from courseware.web.layout import shared_page

    original = app.jinja_env.loader
    assert original is not None
    app.jinja_env.loader = ChoiceLoader([DictLoader({"personal.html": f"{{{{ {personal} }}}}",
                                                     "given.html": "{{ name }}"}), original])
    try:
        with app.test_request_context("/modules/foundations"):
            login_user(learner)
            assert shared_page("given.html", name="Ann") == b"Ann"
            with pytest.raises(RuntimeError, match="shared page cannot read"):
                shared_page("personal.html")
    finally:
        app.jinja_env.loader = original


def test_with_templates_reloading_every_kept_rendering_shows_an_edit_at_once(
        database_url: str, tmp_path: Path, make_user: UserFactory) -> None:
    """In debug, the site header, the lesson and the shared module page are made afresh for
    every request, so a template edit shows at the next one (the loader reports the edit)."""
    from jinja2 import ChoiceLoader, DictLoader

    app = make_app(database_url, tmp_path, TEMPLATES_AUTO_RELOAD=True)
    edits: dict[str, str] = {}
    original = app.jinja_env.loader
    assert app.jinja_env.auto_reload and original is not None
    app.jinja_env.loader = ChoiceLoader([DictLoader(edits), original])
    client = app.test_client()
    _log_in(client, make_user())
    for edit in ("first", "second"):
        edits.update({
            "_site_header.html": f"<header>header, {edit} edit</header>",
            "learn/_lesson.html": f"<p>lesson, {edit} edit</p>",
            "learn/module.html": '{% extends "base.html" %}{% block content %}{{ lesson }}'
                                 f"<p>page, {edit} edit</p>{{% endblock %}}",
        })
        page = client.get("/modules/foundations").text
        for part in ("header", "lesson", "page"):
            assert f"{part}, {edit} edit" in page, (part, edit)


def _revision(app: Flask) -> str:
    from sqlalchemy import select

    from courseware.models import CatalogueRevision

    with app.app_context(), app.extensions["courseware.db"].session(write=False) as s:
        found = s.scalar(select(CatalogueRevision.revision))
        assert found is not None
        return found


def test_a_running_app_sees_a_sync_at_once_though_it_keeps_the_catalogue(
        database_url: str, tmp_path: Path, make_user: UserFactory) -> None:
    """Each process keeps the active content it read under the catalogue's revision, which
    every sync that changes something sets anew in its own transaction: a page served by one
    app shows what a sync made by another process changed, at its next request."""
    import shutil

    from tests.helpers import read_module

    serving = make_app(database_url, tmp_path / "serving")
    learner = make_user()
    client = serving.test_client()
    _log_in(client, learner)
    read_module(client, "foundations")
    assert "Foundations of peer mentoring" in client.get("/").text
    root = tmp_path / "content"
    for name in ("modules", "quizzes", "certificates"):
        shutil.copytree(PROJECT_ROOT / name, root / name)
    syncing = make_app(database_url, tmp_path / "syncing", CONTENT_ROOT=root)
    before = _revision(serving)
    assert syncing.test_cli_runner().invoke(args=["courseware", "sync"]).exit_code == 0
    assert _revision(serving) == before  # nothing changed: the kept catalogue stays good

    module = root / "modules/foundations.md"
    module.write_text(module.read_text(encoding="utf-8").replace(
        'title = "Foundations of peer mentoring"', 'title = "Peer mentoring: the foundations"'),
        encoding="utf-8")
    result = syncing.test_cli_runner().invoke(args=["courseware", "sync"])
    assert result.exit_code == 0, result.output
    assert _revision(serving) != before
    home = client.get("/").text
    assert "Peer mentoring: the foundations" in home
    assert "Foundations of peer mentoring" not in home
    page = client.get("/modules/foundations").text
    assert "Peer mentoring: the foundations" in page
    assert "You have marked this module as read" in page  # the learner's own marks still count
