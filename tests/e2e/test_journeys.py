"""A learner's whole path to a certificate, its grading, its verification and its revocation.

The four journeys run in order against one server and build on each other (a later one skips
if an earlier one did not get far enough). Every step asserts what the person sees, and every
distinct page on the way passes axe-core's WCAG 2.2 A/AA rules (no serious or critical finding).
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Page, expect

from courseware.domain.codes import format_code, generate_code, parse_code

from . import seed
from .steps import (
    CHECKED,
    MODULES,
    ROLEPLAYS,
    answer_correctly,
    axe_check,
    choose_levels,
    confirm_address,
    fill_replies,
    flash,
    log_in,
    nav,
    register_with_keyboard,
    reply_values,
)

if TYPE_CHECKING:
    from .conftest import People, Server

pytestmark = pytest.mark.e2e

LEARNER = {"name": "Rosa Díaz", "email": "rosa.e2e@example.org",
           "password": "a long enough secret phrase"}
TRAINER = ("trainer@example.org", "e2e-trainer-password")
TRAINER2 = ("trainer2@example.org", "e2e-trainer2-password")
ADMIN = ("admin@example.org", "e2e-admin-password")
FAILED_ROLEPLAY = "boundaries"  # the one a trainer fails on a critical criterion
REVOKE_REASON = "Withdrawn after a conduct review (e2e)."


@dataclass
class Journey:
    roleplay_titles: dict[str, str] = field(default_factory=dict)
    replies: dict[str, list[str]] = field(default_factory=dict)
    graded: bool = False
    code: str = ""  # as shown, in groups
    token: str = ""  # the signed credential the learner downloaded
    revoked: bool = False


JOURNEY = Journey()


def _need(condition: object, what: str) -> None:
    if not condition:
        pytest.skip(f"needs the earlier journey: {what}")


def _h1(page: Page):  # type: ignore[no-untyped-def]
    return page.get_by_role("heading", level=1)


def _module_card(page: Page, title: str):  # type: ignore[no-untyped-def]
    return page.locator("li.module-card").filter(
        has=page.get_by_role("heading", name=title, exact=True))


# --- 1. the learner ---------------------------------------------------------------------------

def test_learner_registers_reads_passes_quizzes_and_submits_roleplays(
        people: People, server: Server) -> None:
    page = people.new()
    page.goto("/")
    expect(_h1(page)).to_have_text("Train and certify as a peer mentor")
    axe_check(page, "welcome")

    register_with_keyboard(page, LEARNER["name"], LEARNER["email"], LEARNER["password"],
                           check=True)
    confirm_address(page, server, LEARNER["email"], check=True)
    log_in(page, LEARNER["email"], LEARNER["password"])
    axe_check(page, "course home")
    expect(page.locator(".progress-block")).to_contain_text("0 of 22 requirements met")
    # before anything is read, every later module says what it waits for
    expect(_module_card(page, MODULES[0][1])).to_contain_text("Ready to start")
    for (_, earlier), (_, later) in zip(MODULES, MODULES[1:], strict=False):
        card = _module_card(page, later)
        expect(card).to_contain_text(f"Locked: Read {earlier} first")
        expect(card.get_by_role("link")).to_have_count(0)

    for index, (_slug, title) in enumerate(MODULES):
        nav(page, "Course")
        expect(_module_card(page, title)).to_contain_text("Ready to start")
        if index + 1 < len(MODULES):
            expect(_module_card(page, MODULES[index + 1][1])).to_contain_text(
                f"Locked: Read {title} first")
        page.get_by_role("link", name=title, exact=True).click()
        expect(_h1(page)).to_have_text(title)
        if index == 0:
            axe_check(page, "module page")
        page.get_by_role("button", name="Mark this module as read").click()
        expect(flash(page)).to_contain_text(f"“{title}” is marked as read.")
        expect(page.get_by_text("You have marked this module as read.")).to_be_visible()

        page.get_by_role("link", name=re.compile(r"^Take the quiz")).click()
        expect(page.get_by_text("Pass mark: 80%. Your best attempt counts.")).to_be_visible()
        quiz_title = _h1(page).inner_text()
        if index == 0:
            axe_check(page, "quiz page")
        page.get_by_role("button", name="Start the attempt").click()
        expect(_h1(page)).to_have_text(quiz_title)
        expect(page.locator("fieldset.question")).to_have_count(10)
        if index == 0:
            axe_check(page, "attempt page")
        answer_correctly(page, server.database_url)
        page.get_by_role("button", name="Submit answers").click()
        expect(_h1(page)).to_have_text(f"{quiz_title}: attempt 1")
        expect(page.locator("p.status")).to_contain_text(
            "You scored 100.0% (10.0 of 10 points): passed. The pass mark is 80%.")
        if index == 0:
            axe_check(page, "review page")

    nav(page, "Course")
    for _, title in MODULES:
        expect(_module_card(page, title).locator(".tag-done")).to_have_text("Read")

    for index, slug in enumerate(ROLEPLAYS):
        title = dict(MODULES)[slug]
        page.goto(f"/modules/{slug}")
        page.get_by_role("link", name=re.compile(r"^Practise in the role-play")).click()
        expect(_h1(page)).to_have_text(re.compile(r"^Role-play: "))
        heading = _h1(page).inner_text()
        JOURNEY.roleplay_titles[slug] = heading.removeprefix("Role-play: ")
        if index == 0:
            axe_check(page, "role-play page")
        page.get_by_role("button", name="Start the role-play").click()
        expect(page.locator("p.status")).to_have_text("Status: draft")
        if index == 0:
            axe_check(page, "draft page")
        fill_replies(page, f"As your mentor in {title.lower()}, I hear you")
        written = reply_values(page)
        if index == 0:
            # a saved draft is kept on the server: it comes back after a reload
            page.get_by_role("button", name="Save draft").click()
            expect(flash(page)).to_contain_text("Draft saved.")
            page.reload()
            assert reply_values(page) == written
        page.get_by_role("button", name="Submit for grading").click()
        expect(flash(page)).to_contain_text(
            "Your role-play is submitted. A trainer will review it.")
        expect(page.locator("p.status")).to_have_text("Status: submitted")
        expect(page.locator(".reply").first).to_contain_text(written[0])
        JOURNEY.replies[slug] = written
        if index == 0:
            axe_check(page, "submission view")

    nav(page, "My progress")
    expect(_h1(page)).to_have_text("My progress")
    expect(page.get_by_text("You are not yet eligible to mentor")).to_be_visible()
    expect(page.get_by_text("No certificate yet.")).to_be_visible()
    axe_check(page, "profile")
    # not yet eligible: the page names what is missing and links to it
    first_roleplay = JOURNEY.roleplay_titles[ROLEPLAYS[0]]
    missing = page.locator("p.next-requirement")
    expect(missing).to_have_text(f"Still missing: Pass the role-play: {first_roleplay}.")
    missing.get_by_role("link").click()
    expect(_h1(page)).to_have_text(f"Role-play: {first_roleplay}")
    page.go_back()
    unmet = page.locator("ul.checklist li.unmet")
    expect(unmet).to_have_count(len(ROLEPLAYS))
    expect(unmet.get_by_role("link")).to_have_count(len(ROLEPLAYS))


# --- 2. the trainers ----------------------------------------------------------------------------

def _claim(page: Page, roleplay_title: str, stage: str) -> None:
    row = page.get_by_role("row").filter(has_text=LEARNER["name"]).filter(
        has_text=roleplay_title).filter(has_text=stage)
    expect(row).to_have_count(1)
    row.get_by_role("button", name=re.compile(r"^Claim")).click()


def _grade(page: Page, *, fail_critical: bool = False, feedback: str) -> list[str]:
    failed = choose_levels(page, fail_critical=fail_critical)
    page.get_by_label("Overall feedback for the learner").fill(feedback)
    page.get_by_role("button", name="Save grade").click()
    expect(_h1(page)).to_have_text("Grading queue")
    return failed


def test_trainers_grade_moderate_and_pass_a_revision(people: People, server: Server) -> None:
    _need(len(JOURNEY.replies) == len(ROLEPLAYS), "four submitted role-plays")
    titles = JOURNEY.roleplay_titles
    # calibrated quickly: calibrating in the browser is test_calibration.py's journey
    for email in (TRAINER[0], TRAINER2[0]):
        seed.calibrate(server.database_url, email, *ROLEPLAYS)
    trainer = people.new()
    log_in(trainer, *TRAINER, check=True)
    nav(trainer, "Grading")
    expect(_h1(trainer)).to_have_text("Grading queue")
    expect(trainer.get_by_role("row").filter(has_text=LEARNER["name"])).to_have_count(4)
    axe_check(trainer, "grading queue")

    failed: list[str] = []
    for slug in ROLEPLAYS:
        _claim(trainer, titles[slug], "First grade")
        expect(_h1(trainer)).to_have_text(f"Grade: {titles[slug]}")
        expect(trainer.get_by_text(f"Learner: {LEARNER['name']}")).to_be_visible()
        if slug == ROLEPLAYS[0]:
            axe_check(trainer, "grade form")
        if slug == FAILED_ROLEPLAY:
            failed = _grade(trainer, fail_critical=True,
                            feedback="Warm and clear, but the disclosure needed the protocol.")
            expect(flash(trainer)).to_contain_text(
                "A critical criterion failed: a second trainer must now confirm or overturn "
                "this grade before the learner sees it.")
        else:
            _grade(trainer, feedback="Clear, warm replies. Keep it up.")
            expect(flash(trainer)).to_contain_text("Passed.")
    assert failed, "the boundaries rubric has a critical criterion"
    # the first grader never moderates their own grade
    expect(trainer.get_by_role("row").filter(has_text=LEARNER["name"])).to_have_count(0)

    second = people.new()
    log_in(second, *TRAINER2)
    nav(second, "Grading")
    _claim(second, titles[FAILED_ROLEPLAY], "Moderation (blind)")
    expect(_h1(second)).to_have_text(f"Moderate: {titles[FAILED_ROLEPLAY]}")
    expect(second.get_by_text("Grade it independently")).to_be_visible()
    # blind: the form starts empty, and nothing of the first grade is on the page
    expect(second.locator("input[type=radio]:checked")).to_have_count(0)
    expect(second.locator("main")).not_to_contain_text("the disclosure needed the protocol")
    axe_check(second, "moderation form")
    choose_levels(second, fail_critical=True)
    second.get_by_label("Overall feedback for the learner").fill("Agreed: use the protocol.")
    second.get_by_role("button", name="Save grade").click()
    expect(flash(second)).to_contain_text("Your blind grade is saved")
    expect(second.get_by_role("region", name="The grades side by side")).to_contain_text(
        "the disclosure needed the protocol")
    second.get_by_label(re.compile(r"^Confirm the grade under review")).check()
    second.get_by_role("button", name="Record the decision").click()
    expect(flash(second)).to_contain_text("returned for revision")

    learner = people.new()
    log_in(learner, LEARNER["email"], LEARNER["password"])
    nav(learner, "My progress")
    expect(learner.get_by_role("region", name="Role-plays").get_by_role("listitem").filter(
        has_text=titles[FAILED_ROLEPLAY])).to_contain_text("returned for revision")
    learner.get_by_role("link", name=titles[FAILED_ROLEPLAY], exact=True).click()
    learner.get_by_role("region", name="Your submissions").get_by_role("link").first.click()
    expect(learner.locator("p.status")).to_have_text("Status: returned for revision")
    result = learner.get_by_role("region", name="Trainer's assessment")
    expect(result.get_by_role("heading", level=2)).to_have_text(
        "Outcome: returned for revision")
    expect(result).to_contain_text(f"Criteria to work on: {failed[0]} (critical)")
    expect(result).to_contain_text("Warm and clear, but the disclosure needed the protocol.")
    expect(result).to_contain_text("Say plainly what you will do next")
    learner.get_by_role("link", name="Back to the role-play").click()
    learner.get_by_role("button", name="Revise and resubmit").click()
    expect(learner.locator("p.status")).to_have_text("Status: draft")
    expect(learner.locator("details.previous-feedback summary")).to_have_text(
        "Feedback on your previous submission")
    # the new draft starts from the replies that were returned
    assert reply_values(learner) == JOURNEY.replies[FAILED_ROLEPLAY]
    learner.locator("#reply4").fill(
        "Thank you for telling me. Are you thinking about ending your life? I can't keep this "
        "between us: I'll call the on-call coordinator now, with you here.")
    learner.get_by_role("button", name="Submit for grading").click()
    expect(flash(learner)).to_contain_text("Your role-play is submitted.")
    expect(learner.locator("p.status")).to_have_text("Status: submitted")

    trainer.reload()
    _claim(trainer, f"{titles[FAILED_ROLEPLAY]} · resubmission", "First grade")
    expect(trainer.get_by_text("Grade of the earlier submission this revises")).to_be_visible()
    _grade(trainer, feedback="Now you ask directly and act on it. Passed.")
    expect(flash(trainer)).to_contain_text("Passed.")
    expect(flash(trainer)).to_contain_text(f"{LEARNER['name']} has now earned a certificate.")
    JOURNEY.graded = True


# --- 3. the certificate -------------------------------------------------------------------------

def test_learner_sees_and_downloads_the_certificate(people: People) -> None:
    _need(JOURNEY.graded, "every role-play passed")
    page = people.new()
    log_in(page, LEARNER["email"], LEARNER["password"])
    expect(page.locator(".progress-block")).to_contain_text("22 of 22 requirements met")
    nav(page, "My progress")
    expect(page.get_by_text("You are an eligible peer mentor: you hold a valid certificate.")
           ).to_be_visible()
    certs = page.get_by_role("table", name="Your certificates")
    row = certs.get_by_role("row").nth(1)
    code = row.get_by_role("cell").first.inner_text().strip()
    assert re.fullmatch(r"[0-9A-Z*~$=]{5}(-[0-9A-Z*~$=]{4,5}){5}", code), code
    expect(row.get_by_role("cell").nth(4)).to_have_text("valid")
    JOURNEY.code = code
    expect(page.get_by_role("region", name="Certified Peer Mentor")).to_contain_text(
        f"Certificate {code}: valid until")
    axe_check(page, "profile with certificate")

    pdf_link = page.get_by_role("link", name=f"PDF of {code}")
    pdf = page.request.get(pdf_link.get_attribute("href") or "")
    assert pdf.ok and pdf.headers["content-type"] == "application/pdf"
    assert pdf.body().startswith(b"%PDF-")

    with page.expect_download() as info:
        page.get_by_role("link", name=f"Signed credential of {code}").click()
    download = info.value
    assert download.suggested_filename.endswith(".jwt"), download.suggested_filename
    with open(download.path(), encoding="ascii") as f:
        token = f.read().strip()
    header, payload, signature = token.split(".")
    jose = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))
    assert jose["alg"] == "RS256" and jose["kid"].startswith(page.url.split("/profile")[0])
    assert signature
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert LEARNER["name"] in json.dumps(claims, ensure_ascii=False)
    assert LEARNER["email"] not in json.dumps(claims)
    # the kid is a URL that answers the one public key
    jwk = page.request.get(jose["kid"]).json()
    assert jwk["kty"] == "RSA" and jwk["kid"] == jose["kid"] and "d" not in jwk
    JOURNEY.token = token

    # LinkedIn's add-to-profile link, with the certification's fields filled in
    linkedin = page.get_by_role("link", name=f"Add to LinkedIn (certificate {code})")
    parts = urlsplit(linkedin.get_attribute("href") or "")
    assert (parts.netloc, parts.path) == ("www.linkedin.com", "/profile/add")
    fields = {k: v[0] for k, v in parse_qs(parts.query).items()}
    issued = datetime.strptime(row.get_by_role("cell").nth(2).inner_text().strip(), "%d %b %Y")
    expires = datetime.strptime(row.get_by_role("cell").nth(3).inner_text().strip(), "%d %b %Y")
    assert fields == {
        "startTask": "CERTIFICATION_NAME", "name": "Certified Peer Mentor",
        "organizationName": "Courseware Peer Mentor Program",
        "issueYear": str(issued.year), "issueMonth": str(issued.month),
        "expirationYear": str(expires.year), "expirationMonth": str(expires.month),
        "certUrl": f"{page.url.split('/profile')[0]}/verify/{parse_code(code)}",
        "certId": code}

    # a program checks the file the learner gave them
    program = people.new()
    program.goto("/verify")
    program.get_by_label("Or choose a credential file").set_input_files(download.path())
    program.get_by_role("button", name="Check the credential").click()
    expect(_h1(program)).to_have_text("Credential check")
    expect(program.get_by_role("status")).to_contain_text("Valid: this credential was issued")
    checks = program.get_by_role("table", name="What was checked")
    for topic in ("Signature", "Issuer", "Key", "Status", "Validity"):
        expect(checks.get_by_role("row", name=re.compile(f"^{topic}"))).to_contain_text(
            "Passed")
    axe_check(program, "verify credential valid")


# --- 4. a program verifies; an admin revokes -----------------------------------------------------

def _verify_by_typing(page: Page, typed: str) -> None:
    field = page.get_by_label("Certificate code")
    field.fill("")
    field.press_sequentially(typed)
    page.get_by_role("button", name="Verify").click()


def test_program_verifies_and_admin_revokes(people: People) -> None:
    _need(JOURNEY.code, "an issued certificate")
    canonical = parse_code(JOURNEY.code)
    program = people.new()
    program.goto("/verify")
    expect(_h1(program)).to_have_text("Verify a peer mentor certificate")
    axe_check(program, "verify form")

    # a slip of one symbol is caught by the check symbol, before any lookup
    shown = JOURNEY.code
    slip = shown[:3] + ("A" if shown[3] != "A" else "B") + shown[4:]
    _verify_by_typing(program, slip.lower().replace("-", " "))
    expect(program.get_by_role("alert")).to_contain_text("This code looks mistyped")
    axe_check(program, "verify form mistyped")
    program.goto(f"/verify/{slip.replace('-', '')}")
    expect(program.get_by_role("status")).to_contain_text("This code looks mistyped")
    axe_check(program, "verify result mistyped")

    unknown = generate_code()
    _verify_by_typing(program, format_code(unknown).lower())
    expect(program.get_by_role("status")).to_have_text(re.compile("^No certificate has this code"))
    axe_check(program, "verify result not found")

    program.goto("/verify")
    _verify_by_typing(program, format_code(canonical).lower().replace("-", " "))
    expect(program).to_have_url(re.compile(rf"/verify/{re.escape(canonical)}$"))
    expect(program.get_by_role("status")).to_have_text(
        "Valid: this person holds a current certificate.")
    details = program.locator("dl.details")
    expect(details).to_contain_text(LEARNER["name"])
    expect(details).not_to_contain_text(LEARNER["email"])
    expect(program.get_by_text("Eligible to mentor now.")).to_be_visible()
    axe_check(program, "verify result valid")

    api = program.context.request.get(f"/api/v1/certificates/{canonical}")
    assert api.ok
    record = api.json()
    assert (record["status"], record["eligible"]) == ("valid", True)
    assert record["holder"] == {"name": LEARNER["name"]}

    admin = people.new()
    log_in(admin, *ADMIN)
    nav(admin, "Admin")
    expect(_h1(admin)).to_have_text("Administration")
    axe_check(admin, "admin index")
    admin.get_by_role("link", name="Certificates: revoke, suspend, reinstate").click()
    expect(_h1(admin)).to_have_text("Certificates")
    axe_check(admin, "admin certificates")
    admin.get_by_role("link", name=JOURNEY.code).click()
    expect(_h1(admin)).to_have_text(f"Certificate {JOURNEY.code}")
    expect(admin.locator("dd.status")).to_have_text("valid")
    axe_check(admin, "admin certificate detail")
    revoke = admin.locator("section.danger-zone").filter(
        has=admin.get_by_role("heading", name="Revoke (final)"))
    revoke.get_by_label("Public reason").select_option(label="Conduct review")
    revoke.get_by_label("Internal note (staff only)").fill(REVOKE_REASON)
    revoke.get_by_role("button", name="Revoke…").click()
    # what will be published is shown first; the note is marked as staff only
    expect(_h1(admin)).to_have_text(f"Confirm: revoke certificate {JOURNEY.code}")
    expect(admin.get_by_role("region", name="Published: what programs will see")).to_contain_text(
        "Revoked: Conduct review")
    axe_check(admin, "admin certificate confirm")
    admin.get_by_role("button", name="Publish and revoke").click()
    expect(flash(admin)).to_contain_text(f"Certificate {JOURNEY.code} is revoked.")
    expect(admin.locator("dd.status")).to_have_text("revoked")
    expect(admin.locator("dl.details")).to_contain_text(REVOKE_REASON)
    JOURNEY.revoked = True

    program.reload()
    expect(program.get_by_role("status")).to_have_text(
        "Revoked: this certificate has been withdrawn for good.")
    expect(program.get_by_text("Not eligible to mentor.")).to_be_visible()
    expect(program.locator("dl.details")).to_contain_text("Conduct review")
    expect(program.locator("dl.details")).not_to_contain_text(REVOKE_REASON)
    axe_check(program, "verify result revoked")
    record = program.context.request.get(f"/api/v1/certificates/{canonical}").json()
    assert (record["status"], record["eligible"]) == ("revoked", False)
    assert record["revocation_reason"] == "Conduct review"
    # the credential saved before the revocation now says so, by its status list
    if JOURNEY.token:
        program.goto("/verify")
        program.get_by_label("Paste a credential").fill(JOURNEY.token)
        program.get_by_role("button", name="Check the credential").click()
        expect(program.get_by_role("status")).to_contain_text("Not valid")
        status_row = program.get_by_role("table", name="What was checked").get_by_role(
            "row", name=re.compile("^Status"))
        expect(status_row).to_contain_text("Revoked: the issuer withdrew this credential")
        expect(status_row).to_contain_text("Conduct review")
        axe_check(program, "verify credential revoked")
    # a machine asking for the credential of a revoked certificate gets JSON, not a page
    gone = program.context.request.get(f"/certificates/{canonical}/credential.jwt",
                                       headers={"Accept": "application/json"})
    assert gone.status == 410 and gone.json()["error"]["code"] == "gone"

    # the holder's profile offers neither PDF nor credential any more, and says why
    holder = people.new()
    log_in(holder, LEARNER["email"], LEARNER["password"])
    nav(holder, "My progress")
    held = holder.get_by_role("table", name="Your certificates").get_by_role("row").nth(1)
    expect(held.get_by_role("cell").nth(4)).to_have_text("revoked")
    expect(held.get_by_role("link")).to_have_count(1)  # the code's verify page only
    expect(held).to_contain_text("(reason: Conduct review)")
    expect(held).to_contain_text("no PDF or credential to download")
    axe_check(holder, "profile revoked")

    # the rest of the admin's pages, now that they hold a revoked certificate and its history
    nav(admin, "Admin")
    admin.get_by_role("link", name="Mentor roster").click()
    expect(_h1(admin)).to_have_text("Mentor roster")
    expect(admin.get_by_role("row").filter(has_text=LEARNER["name"])).to_contain_text(
        "Not eligible")
    axe_check(admin, "admin roster")
    nav(admin, "Admin")
    admin.get_by_role("link", name="Audit log").click()
    expect(_h1(admin)).to_have_text("Audit log")
    expect(admin.get_by_role("row").filter(has_text=REVOKE_REASON)).to_have_count(1)
    axe_check(admin, "admin audit log")
    nav(admin, "Admin")
    admin.get_by_role("link", name="Course content and sync").click()
    expect(_h1(admin)).to_have_text("Course content")
    axe_check(admin, "admin content")
    nav(admin, "Reports")
    expect(_h1(admin)).to_have_text("Reports")
    admin.get_by_label("Quiz", exact=True).select_option("foundations")
    admin.get_by_role("button", name="Show").click()
    expect(admin.get_by_role("heading", name="Item statistics")).to_be_visible()
    axe_check(admin, "reports")


def test_unknown_address_shows_the_not_found_page(people: People) -> None:
    page = people.new()
    response = page.goto("/no-such-page")
    assert response is not None and response.status == 404
    expect(_h1(page)).to_have_text("Not found")
    expect(page.get_by_role("link", name="Go to the home page")).to_be_visible()
    axe_check(page, "error 404")


NARROW = {"width": 320, "height": 640}  # WCAG 1.4.10: 320 CSS pixels wide, no sideways scroll


# the text nodes that stick out past the right edge, and the element holding each
WIDEST_TEXT = """limit => {
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const found = [];
  for (let node = walker.nextNode(); node && found.length < 5; node = walker.nextNode()) {
    const range = document.createRange();
    range.selectNodeContents(node);
    const right = range.getBoundingClientRect().right;
    if (right > limit) found.push(`${Math.round(right)}px: ${node.parentElement.tagName} `
                                  + node.textContent.trim().slice(0, 80));
  }
  return found;
}"""


def _fits(page: Page, path: str, name: str) -> None:
    page.goto(path)
    expect(_h1(page)).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    if width > NARROW["width"]:
        wide = page.evaluate(WIDEST_TEXT, NARROW["width"])
        pytest.fail(f"{name} ({path}) is {width}px wide on a 320px screen: {wide}")
    axe_check(page, f"narrow: {name}")


def test_pages_fit_a_narrow_screen(people: People) -> None:
    _need(JOURNEY.revoked, "the whole journey")
    canonical = parse_code(JOURNEY.code)
    learner = people.new(viewport=NARROW)
    log_in(learner, LEARNER["email"], LEARNER["password"])
    for path, name in (("/", "course home"), ("/modules/foundations", "module page"),
                       ("/modules/foundations/feedback", "module feedback"),
                       ("/roleplays/boundaries", "role-play page"), ("/profile", "profile"),
                       ("/account/email", "change of address"),
                       (f"/verify/{canonical}", "verify result revoked")):
        _fits(learner, path, name)
    learner.goto("/roleplays/boundaries")
    graded = learner.get_by_role("region", name="Your submissions").get_by_role("link").last
    _fits(learner, graded.get_attribute("href") or "", "graded submission")
    expect(learner.get_by_role("region", name="Levels reached")).to_be_visible()

    admin = people.new(viewport=NARROW)
    log_in(admin, *ADMIN)
    for path, name in (("/admin/users", "admin users"), ("/admin/certificates", "certificates"),
                       (f"/admin/certificates/{canonical}", "certificate detail"),
                       ("/admin/roster", "roster"), ("/admin/audit", "audit log"),
                       ("/admin/mail", "mail delivery log"),
                       ("/admin/content", "content"), ("/admin/feedback", "feedback"),
                       ("/grade/", "grading queue"), ("/admin/calibration", "calibration"),
                       ("/grade/reports/reliability", "reliability report"),
                       ("/grade/calibration/", "calibration index"),
                       ("/grade/reports/quizzes?quiz=foundations", "reports")):
        _fits(admin, path, name)


def test_every_page_of_the_journeys_was_checked() -> None:
    _need(JOURNEY.revoked, "the whole journey")
    expected = {
        "welcome", "register", "login", "course home", "module page", "quiz page", "attempt page",
        "review page", "role-play page", "draft page", "submission view", "profile",
        "grading queue", "grade form", "moderation form", "profile with certificate",
        "verify form", "verify form mistyped", "verify result mistyped",
        "verify result not found", "verify result valid", "verify result revoked",
        "admin index", "admin certificates", "admin certificate detail", "admin roster",
        "admin audit log", "admin content", "reports", "error 404", "confirm address",
        "verify credential valid", "verify credential revoked", "profile revoked",
    }
    assert expected <= set(CHECKED), sorted(expected - set(CHECKED))
