"""Shared fixtures: an app per test on its own database, clients, users by role, a clock.

Every test gets a fresh database cloned from a template that was migrated with alembic and
synced with the real course content once per run: a file copy on SQLite, CREATE DATABASE ...
TEMPLATE on PostgreSQL (set TEST_DATABASE_URL to a server's URL to run the suite there).
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask, got_request_exception
from flask.testing import FlaskClient
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from courseware.domain import clock
from courseware.domain.content import load_catalogue
from courseware.factory import create_app
from courseware.infra.config import PROJECT_ROOT
from courseware.infra.db import Database
from courseware.infra.jobs import close as close_queue
from courseware.infra.migrate import upgrade
from courseware.models import Base, User
from courseware.services import accounts
from courseware.services.audit import COMMAND_LINE
from courseware.services.content_sync import sync_catalogue
from tests.factories import Factory
from tests.mailing import SmtpSink, redis_server

PASSWORD = "correct horse battery staple"
PG_URL = os.environ.get("TEST_DATABASE_URL", "")
_counter = itertools.count()


def _prepare(url: str) -> None:
    database = Database(url)
    upgrade(database.engine)
    with database.session() as s:
        sync_catalogue(s, load_catalogue(PROJECT_ROOT), actor=COMMAND_LINE)
        s.commit()
    database.engine.dispose()


CONTENT_TABLES = {"content_item", "content_version", "catalogue_revision"}
FINGERPRINT = text(
    "SELECT (SELECT count(*) FROM content_version), (SELECT coalesce(max(id), 0) FROM "
    "content_version), (SELECT string_agg(concat_ws(':', id, active, current_version_id, "
    "position, title), ',' ORDER BY id) FROM content_item), "
    "(SELECT revision FROM catalogue_revision)")


@dataclass
class Template:
    """Where each test's database comes from.

    SQLite: a copy of the template file per test. PostgreSQL: one database per run, cloned from
    the template once; after each test its learner data is truncated (milliseconds, where a new
    clone costs a few hundred), and it is cloned afresh only when a test changed the content.
    """

    url: str
    path: Path | None  # SQLite file to copy, None on PostgreSQL
    current: str | None = None
    fingerprint: tuple[object, ...] | None = None

    def clone(self, tmp: Path) -> str:
        if self.path is not None:
            target = tmp / "test.db"
            shutil.copyfile(self.path, target)
            return f"sqlite:///{target}"
        if self.current is None:
            name = f"cw_test_{os.getpid()}_{next(_counter)}"
            with _admin() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE cw_template'))
            self.current = make_url(PG_URL).set(database=name).render_as_string(
                hide_password=False)
            self.fingerprint = self._fingerprint()
        return self.current

    def _fingerprint(self) -> tuple[object, ...]:
        engine = create_engine(self.current or "", poolclass=NullPool)
        try:
            with engine.connect() as conn:
                return tuple(conn.execute(FINGERPRINT).one())
        finally:
            engine.dispose()

    def drop(self, url: str) -> None:
        if self.path is not None:
            return
        if self._fingerprint() == self.fingerprint and self._truncate():
            return
        name = make_url(url).database
        assert name and re.fullmatch(r"cw_test_\d+_\d+", name)
        with _admin() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.current = None

    def _truncate(self) -> bool:
        tables = ", ".join(f'"{t}"' for t in Base.metadata.tables if t not in CONTENT_TABLES)
        engine = create_engine(self.current or "", poolclass=NullPool)
        try:
            with engine.begin() as conn:
                conn.execute(text("SET LOCAL lock_timeout = '5s'"))
                conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
            return True
        except OperationalError:  # something still holds a lock: start from a fresh clone
            return False
        finally:
            engine.dispose()


@contextmanager
def _admin() -> Iterator[Connection]:
    """An autocommit connection to the server's maintenance database, closed after use."""
    engine = create_engine(PG_URL, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Template]:
    if PG_URL:
        with _admin() as conn:
            conn.execute(text("DROP DATABASE IF EXISTS cw_template WITH (FORCE)"))
            conn.execute(text("CREATE DATABASE cw_template"))
        url = make_url(PG_URL).set(database="cw_template").render_as_string(hide_password=False)
        _prepare(url)
        pg = Template(url, None)
        yield pg
        if pg.current:
            with _admin() as conn:
                name = make_url(pg.current).database
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        return
    path = tmp_path_factory.mktemp("template") / "template.db"
    _prepare(f"sqlite:///{path}")
    yield Template(f"sqlite:///{path}", path)


@pytest.fixture
def database_url(template: Template, tmp_path: Path) -> Iterator[str]:
    url = template.clone(tmp_path)
    yield url
    _dispose_made_apps()  # nothing of the test may hold a connection while it is reset
    try:
        assert_audit_events_name_their_actor(url)
    finally:
        template.drop(url)


def make_app(database_url: str, tmp_path: Path, **overrides: object) -> Flask:
    config = {
        "TESTING": True,
        "DATABASE_URL": database_url,
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "SECRET_KEY": "test-secret-key",
        "BASE_URL": "http://localhost",
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "FAST_PASSWORD_HASH": True,
        "SUMMARY_MAX_AGE_SECONDS": 0,  # every test counts afresh
        # no work is drawn for a second mark unless a test asks (tests/test_double_marking.py):
        # otherwise a tenth of any test's submissions would wait for one
        "DOUBLE_MARK_PERCENT": 0,
        # staff log in with a password alone here; tests/test_second_factor.py turns it on
        "SECOND_FACTOR_REQUIRED_FOR_STAFF": False,
        # nothing leaves a test unless it asks: flask-mailman keeps messages in memory
        "MAIL_BACKEND": "locmem",
    }
    config.update(overrides)
    application = create_app(config)
    _made_apps.append(application)
    return application


_made_apps: list[Flask] = []


@pytest.fixture(autouse=True)
def _dispose_apps() -> Iterator[None]:
    """Close the pools of every app a test made, so no connection is left to the GC."""
    yield
    _dispose_made_apps()


def _dispose_made_apps() -> None:
    while _made_apps:
        made = _made_apps.pop()
        made.extensions["courseware.db"].engine.dispose()
        close_queue(made.extensions["courseware.jobs"].huey)


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Flask:
    return make_app(database_url, tmp_path)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask):  # type: ignore[no-untyped-def]
    return app.test_cli_runner()


@pytest.fixture
def db(app: Flask) -> Iterator[object]:
    """A session outside any request, for arranging data and checking results."""
    with app.app_context(), app.extensions["courseware.db"].session() as s:
        yield s


@pytest.fixture(autouse=True)
def _no_server_errors(request: pytest.FixtureRequest) -> Iterator[None]:
    """Any unhandled exception in any request of any test fails that test: no 5xx anywhere."""
    seen: list[BaseException] = []

    def record(_sender: object, exception: BaseException, **_extra: object) -> None:
        seen.append(exception)

    got_request_exception.connect(record)
    yield
    got_request_exception.disconnect(record)
    if not request.node.get_closest_marker("allows_server_error"):
        assert not seen, f"a request raised {seen[0]!r}"


@pytest.fixture(autouse=True)
def _unfrozen_clock() -> Iterator[None]:
    yield
    clock.freeze(None)


@pytest.fixture
def frozen():  # type: ignore[no-untyped-def]
    moment = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
    clock.freeze(moment)
    yield clock
    clock.freeze(None)


class UserFactory:
    def __init__(self, app: Flask):
        self.app = app
        self.count = itertools.count(1)

    def __call__(self, role: str = "learner", *, email: str | None = None,
                 name: str | None = None, password: str = PASSWORD) -> User:
        n = next(self.count)
        with self.app.app_context(), self.app.extensions["courseware.db"].session() as s:
            user = accounts.create_user(
                s, email=email or f"{role}{n}@example.org", name=name or f"{role.title()} {n}",
                password=password, role=role, fast_hash=True)
            s.commit()
            s.refresh(user)
            s.expunge(user)
            return user


@pytest.fixture
def make_user(app: Flask) -> UserFactory:
    return UserFactory(app)


class Auth:
    def __init__(self, client: FlaskClient):
        self.client = client

    def login(self, user: User | str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
        email = user if isinstance(user, str) else user.email
        return self.client.post("/login", data={"email": email, "password": password})

    def logout(self):  # type: ignore[no-untyped-def]
        return self.client.post("/logout")


@pytest.fixture
def auth(client: FlaskClient) -> Auth:
    return Auth(client)


@pytest.fixture
def learner(make_user: UserFactory) -> User:
    return make_user("learner", name="Lena Learner")


@pytest.fixture
def trainer(make_user: UserFactory) -> User:
    return make_user("trainer", name="Tomas Trainer")


@pytest.fixture
def trainer2(make_user: UserFactory) -> User:
    return make_user("trainer", name="Tariq Trainer")


@pytest.fixture
def admin(make_user: UserFactory) -> User:
    return make_user("admin", name="Ada Admin")


@pytest.fixture
def program(factory: Factory) -> User:
    """A staff login (role program) of the program "Northside Mentoring" (its `program_id`)."""
    return factory.program_staff(factory.program("Northside Mentoring"))


@pytest.fixture
def clients(app: Flask, learner: User, trainer: User,
            factory: Factory) -> tuple[FlaskClient, FlaskClient]:
    """A learner's and a (calibrated) trainer's logged-in clients on the same app."""
    factory.calibrate(trainer)
    learner_client, trainer_client = app.test_client(), app.test_client()
    Auth(learner_client).login(learner)
    Auth(trainer_client).login(trainer)
    return learner_client, trainer_client


# What only the command line does; anything else recorded as done there is a misattribution.
COMMAND_LINE_ACTIONS = {"user.create", "content.sync", "certificate.issue", "certificate.revoke",
                        "certificate.suspend", "certificate.reinstate", "second_factor.reset",
                        "audit.prune", "program.create", "program.staff_add",
                        "program.approve", "program.decline", "api_key.create",
                        "api_key.revoke"}
# What a program's integration does with one of its API keys (the actor is the key).
API_KEY_ACTIONS = {"watchlist.add", "watchlist.remove", "webhook.create", "webhook.rotate_secret",
                   "webhook.delete"}
# What someone not (yet) logged in can cause: a failed login, a delay, a refusal.
VISITOR_ACTIONS = {"login.failed", "login.throttled", "login.second_factor_failed",
                   "access.denied"}


def assert_audit_events_name_their_actor(url: str) -> None:
    """Every audit event of every test names who acted: a person by account, or the command line
    for what only it does (and a certificate issued there is always a manual one)."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text(
                "SELECT id, action, actor_id, actor_label, details FROM audit_event")).all()
    finally:
        engine.dispose()
    for event_id, action, actor_id, label, details in rows:
        where = f"audit event {event_id} ({action})"
        assert label, f"{where} has no actor"
        if actor_id is None and label == "visitor (not logged in)":
            assert action in VISITOR_ACTIONS, f"{where} recorded as a visitor's"
        elif actor_id is None and label.startswith("API key cwk_"):
            assert action in API_KEY_ACTIONS, f"{where} recorded as an API key's"
        elif actor_id is None:
            assert label == "command line", f"{where}: no account, yet '{label}'"
            assert action in COMMAND_LINE_ACTIONS, f"{where} recorded as the command line's"
            if action == "certificate.issue":
                info = details if isinstance(details, dict) else json.loads(details)
                assert info.get("manual"), f"{where}: an earned certificate needs its actor"


@pytest.fixture
def factory(app: Flask) -> Factory:
    """Builds state through the services, for tests that are not about HTTP."""
    return Factory(app)


# --- mail and jobs: real parts ------------------------------------------------------------------

@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str | None]:
    """A throwaway redis-server for the whole run (None where it is not installed)."""
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.fixture(params=["sqlite", "redis"])
def queue(request: pytest.FixtureRequest, redis_url: str | None) -> dict[str, object]:
    """Where the job queue and the rate limits live: SqliteHuey and memory, then Redis."""
    if request.param == "sqlite":
        return {}
    if redis_url is None:
        pytest.skip("redis-server is not installed (apt-get install -y redis-server)")
    unique = f"cw-{uuid.uuid4().hex[:12]}"  # one queue and one set of limit keys per test
    return {"REDIS_URL": redis_url, "JOBS_QUEUE": unique, "RATELIMIT_KEY_PREFIX": unique}


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    """A real SMTP server on loopback that keeps what it receives."""
    sink = SmtpSink().start()
    yield sink
    sink.stop()


MAIL_SETTINGS = {"MAIL_BACKEND": "smtp", "MAIL_SERVER": "127.0.0.1", "MAIL_TIMEOUT": 10,
                 "MAIL_RETRY_DELAY": 0.5, "MAIL_DEFAULT_SENDER": "Courseware <no-reply@x.org>"}


@pytest.fixture
def mail_app(database_url: str, tmp_path: Path, smtp: SmtpSink,
             queue: dict[str, object]) -> Flask:
    """An app that sends mail to the test's SMTP server through its job queue."""
    return make_app(database_url, tmp_path, **MAIL_SETTINGS, MAIL_PORT=smtp.port, **queue)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On the PostgreSQL pass, run only what touches a database.

    `make test` runs the suite twice, on SQLite and then on PostgreSQL; a test that never asks
    for a database (rules, content, parsing, the layers) proves nothing new the second time.
    A test touches the database when its fixtures reach `template` (the migrated database every
    app is cloned from), or it is a browser journey (whose server has its own database), or it
    reads TEST_DATABASE_URL itself (marked `postgres`)."""
    if not PG_URL:
        return
    keep: list[pytest.Item] = []
    skipped: list[pytest.Item] = []
    for item in items:
        uses_database = ("template" in getattr(item, "fixturenames", ())
                         or "e2e" in item.path.parts
                         or item.get_closest_marker("postgres") is not None)
        (keep if uses_database else skipped).append(item)
    if skipped:
        config.hook.pytest_deselected(items=skipped)
        items[:] = keep
