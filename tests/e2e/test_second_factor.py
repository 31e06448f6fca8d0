"""Second factors in Chromium: a trainer enrols a passkey (the browser's virtual authenticator,
driven through the DevTools protocol) and logs in with it; a learner sets up an authenticator
app and logs in with a code and with a recovery code. Every new page passes axe."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Page, expect

from .conftest import ACCOUNTS
from .steps import axe_check, enrol_app, flash, fresh_code, log_out

if TYPE_CHECKING:
    from .conftest import People

pytestmark = pytest.mark.e2e

TRAINER4 = next((email, password) for email, _n, role, password in ACCOUNTS
                if email == "trainer4@example.org")
LEARNER = next((email, password) for email, _n, role, password in ACCOUNTS
               if email == "learner@example.org")


def _h1(page: Page):  # type: ignore[no-untyped-def]
    return page.get_by_role("heading", level=1)


def virtual_authenticator(page: Page) -> None:
    """A platform authenticator with user verification, as a phone or laptop has."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "internal", "hasResidentKey": True,
        "hasUserVerification": True, "isUserVerified": True,
        "automaticPresenceSimulation": True}})


def password_step(page: Page, email: str, password: str) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def test_a_trainer_enrols_a_passkey_and_logs_in_with_it(people: People) -> None:
    page = people.new()
    virtual_authenticator(page)
    email, password = TRAINER4
    password_step(page, email, password)
    # a staff account without a second factor is sent to set one up, and kept from staff pages
    expect(_h1(page)).to_have_text("Second factor")
    expect(page.get_by_role("status").filter(has_text="Staff accounts need a second factor")
           ).to_be_visible()
    axe_check(page, "second factor setup")
    page.goto("/grade/")
    expect(_h1(page)).to_have_text("Second factor")

    page.get_by_label("Name for a new passkey").fill("Work laptop")
    page.get_by_role("button", name="Add a passkey").click()
    expect(_h1(page)).to_have_text("Recovery codes")
    expect(flash(page)).to_contain_text("Your passkey is added")
    axe_check(page, "recovery codes offer")
    page.get_by_role("button", name="Make 10 new recovery codes").click()
    expect(_h1(page)).to_have_text("Your recovery codes")
    codes = page.locator("ol.recovery-codes code").all_inner_texts()
    assert len(codes) == 10 and all(re.fullmatch(r"[a-z2-7]{4}(-[a-z2-7]{4}){3}", c)
                                    for c in codes)
    page.get_by_role("link", name="I have saved them").click()
    expect(page.get_by_role("region", name="Passkeys (recommended)")).to_contain_text(
        "Work laptop")
    page.goto("/grade/")
    expect(_h1(page)).to_have_text("Grading queue")

    log_out(page)
    password_step(page, email, password)
    expect(_h1(page)).to_have_text("Confirm it is you")
    axe_check(page, "login second step")
    page.get_by_role("button", name="Use a passkey").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    page.goto("/grade/")
    expect(_h1(page)).to_have_text("Grading queue")

    # the account page lists this session; its device is named from the browser alone
    page.goto("/account")
    axe_check(page, "account")
    expect(page.get_by_role("region", name="Active sessions")).to_contain_text(
        "(this session)")


def test_a_learner_uses_an_app_and_a_recovery_code(people: People) -> None:
    page = people.new()
    email, password = LEARNER
    password_step(page, email, password)
    expect(page.get_by_role("button", name="Log out")).to_be_visible()  # learners: no step
    page.goto("/account")
    page.get_by_role("link", name=re.compile("^Second factor")).click()
    expect(_h1(page)).to_have_text("Second factor")
    codes = enrol_app(page, email, check=True)
    assert len(codes) == 10
    log_out(page)

    password_step(page, email, password)
    expect(_h1(page)).to_have_text("Confirm it is you")
    page.get_by_label("6-digit code from your authenticator app").fill("000000")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("alert")).to_contain_text("That code is not right")
    axe_check(page, "login second step with an error")
    page.get_by_label("6-digit code from your authenticator app").fill(fresh_code(email))
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    log_out(page)

    password_step(page, email, password)
    page.get_by_text("Lost your phone or passkey? Use a recovery code").click()
    page.get_by_label("Recovery code").fill(codes[0])
    page.get_by_role("button", name="Use recovery code").click()
    expect(flash(page)).to_contain_text("You used a recovery code")
