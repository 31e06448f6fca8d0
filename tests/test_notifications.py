"""Who is told what, and when: grades, moderation, certificates issued and changed, reminders
before expiry, the trainers' digest. Every message is recorded in the transaction of its cause,
at most once per (recipient, kind, subject); every kind renders (plain text and HTML) with the
one link that matters, and that link leads to a page of the site."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from werkzeug.exceptions import NotFound

from courseware.domain import clock
from courseware.domain.reminders import TOPIC_OF
from courseware.domain.statuses import CertificateChange, MessageKind, ModerationDecision
from courseware.models import Submission, User
from courseware.services import accounts, grading, outbox
from courseware.tasks.jobs import Tasks
from courseware.tasks.mail import compose
from tests.conftest import Auth
from tests.factories import Factory
from tests.mailing import recorded


def kinds_for(app: Flask, email: str) -> list[MessageKind]:
    return [m.kind for m in recorded(app, email)]


def jobs_of(app: Flask) -> Tasks:
    tasks: Tasks = app.extensions["courseware.jobs"]
    return tasks


@pytest.fixture
def people(app: Flask) -> dict[str, User]:
    factory = Factory(app)
    learner = factory.user(email="lena@x.org", name="Lena Learner")
    factory.read(learner)  # every role-play open to them
    staff = {"trainer": factory.user("trainer", email="tomas@x.org", name="Tomas Trainer"),
             "trainer2": factory.user("trainer", email="tariq@x.org", name="Tariq Trainer"),
             "admin": factory.user("admin", email="ada@x.org", name="Ada Admin")}
    for person in staff.values():
        factory.calibrate(person)  # grading needs it (calibration has its own tests)
    return {"learner": learner, **staff}


# --- grades ---------------------------------------------------------------------------------------

def test_the_learner_hears_that_a_roleplay_passed(app: Flask, people: dict[str, User]) -> None:
    factory = Factory(app)
    learner, trainer = people["learner"], people["trainer"]
    passed = factory.submission(learner, "active-listening")
    factory.grade(trainer, passed)
    [graded] = recorded(app, "lena@x.org", MessageKind.ROLEPLAY_GRADED)
    assert (graded.payload["outcome"], graded.payload["submission_id"]) == ("passed", passed.id)
    assert graded.payload["roleplay"] and not graded.payload["amended"]
    assert graded.link == f"/submissions/{passed.id}"
    # the link opens the learner's own submission, with the feedback
    client = app.test_client()
    Auth(client).login(learner)
    assert client.get(graded.link).status_code == 200
    assert kinds_for(app, "tomas@x.org") == []  # the grader is told nothing


def test_a_critical_fail_tells_the_other_trainers_at_once_and_the_learner_after_moderation(
        app: Flask, people: dict[str, User]) -> None:
    factory = Factory(app)
    learner = people["learner"]
    submission = factory.submission(learner, "boundaries")
    factory.grade(people["trainer"], submission, fail_critical=True)
    assert kinds_for(app, "lena@x.org") == []  # not until a second trainer has looked
    assert kinds_for(app, "tomas@x.org") == []  # not the first grader
    [asked] = recorded(app, "tariq@x.org")
    assert asked.kind is MessageKind.MODERATION_NEEDED
    assert asked.payload["grader"] == "Tomas Trainer"
    assert asked.link == f"/grade/submissions/{submission.id}"
    assert kinds_for(app, "ada@x.org") == []  # another trainer exists: admins are not asked
    factory.grade(people["trainer2"], submission, fail_critical=True)  # blind, then:
    factory.decide(people["trainer2"], submission, ModerationDecision.CONFIRMED)
    [told] = recorded(app, "lena@x.org")
    assert told.kind is MessageKind.ROLEPLAY_GRADED
    assert told.payload["outcome"] == "returned" and told.payload["moderated"]


def test_with_no_other_trainer_the_admins_are_asked_to_moderate(app: Flask) -> None:
    factory = Factory(app)
    learner = factory.user()
    factory.read(learner)
    trainer = factory.user("trainer")
    factory.calibrate(trainer, "boundaries")
    factory.user("admin", email="ada@x.org")
    factory.grade(trainer, factory.submission(learner, "boundaries"), fail_critical=True)
    assert kinds_for(app, "ada@x.org") == [MessageKind.MODERATION_NEEDED]


def test_an_amended_grade_is_news_again(app: Flask, people: dict[str, User]) -> None:
    factory = Factory(app)
    submission = factory.submission(people["learner"], "referral")
    first = factory.grade(people["trainer"], submission)
    with app.app_context(), app.extensions["courseware.db"].session() as s:
        sub = s.get(Submission, submission.id)
        assert sub is not None
        grading.save_grade(s, s.get(User, people["trainer2"].id), sub, grading.GradeInput(
            first.levels, first.comments, "On reflection: clearer still.", first.number + 1,
            "A second reading"), clock.utcnow())
        s.commit()
    before, amended = recorded(app, "lena@x.org", MessageKind.ROLEPLAY_GRADED)
    assert (before.payload["amended"], amended.payload["amended"]) == (False, True)
    assert amended.subject_key != before.subject_key


# --- certificates -------------------------------------------------------------------------------

def test_the_holder_hears_of_issue_suspension_reinstatement_and_revocation(
        app: Flask, people: dict[str, User]) -> None:
    factory = Factory(app)
    cert = factory.earned_certificate(people["learner"], people["trainer"])
    factory.change_certificate(cert, CertificateChange.SUSPEND, "Complaint under review")
    factory.change_certificate(cert, CertificateChange.REINSTATE, "Complaint dismissed")
    factory.change_certificate(cert, CertificateChange.SUSPEND, "A second complaint")
    factory.change_certificate(cert, CertificateChange.REVOKE, "Conduct")
    about = [m for m in recorded(app, "lena@x.org") if m.payload.get("code") == cert.code]
    assert [(m.kind, m.payload.get("reason")) for m in about] == [
        (MessageKind.CERTIFICATE_ISSUED, None),
        (MessageKind.CERTIFICATE_SUSPENDED, "Complaint under review"),
        (MessageKind.CERTIFICATE_REINSTATED, "Complaint dismissed"),
        (MessageKind.CERTIFICATE_SUSPENDED, "A second complaint"),
        (MessageKind.CERTIFICATE_REVOKED, "Conduct"),
    ]
    assert {m.link for m in about} == {f"/verify/{cert.code}"}


def test_nobody_unconfirmed_or_deactivated_is_mailed_news(app: Flask,
                                                          people: dict[str, User]) -> None:
    factory = Factory(app)
    unconfirmed = factory.user(email="una@x.org", confirmed=False)
    factory.read(unconfirmed)
    factory.grade(people["trainer"], factory.submission(unconfirmed, "referral"))
    assert kinds_for(app, "una@x.org") == [MessageKind.CONFIRM_ADDRESS]
    with app.app_context(), app.extensions["courseware.db"].session() as s:
        accounts.set_active(s, s.get(User, people["admin"].id),
                            s.get(User, people["trainer2"].id), False, "left")
        s.commit()
    factory.grade(people["trainer"], factory.submission(people["learner"], "boundaries"),
                  fail_critical=True)
    assert kinds_for(app, "tariq@x.org") == []  # deactivated
    assert kinds_for(app, "ada@x.org") == [MessageKind.MODERATION_NEEDED]


# --- reminders --------------------------------------------------------------------------------

def run_reminders(app: Flask) -> None:
    jobs_of(app).certificate_reminders.call_local()


def test_reminders_follow_the_certificate_to_its_expiry_once_each(
        app: Flask, people: dict[str, User], frozen: Any) -> None:
    start = clock.utcnow()
    cert = Factory(app).manual_certificate(people["learner"])
    expires = cert.expires_at
    expected: list[MessageKind] = []
    for moment, kind in [
        (start + timedelta(days=30), None),
        (expires - timedelta(days=91), None),
        (expires - timedelta(days=90), MessageKind.RENEWAL_OPEN),
        (expires - timedelta(days=60), None),  # already told
        (expires - timedelta(days=30), MessageKind.EXPIRES_IN_30_DAYS),
        (expires - timedelta(days=29), None),
        (expires - timedelta(days=7), MessageKind.EXPIRES_IN_7_DAYS),
        (expires + timedelta(hours=1), MessageKind.CERTIFICATE_EXPIRED),
        (expires + timedelta(days=2), None),
        (expires + timedelta(days=30), None),
    ]:
        clock.freeze(moment)
        run_reminders(app)
        run_reminders(app)  # a second run (or a second worker) the same day changes nothing
        if kind is not None:
            expected.append(kind)
        reminders = [k for k in kinds_for(app, "lena@x.org") if k in TOPIC_OF]
        assert reminders == expected, moment
    [renewal] = recorded(app, "lena@x.org", MessageKind.RENEWAL_OPEN)
    assert renewal.link == "/profile" and renewal.payload["can_renew"] is True


def test_no_reminders_when_turned_off_revoked_or_renewed(app: Flask, people: dict[str, User],
                                                         frozen: Any) -> None:
    factory = Factory(app)
    quiet = factory.user(email="quiet@x.org")
    revoked = factory.user(email="revoked@x.org")
    for holder in (quiet, revoked, people["learner"]):
        factory.manual_certificate(holder)
    factory.change_certificate(factory.certificate_of(revoked), CertificateChange.REVOKE, "Gone")
    client = app.test_client()
    Auth(client).login(quiet)
    assert client.post("/account/preferences", data={}).status_code == 302  # all off
    clock.freeze(factory.certificate_of(quiet).expires_at - timedelta(days=20))
    run_reminders(app)
    assert [k for k in kinds_for(app, "quiet@x.org") if k in TOPIC_OF] == []
    assert [k for k in kinds_for(app, "revoked@x.org") if k in TOPIC_OF] == []
    assert MessageKind.EXPIRES_IN_30_DAYS in kinds_for(app, "lena@x.org")


# --- the trainers' digest -------------------------------------------------------------------------

def run_digests(app: Flask) -> None:
    jobs_of(app).trainer_digests.call_local()


def test_a_daily_digest_only_when_work_waits(app: Flask, people: dict[str, User],
                                             frozen: Any) -> None:
    factory = Factory(app)
    run_digests(app)
    assert kinds_for(app, "tomas@x.org") == []  # nothing waits: no message
    factory.submission(people["learner"], "referral")
    factory.submission(people["learner"], "boundaries")
    run_digests(app)
    run_digests(app)
    [digest] = recorded(app, "tomas@x.org", MessageKind.GRADING_DIGEST)
    assert digest.payload["count"] == 2 and digest.link == "/grade/"
    assert kinds_for(app, "ada@x.org") == []  # admins grade too, but get no digest
    clock.freeze(clock.utcnow() + timedelta(days=1))
    run_digests(app)
    assert len(recorded(app, "tomas@x.org", MessageKind.GRADING_DIGEST)) == 2
    # turned off: no more
    client = app.test_client()
    Auth(client).login(people["trainer2"])
    client.post("/account/preferences", data={"reminders": "y"})
    clock.freeze(clock.utcnow() + timedelta(days=1))
    run_digests(app)
    assert len(recorded(app, "tariq@x.org", MessageKind.GRADING_DIGEST)) == 2


# --- every kind, as mail ----------------------------------------------------------------------

def test_every_kind_renders_with_its_one_link_to_a_page_of_the_site(
        app: Flask, people: dict[str, User], frozen: Any) -> None:
    factory = Factory(app)
    learner, trainer = people["learner"], people["trainer"]
    # everything that causes mail, once
    other = factory.user(email="other@x.org")
    factory.read(other)
    factory.grade(trainer, factory.submission(other, "boundaries"), fail_critical=True)
    cert = factory.earned_certificate(learner, trainer)
    factory.change_certificate(cert, CertificateChange.SUSPEND, "Review")
    factory.change_certificate(cert, CertificateChange.REINSTATE)
    factory.reset_link(learner)
    factory.program("Notified Program")  # its first staff login is welcomed
    client = app.test_client()
    client.post("/register", data={"name": "New Person", "email": "new@x.org",
                                   "password": "a long enough secret"})
    client.post("/register", data={"name": "Someone", "email": "lena@x.org",
                                   "password": "a long enough secret"})
    Auth(client).login(learner)
    client.post("/account/email", data={"email": "lena2@x.org",
                                        "password": "correct horse battery staple"})
    from tests.mailing import last_link

    client.post(last_link(app, "lena2@x.org", MessageKind.CONFIRM_ADDRESS))
    factory.read(people["admin"])
    factory.submission(people["admin"], "referral")  # work waiting for the digest
    run_digests(app)
    for before in (90, 30, 7, -1):
        clock.freeze(cert.expires_at - timedelta(days=before))
        run_reminders(app)
    factory.change_certificate(cert, CertificateChange.REVOKE, "Conduct")
    clock.freeze(None)

    adapter = app.url_map.bind("localhost")
    env = jobs_of(app).env
    seen = set()
    with app.app_context(), app.extensions["courseware.db"].session() as s:
        for row in recorded(app):
            claimed = outbox.claim(s, row.id, clock.utcnow(), timedelta(minutes=1))
            assert claimed is not None
            mail = compose(env, claimed)
            seen.add(claimed.kind)
            link = "http://localhost" + row.link
            assert mail.subject and "\n" not in mail.subject
            assert link in mail.text and f'href="{link}"' in mail.html, claimed.kind
            assert mail.text.startswith(f"Hello {claimed.payload['name']},")
            assert "{{" not in mail.text and "{{" not in mail.html
            try:
                adapter.match(row.link.split("?")[0], method="GET")
            except NotFound:  # pragma: no cover - the assertion below says which
                pytest.fail(f"{claimed.kind}: {row.link} is no page of the site")
            unsubscribe = mail.headers.get("List-Unsubscribe")
            if claimed.kind in TOPIC_OF:
                assert unsubscribe and unsubscribe.startswith(
                    "<http://localhost/account/unsubscribe/")
                assert mail.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
                assert unsubscribe.strip("<>") in mail.text
            else:
                assert unsubscribe is None, claimed.kind
    # webhook deliveries are not mail; the mail telling a program its endpoint was turned off
    # is rendered by tests/test_webhooks.py, which makes an endpoint fail for three days
    mail_kinds = {k for k in MessageKind if not k.startswith("webhook")}
    assert seen == mail_kinds, mail_kinds - seen


def test_the_unsubscribe_link_of_a_reminder_turns_reminders_off(app: Flask,
                                                                people: dict[str, User],
                                                                frozen: Any) -> None:
    cert = Factory(app).manual_certificate(people["learner"])
    clock.freeze(cert.expires_at - timedelta(days=30))
    run_reminders(app)
    [row] = recorded(app, "lena@x.org", MessageKind.EXPIRES_IN_30_DAYS)
    with app.app_context(), app.extensions["courseware.db"].session() as s:
        claimed = outbox.claim(s, row.id, clock.utcnow(), timedelta(minutes=1))
        assert claimed is not None
        mail = compose(jobs_of(app).env, claimed)
    url = mail.headers["List-Unsubscribe"].strip("<>").removeprefix("http://localhost")
    assert app.test_client().post(url, data={"List-Unsubscribe": "One-Click"}
                                  ).status_code == 200
    with app.app_context(), app.extensions["courseware.db"].session(write=False) as s:
        holder = s.get(User, people["learner"].id)
        assert holder is not None and holder.mail_reminders is False


# --- the admins' delivery log ----------------------------------------------------------------

def test_the_delivery_log_shows_where_each_message_stands_never_its_body(
        app: Flask, people: dict[str, User]) -> None:
    factory = Factory(app)
    factory.reset_link(people["learner"])
    [row] = recorded(app, "lena@x.org")
    client = app.test_client()
    Auth(client).login(people["admin"])
    assert "Mail delivery log" in client.get("/admin/").get_data(as_text=True)
    page = client.get("/admin/mail").get_data(as_text=True)
    assert "lena@x.org" in page and "password reset" in page and "pending" in page
    assert row.payload["token"] not in page and row.sealed not in page
    filtered = client.get("/admin/mail", query_string={"status": "sent"}).get_data(as_text=True)
    assert "lena@x.org" not in filtered
    by_kind = client.get("/admin/mail", query_string={"kind": "password_reset",
                                                      "recipient": "lena"})
    assert "lena@x.org" in by_kind.get_data(as_text=True)
