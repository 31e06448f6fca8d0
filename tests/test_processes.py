"""Security properties that need real server processes sharing one database."""

from __future__ import annotations

import http.cookiejar
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from courseware.infra.config import PROJECT_ROOT
from tests.conftest import UserFactory

GUNICORN = Path(sys.executable).parent / "gunicorn"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Browserless:
    """A cookie-keeping HTTP client that fills in the CSRF token like a browser would."""

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()),
            NoRedirect())

    def get(self, path: str) -> tuple[int, str]:
        try:
            with self.opener.open(self.base + path, timeout=20) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def login(self, email: str, password: str) -> tuple[int, str]:
        _, page = self.get("/login")
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
        assert token, page[:500]
        data = urllib.parse.urlencode({"csrf_token": token.group(1), "email": email,
                                       "password": password}).encode()
        try:
            with self.opener.open(self.base + "/login", data=data, timeout=20) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()


ACCOUNTS = (("learner@example.org", "learner", "a learner's long passphrase"),
            ("trainer@example.org", "trainer", "a trainer's long passphrase"))


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return None


@pytest.fixture
def two_servers(tmp_path: Path, database_url: str, make_user: UserFactory) -> Iterator[list[str]]:
    env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": "shared-secret",
           "COURSEWARE_INSTANCE": str(tmp_path / "instance")}
    for email, role, password in ACCOUNTS:
        make_user(role, email=email, name=role, password=password)
    processes, bases = [], []
    for _ in range(2):
        port = free_port()
        bases.append(f"http://127.0.0.1:{port}")
        processes.append(subprocess.Popen(
            [str(GUNICORN), "--workers", "1", "--bind", f"127.0.0.1:{port}", "app:app"],
            cwd=PROJECT_ROOT, env={**env, "BASE_URL": bases[-1]},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    try:
        for base in bases:
            deadline = time.monotonic() + 30
            while True:
                try:
                    urllib.request.urlopen(base + "/login", timeout=2).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
        yield bases
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=20)


def test_login_throttle_is_shared_by_two_server_processes(two_servers: list[str]) -> None:
    first, second = (Browserless(base) for base in two_servers)
    for attempt in range(5):  # LOGIN_FREE_FAILURES, spread over both processes
        client = first if attempt % 2 == 0 else second
        status, page = client.login("learner@example.org", "wrong password")
        assert status == 422 and "Email or password is incorrect" in page
    # both processes now make this client wait, even with the right password: the count is in
    # the database
    for client in (first, second):
        status, page = client.login("learner@example.org", ACCOUNTS[0][2])
        assert status == 422 and "Too many failed attempts" in page
    # another account from the same client is unaffected
    status, _ = second.login("trainer@example.org", ACCOUNTS[1][2])
    assert status == 302


def test_session_cookie_flags_from_a_real_server(two_servers: list[str]) -> None:
    client = Browserless(two_servers[0])
    client.get("/login")
    status, _ = client.login("learner@example.org", ACCOUNTS[0][2])
    assert status == 302
    request = urllib.request.Request(two_servers[0] + "/login", method="GET")
    with urllib.request.urlopen(request, timeout=10) as response:
        cookie = response.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
