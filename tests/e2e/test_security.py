"""Markup typed into a name and a comment is shown as text, never run, where staff see it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import expect

from .steps import axe_check, flash, log_in, nav, register_with_keyboard

if TYPE_CHECKING:
    from .conftest import People, Watch

pytestmark = pytest.mark.e2e

NAME = "<img src=x onerror=alert(1)>"
COMMENT = "<script>alert(2)</script>"
ADMIN = ("admin@example.org", "e2e-admin-password")


def test_markup_in_a_name_and_a_comment_stays_inert(people: People, watch: Watch) -> None:
    learner = people.new()
    register_with_keyboard(learner, NAME, "payload.e2e@example.org", "another long secret phrase")
    log_in(learner, "payload.e2e@example.org", "another long secret phrase")  # not confirmed
    learner.get_by_role("link", name="Foundations of peer mentoring").click()
    feedback = learner.get_by_role("region", name="Your feedback on this module")
    feedback.get_by_role("link", name="Tell us how useful this module was").click()
    learner.get_by_role("radio", name="4", exact=True).check()
    learner.get_by_label("Comment (optional)").fill(COMMENT)
    learner.get_by_role("button", name="Send feedback").click()
    expect(flash(learner)).to_contain_text(
        "Thank you: your feedback helps us improve this module.")
    expect(feedback).to_contain_text("You rated this module 4 out of 5 and left a comment.")
    feedback.get_by_role("link", name="Change your feedback").click()
    expect(learner.get_by_label("Comment (optional)")).to_have_value(COMMENT)
    axe_check(learner, "module feedback")

    admin = people.new()
    log_in(admin, *ADMIN)
    nav(admin, "Admin")
    admin.get_by_role("link", name="Users and roles").click()
    expect(admin.get_by_role("heading", level=1)).to_have_text("Users")
    expect(admin.get_by_role("cell", name=NAME, exact=True)).to_be_visible()
    expect(admin.locator("main img")).to_have_count(0)
    axe_check(admin, "admin users")

    nav(admin, "Admin")
    admin.get_by_role("link", name="Module feedback").click()
    expect(admin.get_by_role("heading", level=1)).to_have_text("Module feedback")
    foundations = admin.get_by_role("region", name="Foundations of peer mentoring")
    expect(foundations).to_contain_text("1 rating, average 4")
    expect(foundations.get_by_role("listitem").filter(has_text=COMMENT)).to_have_count(1)
    expect(admin.locator("main script")).to_have_count(0)
    axe_check(admin, "admin feedback")

    # nothing ran: no alert() from either payload on any page of this test
    assert watch.dialogs == []
