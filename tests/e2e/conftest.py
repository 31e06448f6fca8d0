"""Browser journeys: a real gunicorn server on a fresh database, driven by Debian's Chromium.

The server runs once per session on a free localhost port with its own instance folder and
database (a SQLite file, or a fresh PostgreSQL database when TEST_DATABASE_URL is set). Each
test gets fresh browser contexts (one per person) from `people`; every page they open is
watched for dialogs and for console errors caused by the Content-Security-Policy.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Dialog,
    Page,
    Playwright,
    Response,
    Route,
    sync_playwright,
)
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from courseware.infra.config import PROJECT_ROOT
from tests.mailing import SmtpSink

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic",
]
BIN = Path(sys.executable).parent
PG_URL = os.environ.get("TEST_DATABASE_URL", "")
# the accounts the journeys use, made with `users create` (demo accounts are only for a local
# trial on the embedded database): (email, name, role, password)
ACCOUNTS = (
    ("admin@example.org", "Ada Admin", "admin", "e2e-admin-password"),
    ("trainer@example.org", "Tomas Trainer", "trainer", "e2e-trainer-password"),
    ("trainer2@example.org", "Tariq Trainer", "trainer", "e2e-trainer2-password"),
    ("trainer3@example.org", "Third Trainer", "trainer", "e2e-trainer3-password"),
    # a trainer with no second factor yet, for the passkey journey alone
    ("trainer4@example.org", "Pat Passkey", "trainer", "e2e-trainer4-password"),
    ("learner@example.org", "Lena Learner", "learner", "e2e-learner-password"),
    # a learner of their own for the password-reset journey, which changes the password
    ("reset@example.org", "Rita Reset", "learner", "e2e-reset-password"),
    # a certificate holder whom the program journey follows
    ("holder@example.org", "Holly Holder", "learner", "e2e-holder-password"),
)
# a program made at the command line; its contact's login chooses its password from the mail
PROGRAM = ("E2E Mentoring", "team@e2e-mentoring.example")
TRAINER3 = (ACCOUNTS[3][0], ACCOUNTS[3][1], ACCOUNTS[3][3])  # (email, name, password)


@dataclass
class Server:
    base_url: str
    database_url: str
    instance: Path
    log: Path
    smtp: SmtpSink  # where the job worker delivers the site's mail
    worker_log: Path

    def url(self, path: str) -> str:
        return self.base_url + path

    def logged_errors(self) -> list[str]:
        """What the server and the job worker logged with a traceback, each record whole."""
        return [f"the {name} logged:\n{record}"
                for name, log in (("server", self.log), ("job worker", self.worker_log))
                for record in _records_with_a_trace(log)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _admin_engine():  # type: ignore[no-untyped-def]
    return create_engine(PG_URL, isolation_level="AUTOCOMMIT", poolclass=NullPool)


def _create_pg_database() -> tuple[str, str]:
    name = f"cw_e2e_{os.getpid()}"
    engine = _admin_engine()
    try:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()
    return name, make_url(PG_URL).set(database=name).render_as_string(hide_password=False)


def _drop_pg_database(name: str) -> None:
    assert re.fullmatch(r"cw_e2e_\d+", name)
    engine = _admin_engine()
    try:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        engine.dispose()


# Every setup command runs in one process, each through its own click command as `flask --app
# app ...` runs it: a process per command cost two seconds of start-up each, a dozen times.
_SETUP = """
import json, sys, traceback
from app import app
runner = app.test_cli_runner()
for args, stdin in json.loads(sys.stdin.read()):
    result = runner.invoke(args=args, input=stdin)
    if result.exit_code != 0:
        print("flask", *args, "exited with", result.exit_code, file=sys.stderr)
        print(result.output, file=sys.stderr)
        if result.exc_info is not None and not isinstance(result.exception, SystemExit):
            traceback.print_exception(*result.exc_info)
        sys.exit(1)
"""


def _run_commands(env: dict[str, str], commands: list[tuple[list[str], str | None]]) -> None:
    result = subprocess.run(
        [str(BIN / "python"), "-c", _SETUP], cwd=PROJECT_ROOT, env=env,
        input=json.dumps(commands), capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, f"setting up:\n{result.stdout}\n{result.stderr}"


def _wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (localhost)
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the server did not answer {url} within 30 s:\n{log.read_text()}")


@pytest.fixture(scope="session")
def server() -> Iterator[Server]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (Debian's package)")
    tmp = Path(tempfile.mkdtemp(prefix="courseware-e2e-"))
    instance = tmp / "instance"
    instance.mkdir()
    pg_name = None
    if PG_URL:
        pg_name, database_url = _create_pg_database()
    else:
        database_url = f"sqlite:///{tmp / 'e2e.db'}"
    port = _free_port()
    # "localhost", not an address: a passkey's relying party is a domain name
    base_url = f"http://localhost:{port}"
    smtp = SmtpSink().start()
    env = {
        **os.environ,
        "COURSEWARE_INSTANCE": str(instance),
        "DATABASE_URL": database_url,
        "BASE_URL": base_url,
        "SECRET_KEY": "e2e-secret-key-not-for-production",
        # the journeys draw no work for a second mark; the double-marking journey seeds one
        "DOUBLE_MARK_PERCENT": "0",
        # every journey logs in from 127.0.0.1: the per-IP login budget is for one person, not
        # a whole suite (the limit itself is tested in tests/test_auth.py)
        "LOGIN_LIMIT": "500 per 5 minutes",
        "PYTHONUNBUFFERED": "1",
        # mail leaves through a real job worker to a real SMTP server on loopback
        "MAIL_BACKEND": "smtp", "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(smtp.port),
        "MAIL_DEFAULT_SENDER": "Peer Mentor Training <no-reply@example.org>",
    }
    env.pop("REDIS_URL", None)
    log = tmp / "gunicorn.log"
    worker_log = tmp / "worker.log"
    process: subprocess.Popen[bytes] | None = None
    worker: subprocess.Popen[bytes] | None = None
    try:
        _run_commands(env, [
            (["db", "upgrade"], None),
            (["courseware", "sync"], None),
            *((["users", "create", email, "--name", name, "--role", role, "--password-stdin"],
               password + "\n") for email, name, role, password in ACCOUNTS),
            (["certificates", "issue", "holder@example.org", "--track", "certified-peer-mentor",
              "--reason", "Seeded for the program journey"], None),
            (["programs", "create", PROGRAM[0], "--contact", PROGRAM[1]], None),
        ])
        with log.open("wb") as out:
            process = subprocess.Popen(
                [str(BIN / "gunicorn"), "--workers", "1", "--threads", "4",
                 "--bind", f"127.0.0.1:{port}", "app:app"],
                cwd=PROJECT_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        with worker_log.open("wb") as out:
            worker = subprocess.Popen(
                [str(BIN / "flask"), "--app", "app", "jobs", "worker"],
                cwd=PROJECT_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        _wait_until_up(base_url + "/", process, log)
        running = Server(base_url, database_url, instance, log, smtp, worker_log)
        yield running
        # any unhandled exception the server or the worker logged fails the run
        errors = running.logged_errors()
        assert not errors, "\n\n".join(errors)
    finally:
        for running, stop in ((process, signal.SIGTERM), (worker, signal.SIGINT)):
            if running is None:
                continue
            running.send_signal(stop)  # the worker's SIGINT lets a running job finish
            try:
                running.wait(timeout=20)
            except subprocess.TimeoutExpired:
                running.kill()
                running.wait(timeout=10)
        smtp.stop()
        if pg_name is not None:
            _drop_pg_database(pg_name)
        shutil.rmtree(tmp, ignore_errors=True)


# a line the server or the worker begins a log record with (the request log's, gunicorn's)
_RECORD_START = re.compile(r"^(\d\d:\d\d:\d\d |\{|\[\d{4}-)")


def _records_with_a_trace(log: Path) -> list[str]:
    """The records of a log that carry a traceback, whole (the record's line and its trace)."""
    records: list[list[str]] = []
    lines = log.read_text(errors="replace").splitlines() if log.exists() else []
    for line in lines:
        if _RECORD_START.match(line) or not records:
            records.append([line])
        else:
            records[-1].append(line)
    return ["\n".join(record) for record in records if any("Traceback" in line for line in record)]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """A failed journey's report carries what the server and the worker logged with a trace:
    a page that says "Something went wrong" is explained by the error behind it."""
    report = yield
    server = getattr(item, "funcargs", {}).get("server")
    if report.failed and isinstance(server, Server) and (errors := server.logged_errors()):
        report.sections.append(("errors the server and the job worker logged",
                                "\n\n".join(errors)))
    return report


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright: Playwright, server: Server) -> Iterator[Browser]:
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@dataclass
class Watch:
    """What the pages of one test showed besides their content."""

    dialogs: list[str] = field(default_factory=list)
    csp_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)  # requests refused: not to the server
    server_errors: list[str] = field(default_factory=list)  # 5xx answers

    def attach(self, page: Page) -> None:
        page.on("dialog", self._dialog)
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.page_errors.append(str(exc)))
        page.on("response", self._response)

    def _response(self, response: Response) -> None:
        if response.status >= 500:
            self.server_errors.append(f"{response.status} {response.url}")

    def _dialog(self, dialog: Dialog) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error" and "content security policy" in message.text.lower():
            self.csp_errors.append(f"{message.location.get('url', '')}: {message.text}")


class People:
    """Fresh browser contexts, one per person, closed at the end of the test."""

    def __init__(self, browser: Browser, server: Server, watch: Watch):
        self.browser, self.server, self.watch = browser, server, watch
        self.contexts: list[BrowserContext] = []
        self._watched: set[int] = set()

    def new(self, **options: Any) -> Page:
        context = self.browser.new_context(base_url=self.server.base_url, locale="en-GB",
                                           accept_downloads=True, **options)
        context.set_default_timeout(15_000)
        context.set_default_navigation_timeout(20_000)
        context.route("**/*", self._only_the_server)
        context.on("page", self._attach)
        self.contexts.append(context)
        page = context.new_page()
        self._attach(page)
        return page

    def _only_the_server(self, route: Route) -> None:
        url = route.request.url
        if url == self.server.base_url or url.startswith(self.server.base_url + "/"):
            route.continue_()
        else:  # nothing leaves the machine: no CDN, no fonts, no trackers
            self.watch.outside.append(url)
            route.abort()

    def _attach(self, page: Page) -> None:
        if id(page) not in self._watched:
            self._watched.add(id(page))
            self.watch.attach(page)

    def close(self) -> None:
        for context in self.contexts:
            context.close()


@pytest.fixture
def watch() -> Watch:
    return Watch()


@pytest.fixture
def people(browser: Browser, server: Server, watch: Watch) -> Iterator[People]:
    crew = People(browser, server, watch)
    yield crew
    crew.close()
    assert not watch.csp_errors, "Content-Security-Policy errors:\n" + "\n".join(watch.csp_errors)
    assert not watch.page_errors, "JavaScript errors:\n" + "\n".join(watch.page_errors)
    assert not watch.outside, "requests beyond the server:\n" + "\n".join(watch.outside)
    assert not watch.server_errors, "server errors:\n" + "\n".join(watch.server_errors)
