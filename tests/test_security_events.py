"""Security events in the audit log: who (or "visitor"), from where, when; filtered by admins;
kept AUDIT_RETENTION_DAYS, then pruned, never the certificate history."""

from __future__ import annotations

import html
from datetime import timedelta
from typing import Any

from flask import Flask
from sqlalchemy import select

from courseware.domain import clock
from courseware.models import AuditEvent, User
from tests.conftest import Auth, UserFactory
from tests.test_certificates import manual


def events(app: Flask, action: str | None = None) -> list[AuditEvent]:
    with app.app_context(), app.extensions["courseware.db"].session(write=False) as s:
        stmt = select(AuditEvent).order_by(AuditEvent.id)
        if action:
            stmt = stmt.where(AuditEvent.action == action)
        found = list(s.scalars(stmt))
        s.expunge_all()
        return found


def test_refusals_on_staff_routes_are_recorded(app: Flask, learner: User, trainer: User) -> None:
    learner_client = app.test_client()
    learner_client.environ_base["REMOTE_ADDR"] = "198.51.100.20"
    Auth(learner_client).login(learner)
    assert learner_client.get("/admin/users").status_code == 403
    assert learner_client.post("/grade/live", data={}).status_code == 403
    trainer_client = app.test_client()
    Auth(trainer_client).login(trainer)
    assert trainer_client.get("/admin/audit").status_code == 403
    assert trainer_client.get("/grade/submissions/999999").status_code == 404
    assert trainer_client.post("/admin/nothing-here").status_code == 404  # no view ran
    anonymous = app.test_client()
    assert anonymous.get("/admin/no-such-page").status_code == 404
    assert anonymous.get("/modules/no-such-module").status_code in (302, 404)  # not staff
    refused = events(app, "access.denied")
    assert [(e.actor_id, e.target_label, e.details["status"]) for e in refused] == [
        (learner.id, "GET /admin/users", 403), (learner.id, "POST /grade/live", 403),
        (trainer.id, "GET /admin/audit", 403), (trainer.id, "GET /grade/submissions/999999", 404),
        (trainer.id, "POST /admin/nothing-here", 404), (None, "GET /admin/no-such-page", 404)]
    assert refused[0].client_address == "198.51.100.20"
    assert refused[-1].actor_label == "visitor (not logged in)"


def test_password_changes_and_enrolments_are_recorded(app: Flask, learner: User) -> None:
    client = app.test_client()
    Auth(client).login(learner)
    client.post("/account/password", data={"current_password": "correct horse battery staple",
                                           "new_password": "violet ladder orbit sandwich"})
    [event] = events(app, "password.change")
    assert event.actor_id == learner.id and event.client_address == "127.0.0.1"
    assert event.details == {"sessions_ended": 1}


def test_admins_filter_security_events(app: Flask, admin: User, learner: User) -> None:
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "203.0.113.5"
    Auth(other).login(learner.email, "not the right password")
    manual(app, learner)
    client = app.test_client()
    Auth(client).login(admin)

    def rows(**query: str) -> str:
        return html.unescape(client.get("/admin/audit", query_string=query)
                             .get_data(as_text=True))

    security = rows(security="1")
    assert "<td>login.failed</td>" in security and "<td>login.success</td>" in security
    assert "<td>certificate.issue</td>" not in security
    assert "<td>certificate.issue</td>" in rows()
    by_client = rows(client="203.0.113")
    assert "<td>login.failed</td>" in by_client and "<td>login.success</td>" not in by_client
    assert "203.0.113.5" in by_client
    about = rows(about=learner.email, security="1")
    assert "login.failed" in about
    assert 'id="f-security" name="security" type="checkbox" value="1" checked' in rows(
        security="1")


def test_prune_deletes_old_security_events_only(app: Flask, learner: User, frozen: Any,
                                                make_user: UserFactory) -> None:
    start = clock.utcnow()
    Auth(app.test_client()).login(learner.email, "not the right password")
    code = manual(app, learner)
    clock.freeze(start + timedelta(days=400))
    Auth(app.test_client()).login(learner.email, "not the right password either")
    result = app.test_cli_runner().invoke(args=["audit", "prune"])
    assert result.exit_code == 0, result.output
    assert "deleted 1 security event older than 365 days" in result.output
    left = events(app)
    assert [e.action for e in left if e.action == "login.failed"] == ["login.failed"]
    assert any(e.action == "certificate.issue" and e.target_id == code for e in left)
    [pruned] = events(app, "audit.prune")
    assert pruned.actor_label == "command line" and pruned.details["deleted"] == 1
    clock.freeze(start + timedelta(days=402))
    shorter = app.test_cli_runner().invoke(args=["audit", "prune", "--days", "1"])
    assert "deleted 1 security event" in shorter.output
    assert app.test_cli_runner().invoke(args=["audit", "prune", "--days", "0"]).exit_code != 0
