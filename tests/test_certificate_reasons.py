"""Suspension and revocation: a public reason from a short list, apart from the internal note.

A free-text reason was published word for word (a complainant's name and email appeared on the
public page); now what programs see is chosen from a list, with optional text the admin sees as
published before saving, and the note stays with staff.
"""

from __future__ import annotations

import html
import json
import re

import pytest
from flask import Flask

from courseware.domain.statuses import CertificateChange, PublicReason
from courseware.models import Certificate, User
from courseware.services import certificates
from courseware.services.audit import COMMAND_LINE
from tests import helpers
from tests.conftest import Auth
from tests.test_certificates import manual

PRIVATE = "Complaint by Jane Roe <jane.roe@example.net> after the 3 May session"


def public_views(app: Flask, code: str) -> tuple[str, str]:
    anyone = app.test_client()
    page = html.unescape(anyone.get(f"/verify/{code}").get_data(as_text=True))
    api = json.dumps(anyone.get(f"/api/v1/certificates/{code}").get_json())
    batch = json.dumps(anyone.post("/api/v1/eligibility", json={"codes": [code]}).get_json())
    return page, api + batch


@pytest.fixture
def admin_client(app: Flask, admin: User):  # type: ignore[no-untyped-def]
    client = app.test_client()
    assert Auth(client).login(admin).status_code == 302
    return client


@pytest.mark.parametrize("change", ["suspend", "revoke"])
def test_the_internal_note_is_never_published(app: Flask, admin_client, learner: User,  # type: ignore[no-untyped-def]
                                              change: str) -> None:
    code = manual(app, learner)
    data = {f"{change}-public_reason": "conduct_review", f"{change}-note": PRIVATE,
            f"{change}-public_text": "", f"{change}-confirm": "yes"}
    assert admin_client.post(f"/admin/certificates/{code}/{change}", data=data).status_code == 302
    page, api = public_views(app, code)
    assert "Conduct review" in page and '"revocation_reason": "Conduct review"' in api
    assert '"revocation_reason_code": "conduct_review"' in api
    for secret in ("Jane", "jane.roe", "3 May"):
        assert secret not in page and secret not in api
    # staff still read the note, on the certificate's page and in its history
    staff = html.unescape(admin_client.get(f"/admin/certificates/{code}").get_data(as_text=True))
    assert staff.count(PRIVATE) >= 2


def test_the_admin_sees_what_will_be_published_before_saving(app: Flask, admin_client,  # type: ignore[no-untyped-def]
                                                             learner: User) -> None:
    code = manual(app, learner)
    data = {"suspend-public_reason": "administrative_hold", "suspend-note": PRIVATE,
            "suspend-public_text": "Expected to be resolved within 30 days."}
    preview = admin_client.post(f"/admin/certificates/{code}/suspend", data=data)
    assert preview.status_code == 200
    page = html.unescape(preview.get_data(as_text=True))
    assert "Published: what programs will see" in page
    assert "Suspended: Administrative hold. Expected to be resolved within 30 days." in page
    assert "Internal note (staff only, never published)" in page and PRIVATE in page
    # nothing saved yet
    assert app.test_client().get(f"/api/v1/certificates/{code}").get_json()["status"] == "valid"
    # "change it" shows the form again with what was typed
    edit = admin_client.post(f"/admin/certificates/{code}/suspend",
                             data={**data, "suspend-confirm": "edit"})
    assert edit.status_code == 200
    assert "Expected to be resolved within 30 days." in html.unescape(
        edit.get_data(as_text=True))
    assert app.test_client().get(f"/api/v1/certificates/{code}").get_json()["status"] == "valid"
    # confirming publishes exactly what was shown
    saved = admin_client.post(f"/admin/certificates/{code}/suspend",
                              data={**data, "suspend-confirm": "yes"})
    assert saved.status_code == 302
    record = app.test_client().get(f"/api/v1/certificates/{code}").get_json()
    assert record["status"] == "suspended"
    assert record["revocation_reason"] == ("Administrative hold. Expected to be resolved "
                                           "within 30 days.")
    assert record["revocation_public_text"] == "Expected to be resolved within 30 days."


@pytest.mark.parametrize(("data", "message"), [
    ({"revoke-note": PRIVATE}, "Choose the public reason."),
    ({"revoke-public_reason": "he_did_it", "revoke-note": PRIVATE}, "Not a valid choice"),
    ({"revoke-public_reason": "conduct_review"}, "Write the internal note."),
    ({"revoke-public_reason": "conduct_review", "revoke-note": "x",
      "revoke-public_text": "y" * 301}, "300"),
])
def test_the_change_form_refuses_readably(app: Flask, admin_client, learner: User,  # type: ignore[no-untyped-def]
                                          data: dict[str, str], message: str) -> None:
    code = manual(app, learner)
    response = admin_client.post(f"/admin/certificates/{code}/revoke",
                                 data={**data, "revoke-confirm": "yes"})
    assert response.status_code == 422
    assert message in html.unescape(response.get_data(as_text=True))
    assert app.test_client().get(f"/api/v1/certificates/{code}").get_json()["status"] == "valid"


def test_change_state_keeps_note_and_publication_apart(app: Flask, learner: User,
                                                       admin: User) -> None:
    code = manual(app, learner)
    with app.app_context(), app.extensions["courseware.db"].session() as s:
        cert = certificates.find(s, code)
        actor = s.get(User, admin.id)
        assert cert is not None and actor is not None
        with pytest.raises(certificates.CertificateError, match="listed public reasons"):
            certificates.change_state(s, actor, cert, CertificateChange.SUSPEND, "n",
                                      helpers_now(), public_reason="gossip")
        with pytest.raises(certificates.CertificateError, match="internal note"):
            certificates.change_state(s, actor, cert, CertificateChange.SUSPEND, " ",
                                      helpers_now(), public_reason="conduct_review")
        certificates.change_state(s, actor, cert, CertificateChange.SUSPEND, PRIVATE,
                                  helpers_now(), public_reason=PublicReason.CONDUCT_REVIEW,
                                  public_text="  Under   review. ")
        record = certificates.public_record(cert, helpers_now(), "http://localhost")
        assert record["revocation_reason"] == "Conduct review. Under review."
        assert PRIVATE not in json.dumps(record)
        certificates.change_state(s, actor, cert, CertificateChange.REINSTATE, "", helpers_now())
        assert (cert.suspension_note, cert.suspension_public_reason) == (None, None)
        certificates.change_state(s, COMMAND_LINE, cert, CertificateChange.REVOKE, PRIVATE,
                                  helpers_now())
        record = certificates.public_record(cert, helpers_now(), "http://localhost")
        assert (record["status"], record["revocation_reason"],
                record["revocation_reason_code"]) == ("revoked", None, None)
        s.commit()


def test_cli_note_stays_internal(app: Flask, runner, learner: User) -> None:  # type: ignore[no-untyped-def]
    code = manual(app, learner)
    result = runner.invoke(args=["certificates", "suspend", code, "--reason", PRIVATE,
                                 "--public-reason", "administrative_hold"])
    assert result.exit_code == 0, result.output
    page, api = public_views(app, code)
    assert "Administrative hold" in page and "Jane" not in page + api
    verify = runner.invoke(args=["certificates", "verify", code])
    assert "reason: Administrative hold" in verify.output and "Jane" not in verify.output
    bad = runner.invoke(args=["certificates", "revoke", code, "--reason", "x",
                              "--public-reason", "gossip"])
    assert bad.exit_code != 0 and "gossip" in bad.output


def test_a_reason_from_before_the_list_becomes_an_internal_note(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The migration moves every earlier free-text reason to the internal note."""
    from sqlalchemy import create_engine, text

    from courseware.infra.migrate import upgrade

    engine = create_engine(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(engine, "0003")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO user (id, email, name, password_hash, role, active, "
                          "created_at, session_version) VALUES (1, 'a@x.org', 'A', 'h', "
                          "'learner', 1, '2026-01-01 00:00:00', 1)"))
        conn.execute(text("INSERT INTO content_item (id, kind, slug, title, position, active) "
                          "VALUES (1, 'track', 't', 'T', 1, 1)"))
        conn.execute(text("INSERT INTO content_version (id, item_id, number, content_hash, data, "
                          "created_at) VALUES (1, 1, 1, 'h', '{}', '2026-01-01 00:00:00')"))
        conn.execute(text(
            "INSERT INTO certificate (id, code, user_id, track_id, track_version_id, cycle, "
            "holder_name, issued_at, expires_at, manual, revoked_at, revocation_reason) VALUES "
            "(1, 'C', 1, 1, 1, 1, 'A', '2026-01-01 00:00:00', '2028-01-01 00:00:00', 0, "
            "'2026-02-01 00:00:00', :reason)"), {"reason": PRIVATE})
    upgrade(engine)
    with engine.connect() as conn:
        row = conn.execute(text("SELECT revocation_note, revocation_public_reason, "
                                "revocation_public_text FROM certificate")).one()
    engine.dispose()
    assert tuple(row) == (PRIVATE, None, None)


def helpers_now():  # type: ignore[no-untyped-def]
    from courseware.domain import clock

    return clock.utcnow()


def test_public_reason_labels_are_plain() -> None:
    assert [r.label for r in PublicReason] == [
        "Administrative hold", "Conduct review", "Requirements no longer met", "Issued in error"]
    assert all(re.fullmatch(r"[a-z_]+", r.value) for r in PublicReason)
    assert Certificate.__table__.c.revocation_note is not None
    assert helpers.MODULES
