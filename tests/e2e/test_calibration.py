"""Trustworthy grading in the browser: a new trainer calibrates before grading live work; a
moderator grades blind before seeing the first grade; a double-marked disagreement reaches
moderation. Every new page passes axe-core."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Page, expect

from tests import helpers

from . import seed
from .conftest import TRAINER3
from .steps import axe_check, choose_levels, flash, log_in, nav

if TYPE_CHECKING:
    from .conftest import People, Server

pytestmark = pytest.mark.e2e

AL = "active-listening"
TRAINER = ("trainer@example.org", "e2e-trainer-password")
TRAINER2 = ("trainer2@example.org", "e2e-trainer2-password")
ADMIN = ("admin@example.org", "e2e-admin-password")


def _h1(page: Page):  # type: ignore[no-untyped-def]
    return page.get_by_role("heading", level=1)


def _grade_anchor_as_the_reference(page: Page) -> None:
    anchor_id = page.locator("input[name=anchor]").get_attribute("value")
    anchors = {a.id: a for a in helpers.CALIBRATIONS[AL].anchors}
    rubric = helpers._COURSE.roleplays[AL].rubric
    assert anchor_id in anchors
    for criterion, level in anchors[anchor_id].scores().items():
        page.locator(f"#level-{criterion}-{level}").check()
        if level < rubric.meets_score:
            page.locator(f"#comment-{criterion}").fill("Below the standard, as described.")


def test_a_new_trainer_calibrates_before_grading(people: People, server: Server) -> None:
    waiting = seed.submitted(server.database_url, "Cal Waiting", "cal.e2e@example.org", AL)
    trainer = people.new()
    log_in(trainer, TRAINER3[0], TRAINER3[2])
    nav(trainer, "Grading")
    expect(_h1(trainer)).to_have_text("Grading queue")
    hidden = trainer.get_by_role("region", name="Not shown until you calibrate")
    expect(hidden).to_contain_text("before grading its work. (1 waiting)")
    expect(trainer.get_by_role("row").filter(has_text="Cal Waiting")).to_have_count(0)
    axe_check(trainer, "grading queue, not calibrated")

    # the grading page by its address: refused, with the reason and the way forward
    response = trainer.goto(f"/grade/submissions/{waiting}")
    assert response is not None and response.status == 403
    expect(_h1(trainer)).to_have_text("Calibrate first")
    axe_check(trainer, "calibrate first")
    trainer.get_by_role("link", name=re.compile(r"^Calibrate on ")).click()
    expect(_h1(trainer)).to_have_text("Calibration")
    axe_check(trainer, "calibration index")
    card = trainer.locator("#calibrate-active-listening")
    card.get_by_role("button", name=re.compile(r"^Start calibrating")).click()

    total = len(helpers.CALIBRATIONS[AL].anchors)
    for position in range(1, total + 1):
        expect(trainer.get_by_text(f"Response {position} of {total}.")).to_be_visible()
        # blind: nothing is chosen, and no reference level or reason is on the page
        expect(trainer.locator("input[type=radio]:checked")).to_have_count(0)
        if position == 1:
            axe_check(trainer, "calibration anchor")
            transcript = trainer.get_by_role("region", name=f"Response {position}")
            transcript.focus()  # the transcript scrolls on its own, by keyboard too
            assert trainer.evaluate("document.activeElement.classList.contains('transcript')")
        _grade_anchor_as_the_reference(trainer)
        trainer.get_by_role("button", name=re.compile(r"^Save and (go on|finish)$")).click()
    expect(flash(trainer)).to_contain_text("Calibration passed")
    expect(trainer.locator("p.status")).to_contain_text("Passed")
    expect(trainer.get_by_role("heading", level=2).first).to_contain_text("Response 1:")
    expect(trainer.get_by_role("columnheader", name="Why the reference level").first
           ).to_be_visible()
    axe_check(trainer, "calibration result")

    trainer.get_by_role("link", name="Go to the grading queue").click()
    row = trainer.get_by_role("row").filter(has_text="Cal Waiting")
    row.get_by_role("button", name=re.compile(r"^Claim")).click()
    expect(_h1(trainer)).to_have_text(re.compile(r"^Grade: "))
    choose_levels(trainer)
    trainer.get_by_label("Overall feedback for the learner").fill("Warm and accurate.")
    trainer.get_by_role("button", name="Save grade").click()
    expect(flash(trainer)).to_contain_text("Passed.")
    assert seed.status(server.database_url, waiting) == "passed"


def test_a_double_marked_disagreement_reaches_a_blind_moderator(
        people: People, server: Server) -> None:
    for email in (TRAINER[0], TRAINER2[0], ADMIN[0]):
        seed.calibrate(server.database_url, email, AL)
    sub_id = seed.submitted(server.database_url, "Dee Double", "dee.e2e@example.org", AL,
                            double_mark=True)
    first = people.new()
    log_in(first, *TRAINER)
    nav(first, "Grading")
    first.get_by_role("row").filter(has_text="Dee Double").get_by_role(
        "button", name=re.compile(r"^Claim")).click()
    choose_levels(first)
    first.get_by_label("Overall feedback for the learner").fill("First grader: a pass.")
    first.get_by_role("button", name="Save grade").click()
    expect(flash(first)).to_contain_text("drawn for a blind second mark")

    second = people.new()
    log_in(second, *TRAINER2)
    nav(second, "Grading")
    row = second.get_by_role("row").filter(has_text="Dee Double")
    expect(row).to_contain_text("Second mark (blind)")
    row.get_by_role("button", name=re.compile(r"^Claim")).click()
    expect(_h1(second)).to_have_text(re.compile(r"^Second mark: "))
    expect(second.locator("main")).not_to_contain_text("First grader: a pass.")
    expect(second.locator("input[type=radio]:checked")).to_have_count(0)
    axe_check(second, "second mark form")
    choose_levels(second, fail_critical=True)
    second.get_by_label("Overall feedback for the learner").fill("Second grader: not yet.")
    second.get_by_role("button", name="Save grade").click()
    expect(flash(second)).to_contain_text("The two blind grades disagree on pass or fail")
    assert seed.status(server.database_url, sub_id) == "moderation"

    moderator = people.new()
    log_in(moderator, *ADMIN)
    nav(moderator, "Grading")
    row = moderator.get_by_role("row").filter(has_text="Dee Double")
    expect(row).to_contain_text("Moderation (blind)")
    row.get_by_role("button", name=re.compile(r"^Claim")).click()
    expect(_h1(moderator)).to_have_text(re.compile(r"^Moderate: "))
    # no first grade: no levels, comments, feedback or outcome, in the page or its attributes
    main = moderator.locator("main")
    for hidden in ("First grader: a pass.", "Second grader: not yet.", "Tomas Trainer",
                   "Tariq Trainer", "Grades so far", "Say plainly what you will do next"):
        expect(main).not_to_contain_text(hidden)
    assert "First grader" not in moderator.content()
    expect(moderator.locator("input[type=radio]:checked")).to_have_count(0)
    axe_check(moderator, "blind moderation form")
    choose_levels(moderator)
    moderator.get_by_label("Overall feedback for the learner").fill("Moderator: a pass.")
    moderator.get_by_role("button", name="Save grade").click()
    expect(flash(moderator)).to_contain_text("Your blind grade is saved")
    compare = moderator.get_by_role("region", name="The grades side by side")
    expect(compare).to_contain_text("First grader: a pass.")
    expect(compare).to_contain_text("Second grader: not yet.")
    expect(compare).to_contain_text("Moderator: a pass.")
    axe_check(moderator, "moderation decision")
    moderator.get_by_label(re.compile(r"^Confirm the grade under review")).check()
    moderator.get_by_role("button", name="Record the decision").click()
    expect(flash(moderator)).to_contain_text("the learner's outcome is passed")
    assert seed.status(server.database_url, sub_id) == "passed"

    # the admin's views of it all
    nav(moderator, "Admin")
    moderator.get_by_role("link", name="Trainer calibration").click()
    expect(_h1(moderator)).to_have_text("Trainer calibration")
    expect(moderator.get_by_role("row").filter(has_text="Third Trainer")).to_contain_text(
        "Calibrated")
    axe_check(moderator, "admin calibration")
    nav(moderator, "Admin")
    moderator.get_by_role("link", name="Grading reliability").click()
    expect(_h1(moderator)).to_have_text("Grading reliability")
    expect(moderator.locator("svg.chart")).to_have_count(3)
    axe_check(moderator, "reliability report")
