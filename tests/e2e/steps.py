"""What people do in the browser, and the accessibility check run on each distinct page."""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING

import pyotp
from axe_playwright_python.base import AXE_FILE_PATH
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Locator, Page, expect
from sqlalchemy.pool import NullPool

from courseware.infra.db import Database
from courseware.models import QuizAttempt
from courseware.services import catalogue
from tests import helpers
from tests.mailing import link_in

if TYPE_CHECKING:
    from .conftest import Server

# the course as its files define it: (slug, title) in course order, and the role-plays
MODULES = [(slug, helpers.MODULE_TITLES[slug]) for slug in helpers.MODULES]
ROLEPLAYS = helpers.ROLEPLAYS

# --- accessibility ------------------------------------------------------------------------------

AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
BLOCKING = ("serious", "critical")
# axe-playwright-python reads the axe.min.js it bundles and runs it with page.evaluate: nothing is
# fetched (the contexts also refuse every request that is not to the test server), and evaluate
# is not an inline <script>, so the site's Content-Security-Policy does not stop it.
AXE = Axe()
assert AXE.axe_script == AXE_FILE_PATH.read_text(), "axe must come from the installed package"
CHECKED: dict[str, list[str]] = {}  # page name -> the findings printed for it


def _describe(violation: dict) -> str:  # type: ignore[type-arg]
    targets = [" ".join(map(str, n["target"])) for n in violation["nodes"][:4]]
    first = violation["nodes"][0].get("failureSummary", "").replace("\n", " ") \
        if violation["nodes"] else ""
    return (f"{violation['id']} ({violation['impact']}, {len(violation['nodes'])} nodes): "
            f"{violation['help']} at {targets}. {first[:300]}")


def axe_check(page: Page, name: str) -> None:
    """No serious or critical WCAG 2.2 A/AA violation on this page; print the lesser ones.

    axe's best-practice rules (heading order, landmarks) run too, and are printed, not failed.
    """
    # after a click the DOM can be there before the stylesheet: axe must see the styled page
    page.wait_for_load_state("load")
    results = AXE.run(page, options={
        "runOnly": {"type": "tag", "values": [*AXE_TAGS, "best-practice"]},
        "resultTypes": ["violations"]})
    violations = results.response["violations"]

    def blocks(v: dict) -> bool:  # type: ignore[type-arg]
        return v["impact"] in BLOCKING and any(tag in AXE_TAGS for tag in v["tags"])

    blocking = [_describe(v) for v in violations if blocks(v)]
    lesser = [_describe(v) for v in violations if not blocks(v)]
    for line in lesser:
        print(f"axe [{name}] {page.url}: {line}")
    for v in results.response.get("incomplete", []):
        print(f"axe [{name}] needs review: {v['id']} ({len(v['nodes'])} nodes)")
    CHECKED[name] = lesser
    assert not blocking, f"axe on {name} ({page.url}):\n" + "\n".join(blocking)


# --- people -------------------------------------------------------------------------------------

def flash(page: Page) -> Locator:
    return page.locator(".flashes")


# second factors of the accounts the browser has enrolled: email -> authenticator app key
TOTP_KEYS: dict[str, str] = {}
_LAST_STEP: dict[str, int] = {}


def fresh_code(email: str) -> str:
    """A code for this account's app that the server has not seen: each is accepted once, and
    the one after the current time step is accepted too, so wait only past that."""
    totp = pyotp.TOTP(TOTP_KEYS[email])
    while True:
        current = int(time.time() // 30)
        step = max(current, _LAST_STEP.get(email, -1) + 1)
        if step <= current + 1:
            _LAST_STEP[email] = step
            return totp.generate_otp(step)
        time.sleep(1)


def enrol_app(page: Page, email: str, *, check: bool = False) -> list[str]:
    """Set up an authenticator app from the account's second-factor page; its recovery codes."""
    page.goto("/account/second-factor/app")
    expect(page.get_by_role("heading", level=1)).to_have_text("Set up an authenticator app")
    if check:
        axe_check(page, "authenticator app setup")
    TOTP_KEYS[email] = page.locator("figcaption code").inner_text().replace(" ", "")
    page.get_by_label("6-digit code the app shows now").fill(fresh_code(email))
    page.get_by_role("button", name="Turn on").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your recovery codes")
    if check:
        axe_check(page, "recovery codes")
    return page.locator("ol.recovery-codes code").all_inner_texts()


def log_in(page: Page, email: str, password: str, *, check: bool = False) -> None:
    """Password, then the second factor when the account has one; a staff account without one
    sets up an authenticator app first, as the site asks."""
    page.goto("/login")
    expect(page.get_by_role("heading", level=1)).to_have_text("Log in")
    if check:
        axe_check(page, "login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", level=1)).not_to_have_text("Log in")
    if "/login/verify" in page.url:
        page.get_by_label("6-digit code from your authenticator app").fill(fresh_code(email))
        page.get_by_role("button", name="Continue").click()
    elif "/account/second-factor" in page.url:
        enrol_app(page, email)
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def register_with_keyboard(page: Page, name: str, email: str, password: str, *,
                           check: bool = False) -> None:
    """The whole form by keyboard: type, Tab to the next field, Enter to send."""
    page.goto("/register")
    expect(page.get_by_role("heading", level=1)).to_have_text("Create an account")
    if check:
        axe_check(page, "register")
    page.get_by_label("Full name").focus()
    for field_id, value in (("name", name), ("email", email), ("password", password)):
        assert page.evaluate("document.activeElement.id") == field_id
        page.keyboard.type(value)
        if field_id != "password":
            page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    # the same answer for every address: the mailbox learns more than the page says
    expect(flash(page)).to_contain_text(
        f"Check your email: we have sent a message to {email.lower()}.")
    expect(page.get_by_role("heading", level=1)).to_have_text("Log in")


def mail_link(server: Server, to: str, subject: str) -> str:
    """The site's link in the newest message to `to` with this subject, read from the SMTP
    server the job worker delivered it to."""
    messages = server.smtp.wait_for(to.lower(), subject=subject, timeout=30)
    return link_in(messages[-1], server.base_url)


def confirm_address(page: Page, server: Server, email: str, *, check: bool = False) -> None:
    """Open the confirmation link from the mail and press its button."""
    page.goto(mail_link(server, email, "Confirm your email address"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm your email address")
    if check:
        axe_check(page, "confirm address")
    page.get_by_role("button", name="Confirm my address").click()
    expect(flash(page)).to_contain_text(f"Your email address {email.lower()} is confirmed.")


def log_out(page: Page) -> None:
    page.get_by_role("button", name="Log out").click()
    expect(flash(page)).to_contain_text("You are logged out.")


def nav(page: Page, name: str) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name=name, exact=True).click()


# --- quizzes ------------------------------------------------------------------------------------

def correct_positions(database_url: str, attempt_id: int) -> list[tuple[str, list[int]]]:
    """For each question shown in this attempt: its prompt and the shown positions that are right.

    Read from the server's database: the attempt records the questions drawn and the order
    their options were shown in (bank indexes); the quiz version says which options are right.
    """
    database = Database(database_url, poolclass=NullPool)
    try:
        with database.session(write=False) as s:
            attempt = s.get(QuizAttempt, attempt_id)
            assert attempt is not None, attempt_id
            spec = catalogue.quiz_spec(attempt.quiz_version)
            answers = []
            for shown in attempt.presented:
                question = spec.question(shown["id"])
                assert question is not None
                answers.append((helpers.as_shown(question.prompt), [
                    position for position, bank in enumerate(shown["order"])
                    if question.options[bank].correct]))
            return answers
    finally:
        database.engine.dispose()


def attempt_id(page: Page) -> int:
    match = re.search(r"/attempts/(\d+)$", page.url)
    assert match, page.url
    return int(match.group(1))


def answer_correctly(page: Page, database_url: str) -> None:
    for position, (prompt, picks) in enumerate(correct_positions(database_url, attempt_id(page))):
        question = page.locator(f"#question-{position + 1}")
        expect(question.locator("legend")).to_contain_text(prompt)
        for pick in picks:
            page.locator(f"label[for='q{position}-{pick}']").click()
            expect(page.locator(f"#q{position}-{pick}")).to_be_checked()


# --- role-plays and grading ---------------------------------------------------------------------

def fill_replies(page: Page, text: str) -> int:
    boxes = page.locator("textarea[name^='reply']")
    count = boxes.count()
    assert count >= 5
    for i in range(count):
        boxes.nth(i).fill(f"{text} (reply {i + 1})")
    return count


def reply_values(page: Page) -> list[str]:
    boxes = page.locator("textarea[name^='reply']")
    return [boxes.nth(i).input_value() for i in range(boxes.count())]


def choose_levels(page: Page, *, fail_critical: bool = False) -> list[str]:
    """Every criterion at "Exceeds" (or "Meets"), a critical one at "Not yet" when asked.

    Returns the titles of the criteria set to "Not yet" (each gets the comment it needs).
    """
    failed: list[str] = []
    criteria = page.locator("fieldset.criterion")
    for i in range(criteria.count()):
        criterion = criteria.nth(i)
        title = criterion.locator("legend").inner_text().replace("critical", "").strip()
        critical = criterion.locator(".tag-critical").count() > 0
        if fail_critical and critical and not failed:
            level = "Not yet"
            failed.append(title)
        else:
            level = "Exceeds" if i % 2 == 0 else "Meets"
        criterion.get_by_role("radio", name=re.compile(rf"^{level} \(\d\)")).check()
        if level == "Not yet":
            criterion.get_by_role("textbox").fill(
                "Say plainly what you will do next, then follow the program's protocol.")
    return failed
