"""Every audit event names its real actor and cause.

A certificate earned on the web was once recorded as "issued by command line". Now the service
that issues takes the actor and the cause as required arguments, and the suite-wide guard in
conftest.py checks every event every test records.
"""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from courseware.models import AuditEvent, User
from tests import helpers
from tests.test_certificates import certificate_of, complete_everything


def issue_events(app: Flask) -> list[AuditEvent]:
    with app.app_context(), helpers.session(app) as s:
        events = s.scalars(select(AuditEvent).where(AuditEvent.action == "certificate.issue")
                           ).all()
        s.expunge_all()
        return list(events)


def test_a_certificate_completed_by_a_grade_names_the_trainer_and_the_grade(
        app: Flask, learner: User, trainer: User,
        clients: tuple[FlaskClient, FlaskClient]) -> None:
    learner_client, trainer_client = clients
    last = complete_everything(app, learner_client, trainer_client, skip_last=True)
    helpers.grade(trainer_client, app, last)
    cert = certificate_of(app, learner)
    assert cert is not None
    [event] = issue_events(app)
    assert event.actor_id == trainer.id
    assert event.actor_label == f"{trainer.name} <{trainer.email}>"
    assert event.details["cause"]["submission"] == last
    grade_id = cert.evidence[f"roleplay:{helpers.ROLEPLAYS[-1]}"]["grade_id"]
    assert event.details["cause"]["grade"] == grade_id
    # and the admin's history of the certificate says so in words
    assert cert.issued_by_id == trainer.id


def test_a_certificate_completed_by_a_quiz_names_the_learner_and_the_attempt(
        app: Flask, learner: User, clients: tuple[FlaskClient, FlaskClient]) -> None:
    learner_client, trainer_client = clients
    helpers.read_all(learner_client)
    for slug in helpers.MODULES[:-1]:
        helpers.pass_quiz(learner_client, app, slug)
    for slug in helpers.ROLEPLAYS:
        submission_id = helpers.submit_roleplay(learner_client, slug)
        assert helpers.grade(trainer_client, app, submission_id).status_code == 302
    assert certificate_of(app, learner) is None
    attempt_id = helpers.pass_quiz(learner_client, app, helpers.MODULES[-1])
    [event] = issue_events(app)
    assert event.actor_id == learner.id
    assert event.details["cause"] == {"quiz_attempt": attempt_id}


def test_the_command_line_is_named_only_for_what_it_did(app: Flask, learner: User) -> None:
    result = app.test_cli_runner().invoke(args=[
        "certificates", "issue", learner.email, "--track", "certified-peer-mentor",
        "--reason", "Prior learning"])
    assert result.exit_code == 0, result.output
    [event] = issue_events(app)
    assert event.actor_id is None and event.actor_label == "command line"
    assert event.details["manual"] is True and event.details["cause"] == {"manual": True}
