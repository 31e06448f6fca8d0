"""Addresses: confirmed by an emailed link before a certificate is issued to them; changed only
through a link sent to the new one (the old one is told); mail preferences, and the one-click
unsubscribe that works without logging in."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Flask
from sqlalchemy import select

from courseware.domain import clock
from courseware.domain.statuses import MailTopic, MessageKind
from courseware.infra.mail import Unsubscribe
from courseware.models import AuditEvent, Certificate, User
from courseware.services import certificates
from courseware.services.audit import COMMAND_LINE
from tests.conftest import PASSWORD, Auth, make_app
from tests.factories import Factory
from tests.mailing import last_link, recorded

INVALID = "This link does not work"


def text_of(response: Any) -> str:
    """The page as a reader sees it: tags dropped, white space collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))
                                  ).split()).replace(" .", ".").replace(" ?", "?")


def user_by(app: Flask, user_id: int) -> User:
    with app.app_context(), app.extensions["courseware.db"].session(write=False) as s:
        user = s.get(User, user_id)
        assert user is not None
        s.expunge(user)
        return user


def user_with(app: Flask, email: str) -> User:
    with app.app_context(), app.extensions["courseware.db"].session(write=False) as s:
        user = s.scalar(select(User).where(User.email == email))
        assert user is not None
        s.expunge(user)
        return user


def certificates_of(app: Flask, user_id: int) -> list[Certificate]:
    with app.app_context(), app.extensions["courseware.db"].session(write=False) as s:
        found = list(s.scalars(select(Certificate).where(Certificate.user_id == user_id)))
        s.expunge_all()
        return found


def audit(app: Flask, action: str) -> list[AuditEvent]:
    with app.app_context(), app.extensions["courseware.db"].session(write=False) as s:
        found = list(s.scalars(select(AuditEvent).where(AuditEvent.action == action)))
        s.expunge_all()
        return found


# --- confirming -----------------------------------------------------------------------------------

def test_a_new_account_confirms_its_address_by_the_link_once(app: Flask) -> None:
    client = app.test_client()
    client.post("/register", data={"name": "Ann Example", "email": "ann@x.org",
                                   "password": "a long enough secret"})
    link = last_link(app, "ann@x.org", MessageKind.CONFIRM_ADDRESS)
    page = client.get(link)
    assert page.status_code == 200
    assert "Confirm that ann@x.org is your address." in text_of(page)
    assert page.headers["Cache-Control"] == "no-store"
    # a link scanner's GET confirms nothing: only the button does
    user = user_with(app, "ann@x.org")
    assert user.email_confirmed_at is None
    response = client.post(link)
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/login"
    assert "Your email address ann@x.org is confirmed." in text_of(client.get("/login"))
    assert user_by(app, user.id).email_confirmed_at is not None
    again = app.test_client().get(link)
    assert again.status_code == 410 and INVALID in text_of(again)


def test_a_confirmation_link_works_for_seven_days(app: Flask, frozen: Any) -> None:
    start = clock.utcnow()
    factory = Factory(app)
    user = factory.user(email="ann@x.org", confirmed=False)
    link = last_link(app, "ann@x.org", MessageKind.CONFIRM_ADDRESS)
    clock.freeze(start + timedelta(days=7))
    assert app.test_client().post(link).status_code == 410
    assert user_by(app, user.id).email_confirmed_at is None


def test_the_profile_asks_an_unconfirmed_learner_to_confirm_and_resends_the_link(
        app: Flask) -> None:
    factory = Factory(app)
    user = factory.user(email="ann@x.org", confirmed=False)
    client = app.test_client()
    Auth(client).login(user)
    assert "Confirm your email address to receive your certificate" in text_of(client.get("/"))
    profile = text_of(client.get("/profile"))
    assert "not confirmed yet" in profile and "Send the confirmation link again" in profile
    response = client.post("/account/confirm")
    assert response.status_code == 302
    assert "We have sent a new confirmation link to ann@x.org." in text_of(client.get("/profile"))
    first, second = recorded(app, "ann@x.org", MessageKind.CONFIRM_ADDRESS)
    assert first.link != second.link
    assert client.post(second.link).status_code == 302
    assert client.post(first.link).status_code == 302  # an older link confirms it too
    assert client.post("/account/confirm").status_code == 302
    assert "Your email address is already confirmed." in text_of(client.get("/profile"))
    assert len(recorded(app, "ann@x.org", MessageKind.CONFIRM_ADDRESS)) == 2


def test_no_certificate_until_the_address_is_confirmed_then_what_was_earned_is_issued(
        app: Flask) -> None:
    factory = Factory(app)
    learner = factory.user(name="Una Confirmed", email="una@x.org", confirmed=False)
    trainer = factory.user("trainer")
    factory.complete_track(learner, trainer)
    assert certificates_of(app, learner.id) == []  # everything earned, nothing issued
    client = app.test_client()
    Auth(client).login(learner)
    assert "Confirm your email address to receive your certificate" in text_of(
        client.get("/profile"))
    link = last_link(app, "una@x.org", MessageKind.CONFIRM_ADDRESS)
    response = client.post(link)
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/profile"
    profile = text_of(client.get("/profile"))
    assert "Congratulations: you have earned the certificate" in profile
    [cert] = certificates_of(app, learner.id)
    # the learner is the actor, the confirmation the cause
    [event_] = [e for e in audit(app, "certificate.issue") if e.target_id == cert.code]
    assert event_.actor_id == learner.id
    assert set(event_.details["cause"]) == {"address_confirmed"}
    assert [m.kind for m in recorded(app, "una@x.org")] == [
        MessageKind.CONFIRM_ADDRESS, MessageKind.CERTIFICATE_ISSUED]


def test_an_admin_cannot_issue_by_hand_to_an_unconfirmed_address(app: Flask) -> None:
    factory = Factory(app)
    learner = factory.user(confirmed=False)
    with app.app_context(), app.extensions["courseware.db"].session() as s:
        import pytest

        with pytest.raises(certificates.CertificateError, match="not confirmed their email"):
            certificates.manual_issue(s, COMMAND_LINE, s.get(User, learner.id),
                                      "certified-peer-mentor", "Prior learning",
                                      clock.utcnow(), certificates.IssueContext.from_config(
                                          app.config))


# --- changing the address -----------------------------------------------------------------------

def test_changing_the_address_confirms_the_new_one_and_tells_the_old_one(app: Flask) -> None:
    factory = Factory(app)
    user = factory.user(email="old@x.org", name="Ann Example")
    client = app.test_client()
    Auth(client).login(user)
    form = client.get("/account/email")
    assert form.status_code == 200 and "Your address is old@x.org." in text_of(form)
    wrong = client.post("/account/email", data={"email": "new@x.org", "password": "nope"})
    assert wrong.status_code == 422 and "Your current password is not right." in text_of(wrong)
    same = client.post("/account/email", data={"email": "OLD@x.org", "password": PASSWORD})
    assert same.status_code == 422 and "That is already your address." in text_of(same)
    response = client.post("/account/email", data={"email": "New@X.org", "password": PASSWORD})
    assert response.status_code == 302
    assert "We have sent a confirmation link to new@x.org." in text_of(client.get("/profile"))
    assert user_by(app, user.id).email == "old@x.org"  # not until the link is followed
    link = last_link(app, "new@x.org", MessageKind.CONFIRM_ADDRESS)
    assert "Make new@x.org your account's email address?" in text_of(client.get(link))
    assert client.post(link).status_code == 302
    assert user_by(app, user.id).email == "new@x.org"
    [told] = recorded(app, "old@x.org", MessageKind.ADDRESS_CHANGED)
    assert told.payload["new_email"] == "new@x.org"
    [event_] = audit(app, "user.email_change")
    assert event_.actor_id == user.id and event_.details == {"from": "old@x.org"}
    assert Auth(app.test_client()).login("new@x.org").status_code == 302
    assert Auth(app.test_client()).login("old@x.org").status_code == 422


def test_a_change_of_address_voids_every_other_pending_link(app: Flask) -> None:
    factory = Factory(app)
    user = factory.user(email="ann@x.org", confirmed=False)
    registration = last_link(app, "ann@x.org", MessageKind.CONFIRM_ADDRESS)
    client = app.test_client()
    Auth(client).login(user)
    for new in ("b@x.org", "c@x.org"):
        client.post("/account/email", data={"email": new, "password": PASSWORD})
    assert client.post(last_link(app, "b@x.org", MessageKind.CONFIRM_ADDRESS)
                       ).status_code == 302
    assert user_by(app, user.id).email == "b@x.org"
    # neither the old registration link nor the other change can move the address again
    assert client.post(registration).status_code == 410
    assert client.post(last_link(app, "c@x.org", MessageKind.CONFIRM_ADDRESS)).status_code == 410
    assert user_by(app, user.id).email == "b@x.org"


def test_changing_to_an_address_with_an_account_answers_the_same_and_tells_that_mailbox(
        app: Flask) -> None:
    factory = Factory(app)
    user = factory.user(email="ann@x.org")
    factory.user(email="bob@x.org")
    client = app.test_client()
    Auth(client).login(user)
    response = client.post("/account/email", data={"email": "bob@x.org", "password": PASSWORD})
    assert response.status_code == 302
    assert "We have sent a confirmation link to bob@x.org." in text_of(client.get("/profile"))
    assert [m.kind for m in recorded(app, "bob@x.org")] == [MessageKind.ADDRESS_TAKEN]
    assert user_by(app, user.id).email == "ann@x.org"


def test_an_address_taken_meanwhile_cannot_be_confirmed(app: Flask) -> None:
    factory = Factory(app)
    user = factory.user(email="ann@x.org")
    client = app.test_client()
    Auth(client).login(user)
    client.post("/account/email", data={"email": "new@x.org", "password": PASSWORD})
    link = last_link(app, "new@x.org", MessageKind.CONFIRM_ADDRESS)
    factory.user(email="new@x.org")  # someone else took it first
    response = client.post(link)
    assert response.status_code == 409
    assert "This address now belongs to another account" in text_of(response)
    assert user_by(app, user.id).email == "ann@x.org"


# --- preferences and one-click unsubscribe --------------------------------------------------------

def test_preferences_are_saved_on_the_profile_page(app: Flask) -> None:
    factory = Factory(app)
    trainer = factory.user("trainer")
    client = app.test_client()
    Auth(client).login(trainer)
    page = text_of(client.get("/profile"))
    assert "A daily digest of role-plays waiting for grading" in page
    assert client.post("/account/preferences", data={"digests": "y"}).status_code == 302
    saved = user_by(app, trainer.id)
    assert (saved.mail_reminders, saved.mail_digests) == (False, True)
    assert "Your email preferences are saved." in text_of(client.get("/profile"))


def test_a_learner_sees_no_digest_choice(app: Flask, learner: User) -> None:
    client = app.test_client()
    Auth(client).login(learner)
    page = text_of(client.get("/profile"))
    assert "Reminders about my certificates" in page
    assert "A daily digest of role-plays" not in page


def test_one_click_unsubscribe_works_without_login_or_csrf(database_url: str,
                                                           tmp_path: Path) -> None:
    app = make_app(database_url, tmp_path, WTF_CSRF_ENABLED=True)  # as in production
    user = Factory(app).user("trainer")
    token = Unsubscribe(app.config["SECRET_KEY"]).token(user.id, MailTopic.DIGESTS)
    url = f"/account/unsubscribe/{token}"
    client = app.test_client()
    page = client.get(url)
    assert page.status_code == 200 and "Stop receiving the daily digest" in text_of(page)
    assert user_by(app, user.id).mail_digests  # a GET changes nothing
    # what a mail client sends (RFC 8058): no cookie, no token
    response = client.post(url, data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert "you no longer receive the daily digest" in text_of(response)
    saved = user_by(app, user.id)
    assert (saved.mail_digests, saved.mail_reminders) == (False, True)
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    assert client.post(f"/account/unsubscribe/{forged}").status_code == 404
