"""A program's staff, in the browser: the welcome mail's link, a password, the watch list, a
certificate added by its code and seen in the table (and under its filter), an API key made
and shown once; and the public request form. Every page passes axe-core."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select
from sqlalchemy.pool import NullPool

from courseware.domain.codes import format_code
from courseware.infra.db import Database
from courseware.models import Certificate, User

from .conftest import PROGRAM
from .steps import axe_check, log_in, mail_link, nav

if TYPE_CHECKING:
    from .conftest import People, Server

pytestmark = pytest.mark.e2e

PASSWORD = "a program's long pass phrase"


def _h1(page: Page):  # type: ignore[no-untyped-def]
    return page.get_by_role("heading", level=1)


def holder_code(server: Server) -> str:
    database = Database(server.database_url, poolclass=NullPool)
    try:
        with database.session(write=False) as s:
            code = s.scalar(select(Certificate.code).join(User, User.id == Certificate.user_id)
                            .where(User.email == "holder@example.org"))
            assert code is not None
            return code
    finally:
        database.engine.dispose()


def test_program_staff_follow_a_mentor_and_make_a_key(people: People, server: Server) -> None:
    name, contact = PROGRAM
    page = people.new()
    page.goto(mail_link(server, contact, f"Your login for {name}"))
    page.get_by_label("New password").fill(PASSWORD)
    page.get_by_role("button", name="Set the new password").click()
    log_in(page, contact, PASSWORD)

    nav(page, "Our mentors")
    expect(_h1(page)).to_have_text(f"{name}: our mentors")
    axe_check(page, "program watch list, empty")
    code = holder_code(server)
    page.get_by_label("Certificate codes").fill(f"{format_code(code).lower()}\nnot-a-code")
    page.get_by_role("button", name="Add to the list").click()
    report = page.get_by_role("region", name="What happened to each code")
    expect(report).to_contain_text("1 added")
    expect(report.get_by_role("row").nth(1)).to_contain_text("Added")
    expect(report.get_by_role("row").nth(2)).to_contain_text("Malformed")
    axe_check(page, "program watch list, report")
    table = page.get_by_role("table", name="Followed certificates")
    expect(table).to_contain_text("Holly Holder")
    expect(table).to_contain_text(format_code(code))
    page.get_by_role("navigation", name="Filter the list").get_by_role(
        "link", name="Eligible", exact=True).click()
    expect(page.get_by_role("table", name="Followed certificates")).to_contain_text(
        "Holly Holder")
    page.get_by_role("navigation", name="Filter the list").get_by_role(
        "link", name="Not eligible").click()
    expect(page.get_by_role("table", name="Followed certificates")).not_to_contain_text(
        "Holly Holder")

    nav(page, "API keys")
    expect(_h1(page)).to_have_text(f"{name}: API keys")
    axe_check(page, "program API keys")
    page.get_by_label("Key name").fill("CRM sync")
    page.get_by_label("roster: read and change your list of mentors").check()
    page.get_by_role("button", name="Create the key").click()
    expect(_h1(page)).to_have_text("Your new API key")
    key = page.locator("#api-key").inner_text()
    assert key.startswith("cwk_") and len(key) == 56
    axe_check(page, "program API key shown once")
    page.get_by_role("link", name="Back to your keys").click()
    expect(page.get_by_role("table", name="API keys")).to_contain_text(key[:12])
    expect(page.get_by_role("table", name="API keys")).not_to_contain_text(key)

    nav(page, "Webhooks")
    expect(_h1(page)).to_have_text("Webhooks")
    axe_check(page, "program webhooks, none yet")
    page.get_by_role("link", name="Add an endpoint").click()
    axe_check(page, "webhook endpoint form")
    url = page.get_by_label("Endpoint URL")
    url.fill("http://10.0.0.7/hooks")  # refused: not https, not public; what was typed stays
    page.get_by_role("button", name="Add the endpoint").click()
    expect(url).to_have_value("http://10.0.0.7/hooks")
    axe_check(page, "webhook endpoint form with an error")
    url.fill("https://1.1.1.1/courseware")  # a public address: no look-up needed
    page.get_by_role("button", name="Add the endpoint").click()
    expect(_h1(page)).to_have_text("Endpoint added: its signing secret")
    assert page.locator("#secret").inner_text().startswith("whsec_")
    axe_check(page, "webhook secret shown once")
    page.get_by_role("link", name="Go to the endpoint, and send a test event").click()
    expect(_h1(page)).to_have_text("Webhook endpoint")
    axe_check(page, "webhook endpoint and its delivery log")


def test_a_visitor_asks_for_a_program_account(people: People) -> None:
    page = people.new()
    page.goto("/")
    nav(page, "For programs")
    expect(_h1(page)).to_have_text("An account for your mentoring program")
    axe_check(page, "program request form")
    page.get_by_label("Program name").fill("Browser Peer Support")
    page.get_by_label("Contact email").fill("hello@browser-peer.example")
    page.get_by_label("Country code").fill("NZ")
    page.get_by_label("Your name").fill("Bea Browser")
    page.get_by_label("What your program runs").fill("Twenty peer mentors for new parents.")
    page.get_by_role("button", name="Send the request").click()
    expect(_h1(page)).to_have_text("Thank you")
    axe_check(page, "program request sent")
