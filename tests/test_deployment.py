"""Deployment safety: demo accounts only for a local trial, production refuses them; HSTS and
__Host- cookies over https; a private instance folder and database file; TRUSTED_PROXIES."""

from __future__ import annotations

import re
import stat
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from courseware.cli.commands import DEMO_ACCOUNTS
from courseware.factory import create_app
from courseware.models import AuditEvent, User
from courseware.web.app import DemoAccountsInProduction
from tests.conftest import Auth, make_app
from tests.test_auth import logged_in


@pytest.fixture
def embedded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Flask:
    """An app on the embedded default database (a SQLite file in its instance folder)."""
    for name in ("DATABASE_URL", "COURSEWARE_ENV", "BASE_URL", "HOST"):
        monkeypatch.delenv(name, raising=False)
    app = create_app({"INSTANCE_PATH": str(tmp_path / "instance"), "FAST_PASSWORD_HASH": True,
                      "SECRET_KEY": "x", "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False})
    assert app.test_cli_runner().invoke(args=["db", "upgrade"]).exit_code == 0
    yield app
    app.extensions["courseware.db"].engine.dispose()


def demo_passwords(output: str) -> dict[str, str]:
    return dict(re.findall(r"^\s+\w+\s+(\S+@example\.org)\s+(\S+)$", output, re.M))


def test_demo_accounts_get_new_random_passwords_each_run(embedded: Flask) -> None:
    runner = embedded.test_cli_runner()
    first = runner.invoke(args=["demo", "--host", "127.0.0.1"])
    assert first.exit_code == 0, first.output
    before = demo_passwords(first.output)
    assert set(before) == {email for email, _n, _r in DEMO_ACCOUNTS}
    assert all(len(p) >= 16 for p in before.values())
    assert "demo-admin-password" not in first.output
    second = runner.invoke(args=["demo"])
    after = demo_passwords(second.output)
    assert set(after) == set(before) and not set(after.values()) & set(before.values())
    email = "admin@example.org"
    assert Auth(embedded.test_client()).login(email, before[email]).status_code == 422
    client = embedded.test_client()
    assert Auth(client).login(email, after[email]).status_code == 302 and logged_in(client)
    with embedded.app_context(), embedded.extensions["courseware.db"].session() as s:
        rows = s.scalars(select(User).where(User.demo.is_(True))).all()
        assert len(rows) == len(DEMO_ACCOUNTS)
        assert {(u.email, u.name, u.role) for u in rows} == set(DEMO_ACCOUNTS)


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "example.org", "::"])  # noqa: S104
def test_no_demo_accounts_off_loopback(embedded: Flask, host: str) -> None:
    result = embedded.test_cli_runner().invoke(args=["demo", "--host", host])
    assert result.exit_code != 0 and "not to this machine alone" in result.output


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "[::1]", "127.0.0.2"])
def test_loopback_hosts(embedded: Flask, host: str) -> None:
    assert embedded.test_cli_runner().invoke(args=["demo", "--host", host]).exit_code == 0


def test_no_demo_accounts_on_another_database(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["demo", "--host", "127.0.0.1"])
    assert result.exit_code != 0 and "other than the embedded one" in result.output
    with app.app_context(), app.extensions["courseware.db"].session() as s:
        assert s.scalars(select(User)).all() == []


def test_no_demo_accounts_in_production(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("COURSEWARE_ENV", "production")
    app = create_app({"INSTANCE_PATH": str(tmp_path / "p"), "SECRET_KEY": "x"})
    app.test_cli_runner().invoke(args=["db", "upgrade"])
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code != 0 and "production configuration" in result.output
    app.extensions["courseware.db"].engine.dispose()


@pytest.mark.parametrize("production", [{"BASE_URL": "https://mentors.example.org"},
                                        {"COURSEWARE_ENV": "production"}])
def test_production_refuses_to_start_with_a_demo_account(
    embedded: Flask, monkeypatch: pytest.MonkeyPatch, production: dict[str, str],
) -> None:
    assert embedded.test_cli_runner().invoke(args=["demo"]).exit_code == 0
    for name, value in production.items():
        monkeypatch.setenv(name, value)
    config = {"INSTANCE_PATH": embedded.instance_path, "SECRET_KEY": "x"}
    with pytest.raises(DemoAccountsInProduction, match="demo accounts exist"):
        create_app(config)
    # once the demo accounts are deactivated, it starts
    with embedded.app_context(), embedded.extensions["courseware.db"].session() as s:
        for user in s.scalars(select(User).where(User.demo.is_(True))):
            user.active = False
        s.commit()
    started = create_app(config)
    assert started.config["PRODUCTION"]
    started.extensions["courseware.db"].engine.dispose()


def test_hsts_and_host_prefixed_cookies_over_https(database_url: str, tmp_path: Path,
                                                  learner: User) -> None:
    app = make_app(database_url, tmp_path / "https", BASE_URL="https://mentors.example.org",
                   SESSION_COOKIE_SECURE=True)
    assert app.config["SESSION_COOKIE_NAME"] == "__Host-courseware_session"
    client = app.test_client()
    response = client.post("/login", base_url="https://localhost",
                           data={"email": learner.email, "password":
                                 "correct horse battery staple"})
    assert response.status_code == 302
    cookies = response.headers.getlist("Set-Cookie")
    for name in ("__Host-courseware_session=", "__Host-courseware_device="):
        cookie = next(c for c in cookies if c.startswith(name))
        assert "Secure" in cookie and "Path=/" in cookie and "Domain" not in cookie
    page = client.get("/", base_url="https://localhost")
    assert page.headers["Strict-Transport-Security"] == "max-age=63072000; includeSubDomains"


def test_no_hsts_over_plain_http(client: Any) -> None:
    assert "Strict-Transport-Security" not in client.get("/").headers


def test_the_instance_folder_and_database_are_private(embedded: Flask) -> None:
    instance = Path(embedded.instance_path)
    assert stat.S_IMODE(instance.stat().st_mode) == 0o700
    database = instance / "courseware.db"
    assert stat.S_IMODE(database.stat().st_mode) == 0o600


def test_a_loose_instance_folder_and_database_are_tightened(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    instance = tmp_path / "loose"
    instance.mkdir(mode=0o755)
    instance.chmod(0o755)
    (instance / "courseware.db").touch(mode=0o644)
    (instance / "courseware.db").chmod(0o644)
    app = create_app({"INSTANCE_PATH": str(instance), "SECRET_KEY": "x"})
    assert stat.S_IMODE(instance.stat().st_mode) == 0o700
    assert stat.S_IMODE((instance / "courseware.db").stat().st_mode) == 0o600
    app.extensions["courseware.db"].engine.dispose()


@pytest.mark.parametrize(("hops", "seen"), [(0, "127.0.0.1"), (1, "203.0.113.77")])
def test_trusted_proxies_decide_the_client_address(database_url: str, tmp_path: Path,
                                                   learner: User, hops: int, seen: str) -> None:
    app = make_app(database_url, tmp_path / f"proxy{hops}", TRUSTED_PROXIES=hops)
    client = app.test_client()
    client.post("/login", data={"email": learner.email, "password": "wrong password here"},
                headers={"X-Forwarded-For": "203.0.113.77"})
    with app.app_context(), app.extensions["courseware.db"].session(write=False) as s:
        [event] = s.scalars(select(AuditEvent).where(AuditEvent.action == "login.failed")).all()
        assert event.client_address == seen
