"""The whole path from a fresh learner to a verified certificate, through HTTP only."""

from __future__ import annotations

from flask import Flask

from courseware.domain.statuses import MessageKind
from tests import helpers
from tests.conftest import Auth, UserFactory
from tests.mailing import last_link


def test_fresh_learner_to_verified_certificate(
    app: Flask, make_user: UserFactory
) -> None:
    learner_client, trainer_client = app.test_client(), app.test_client()
    response = learner_client.post("/register", data={
        "name": "Rosa Díaz", "email": "Rosa@Example.org", "password": "a long enough secret"})
    assert response.status_code == 302
    # the link in the confirmation mail, then log in
    confirm = last_link(app, "rosa@example.org", MessageKind.CONFIRM_ADDRESS)
    assert learner_client.post(confirm).status_code == 302
    assert Auth(learner_client).login("rosa@example.org",
                                      "a long enough secret").status_code == 302
    trainer = make_user("trainer")
    Auth(trainer_client).login(trainer)
    for slug in helpers.ROLEPLAYS:  # a trainer grades a role-play once calibrated on it
        helpers.calibrate(trainer_client, slug)

    helpers.read_all(learner_client)
    for slug in helpers.MODULES:
        helpers.pass_quiz(learner_client, app, slug)
    for slug in helpers.ROLEPLAYS:
        submission_id = helpers.submit_roleplay(learner_client, slug)
        response = helpers.grade(trainer_client, app, submission_id)
        assert response.status_code == 302, response.get_data(as_text=True)[:1500]

    profile = learner_client.get("/profile").get_data(as_text=True)
    assert "You are an eligible peer mentor" in profile
    import re

    code = re.search(r"/verify/([0-9A-Z*~$=]{27})", profile)
    assert code, profile[:3000]
    api = learner_client.get(f"/api/v1/certificates/{code.group(1)}").get_json()
    assert api["status"] == "valid" and api["eligible"] is True
    assert api["holder"] == {"name": "Rosa Díaz"}
    page = app.test_client().get(f"/verify/{code.group(1)}")
    assert page.status_code == 200
    assert "Eligible to mentor now" in page.get_data(as_text=True)
    assert "rosa@example.org" not in page.get_data(as_text=True).lower()
