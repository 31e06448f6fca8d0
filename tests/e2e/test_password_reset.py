"""A forgotten password, in the browser, end to end: the request, the mail as the SMTP server
received it from the job worker, the link, the new password, logging in with it; the link
refused a second time, and a fresh link refused once it has expired."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import update
from sqlalchemy.pool import NullPool

from courseware.infra.db import Database
from courseware.models import AccountToken
from tests.mailing import link_in

from .steps import axe_check, flash, log_in, mail_link

if TYPE_CHECKING:
    from .conftest import People, Server

pytestmark = pytest.mark.e2e

EMAIL, OLD = "reset@example.org", "e2e-reset-password"  # its own account (tests/e2e/conftest.py)
NEW = "a fresh and long pass phrase"
SUBJECT = "Choose a new password"


def _h1(page: Page):  # type: ignore[no-untyped-def]
    return page.get_by_role("heading", level=1)


def ask_for_a_link(page: Page, *, check: bool = False) -> None:
    page.goto("/login")
    page.get_by_role("link", name="Forgot your password?").click()
    expect(_h1(page)).to_have_text("Forgot your password?")
    if check:
        axe_check(page, "forgot password")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_role("button", name="Send me a link").click()
    expect(_h1(page)).to_have_text("Log in")
    expect(flash(page)).to_contain_text(
        f"If an account has the address {EMAIL}, we have sent it a link to choose a new "
        "password. The link works for one hour.")


def expire(server: Server, link: str) -> None:
    """Let the link's hour pass: its token row, as it will look two hours after it was made."""
    token = link.rsplit("/", 1)[1]
    database = Database(server.database_url, poolclass=NullPool)
    past = datetime.now(UTC) - timedelta(hours=2)
    try:
        with database.session() as s:
            changed = s.execute(update(AccountToken)
                                .where(AccountToken.token_hash
                                       == hashlib.sha256(token.encode()).hexdigest())
                                .values(created_at=past, expires_at=past + timedelta(hours=1)))
            assert changed.rowcount == 1  # type: ignore[attr-defined]
            s.commit()
    finally:
        database.engine.dispose()


def test_a_forgotten_password_is_reset_by_the_emailed_link(people: People,
                                                           server: Server) -> None:
    elsewhere = people.new()  # the same account, logged in on another device
    log_in(elsewhere, EMAIL, OLD)

    page = people.new()
    ask_for_a_link(page, check=True)
    link = mail_link(server, EMAIL, SUBJECT)
    assert link.startswith("/account/reset/")

    page.goto(link)
    expect(_h1(page)).to_have_text("Choose a new password")
    axe_check(page, "choose a new password")
    page.get_by_label("New password").fill(NEW)
    page.get_by_role("button", name="Set the new password").click()
    expect(flash(page)).to_contain_text(
        "Your password is changed, and every session of your account is logged out.")
    log_in(page, EMAIL, NEW)

    # the other device was logged out
    elsewhere.goto("/profile")
    expect(_h1(elsewhere)).to_have_text("Log in")

    # the second time, the link is refused
    response = page.goto(link)
    assert response is not None and response.status == 410
    expect(_h1(page)).to_have_text("This link does not work")
    axe_check(page, "link invalid")

    # a new link, once its hour has passed, is refused too
    stranger = people.new()
    ask_for_a_link(stranger)
    expired = server.smtp.wait_for(EMAIL, count=2, subject=SUBJECT, timeout=30)
    second = link_in(expired[-1], server.base_url)
    assert second != link
    expire(server, second)
    response = stranger.goto(second)
    assert response is not None and response.status == 410
    expect(_h1(stranger)).to_have_text("This link does not work")
    stranger.get_by_role("link", name="Ask for a new link").click()
    expect(_h1(stranger)).to_have_text("Forgot your password?")
    log_in(people.new(), EMAIL, NEW)  # the password set by the first link still works
