"""Issuance, codes in use, verification page and API, PDF, credentials, expiry, revocation."""

from __future__ import annotations

import hashlib
import html
import io
import json
import re
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jsonschema
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask
from flask.testing import FlaskClient
from pypdf import PdfReader
from sqlalchemy import func, select

from courseware.domain import clock
from courseware.domain.codes import format_code
from courseware.domain.vcjwt import CredentialError, sign_credential, verify_credential
from courseware.infra.config import PROJECT_ROOT
from courseware.models import AuditEvent, Certificate, User
from courseware.services import certificates
from courseware.services.audit import COMMAND_LINE
from courseware.web.openapi import openapi_document
from tests import helpers
from tests.conftest import Auth, UserFactory, make_app
from tests.factories import Factory

STANDARDS = Path(__file__).parent / "data"  # vendored: see tests/data/README.md
CTX = certificates.IssueContext("http://localhost", "Test issuer", PROJECT_ROOT / "certificates")


def complete_everything(app: Flask, learner_client: FlaskClient, trainer_client: FlaskClient,
                        skip_last: bool = False) -> int:
    """Do every requirement of the track; returns the last role-play's submission id."""
    helpers.read_all(learner_client)
    for slug in helpers.MODULES:
        helpers.pass_quiz(learner_client, app, slug)
    submission_id = 0
    for index, slug in enumerate(helpers.ROLEPLAYS):
        submission_id = helpers.submit_roleplay(learner_client, slug)
        if skip_last and index == len(helpers.ROLEPLAYS) - 1:
            break
        assert helpers.grade(trainer_client, app, submission_id).status_code == 302
    return submission_id


def certificate_of(app: Flask, user: User) -> Certificate | None:
    with app.app_context(), helpers.session(app) as s:
        cert = s.scalar(select(Certificate).where(Certificate.user_id == user.id)
                        .order_by(Certificate.cycle.desc()))
        if cert is not None:
            s.refresh(cert)
            _ = (cert.pdf, cert.evidence, cert.track_version.data, cert.track.slug)
            s.expunge_all()
        return cert


def manual(app: Flask, user: User) -> str:
    with app.app_context(), app.extensions["courseware.db"].session() as s:
        holder = s.get(User, user.id)
        ctx = certificates.IssueContext("http://localhost", "Test issuer",
                                        PROJECT_ROOT / "certificates")
        cert = certificates.manual_issue(s, COMMAND_LINE, holder, "certified-peer-mentor",
                                         "Prior learning recognised", clock.utcnow(), ctx)
        s.commit()
        return cert.code


# --- issuance ---------------------------------------------------------------------------------

def test_issued_when_the_last_requirement_is_met_with_evidence(app: Flask, learner: User,
                                                               clients) -> None:  # type: ignore[no-untyped-def]
    learner_client, trainer_client = clients
    last = complete_everything(app, learner_client, trainer_client, skip_last=True)
    assert certificate_of(app, learner) is None
    profile = learner_client.get("/profile").get_data(as_text=True)
    assert "Not yet:" in profile and "Pass the role-play: " in profile
    helpers.grade(trainer_client, app, last)
    cert = certificate_of(app, learner)
    assert cert is not None and cert.cycle == 1 and not cert.manual
    assert cert.holder_name == "Lena Learner"
    assert (cert.expires_at - cert.issued_at).days in range(729, 733)
    evidence = cert.evidence
    assert set(evidence) == {f"module:{m}" for m in helpers.MODULES} | {
        f"quiz:{m}" for m in helpers.MODULES} | {f"roleplay:{r}" for r in helpers.ROLEPLAYS}
    assert evidence["quiz:referral"]["percent"] == 100.0
    assert "grade_id" in evidence["roleplay:referral"]
    # nothing more to earn: another passing attempt does not issue a second certificate
    with app.app_context(), helpers.session(app) as s:
        assert s.scalar(select(func.count()).select_from(Certificate)) == 1
        assert s.scalar(select(func.count()).select_from(AuditEvent)
                        .where(AuditEvent.action == "certificate.issue")) == 1


def test_holder_name_is_a_snapshot(app: Flask, learner: User, clients) -> None:  # type: ignore[no-untyped-def]
    code = manual(app, learner)
    with app.app_context(), app.extensions["courseware.db"].session() as s:
        s.get(User, learner.id).name = "Renamed Later"
        s.commit()
    record = app.test_client().get(f"/api/v1/certificates/{code}").get_json()
    assert record["holder"]["name"] == "Lena Learner"


def test_issuance_race_issues_one_certificate(app: Flask, learner: User, clients) -> None:  # type: ignore[no-untyped-def]
    learner_client, trainer_client = clients
    complete_everything(app, learner_client, trainer_client, skip_last=True)
    # meet the last requirement without triggering issuance, then race two issuers
    with app.app_context(), app.extensions["courseware.db"].session() as s:
        from courseware.services import grading

        sub = s.scalars(select(grading.Submission).where(
            grading.Submission.status == "submitted")).one()
        sub.status = "passed"
        s.add(grading.Grade(submission_id=sub.id, number=1, kind="grade", grader_id=sub.learner_id,
                            levels={}, comments={}, feedback="ok", total=1, max_total=1,
                            outcome="passed", failing=[]))
        s.commit()
    barrier = threading.Barrier(2)
    results: list[object] = []

    def issue() -> None:
        barrier.wait(timeout=30)  # before the session: on SQLite it takes the write lock
        with app.app_context(), app.extensions["courseware.db"].session() as s:
            user = s.get(User, learner.id)
            try:
                issued = certificates.issue_earned(s, user, clock.utcnow(), CTX, actor=user,
                                                   cause={"test": "race"})
                s.commit()
                results.append(len(issued))
            except Exception as exc:  # noqa: BLE001 - reported below
                results.append(exc)

    threads = [threading.Thread(target=issue) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r for r in results if isinstance(r, int)) in ([0, 1], [1])
    with app.app_context(), helpers.session(app) as s:
        assert s.scalar(select(func.count()).select_from(Certificate)) == 1


def test_manual_issue_from_cli_is_audited_and_marked(app: Flask, runner, learner: User) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(args=["certificates", "issue", learner.email, "--track",
                                 "certified-peer-mentor", "--reason", "Ten years' experience"])
    assert result.exit_code == 0, result.output
    last = result.output.strip().splitlines()[-1]
    assert re.fullmatch(r"[0-9A-Z*~$=]{5}-[0-9A-Z]{5}-[0-9A-Z]{5}(-[0-9A-Z*~$=]{4}){3}", last)
    cert = certificate_of(app, learner)
    assert cert and cert.manual and cert.manual_reason == "Ten years' experience"
    with app.app_context(), helpers.session(app) as s:
        event = s.scalar(select(AuditEvent).where(AuditEvent.action == "certificate.issue"))
        assert event and event.reason == "Ten years' experience"
        assert event.actor_label == "command line"
    again = runner.invoke(args=["certificates", "issue", learner.email, "--track",
                                "certified-peer-mentor", "--reason", "again"])
    assert again.exit_code != 0 and "already holds" in again.output
    unknown = runner.invoke(args=["certificates", "issue", "nobody@example.org", "--track",
                                  "certified-peer-mentor", "--reason", "x"])
    assert unknown.exit_code != 0 and "no account" in unknown.output


def test_manual_issue_from_admin_pages(app: Flask, admin: User, learner: User) -> None:
    client = app.test_client()
    Auth(client).login(admin)
    missing = client.post("/admin/certificates/issue", data={
        "email": learner.email, "track": "certified-peer-mentor", "reason": ""})
    assert missing.status_code == 422 and learner.email in missing.get_data(as_text=True)
    done = client.post("/admin/certificates/issue", data={
        "email": learner.email, "track": "certified-peer-mentor", "reason": "RPL panel"})
    assert done.status_code == 302
    assert certificate_of(app, learner).manual_reason == "RPL panel"  # type: ignore[union-attr]


# --- verification ------------------------------------------------------------------------------

def test_verify_page_statuses_read_plainly(app: Flask, learner: User, runner) -> None:  # type: ignore[no-untyped-def]
    code = manual(app, learner)
    public = app.test_client()
    page = public.get(f"/verify/{format_code(code).lower()}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "Valid: this person holds a current certificate" in text
    assert "Lena Learner" in text and learner.email not in text and "%" not in text
    assert public.get(f"/verify?code={format_code(code)}").status_code == 302
    runner.invoke(args=["certificates", "suspend", code, "--reason", "Under review",
                        "--public-reason", "administrative_hold"])
    text = public.get(f"/verify/{code}").get_data(as_text=True)
    assert "Suspended" in text and "Administrative hold" in text and "Not eligible" in text
    assert "Under review" not in text
    runner.invoke(args=["certificates", "reinstate", code])
    assert "Valid:" in public.get(f"/verify/{code}").get_data(as_text=True)
    runner.invoke(args=["certificates", "revoke", code, "--reason", "Breach of conduct",
                        "--public-reason", "conduct_review", "--public-text",
                        "Decided by the standards panel."])
    text = public.get(f"/verify/{code}").get_data(as_text=True)
    assert "Revoked" in text and "Conduct review. Decided by the standards panel." in text
    assert "Breach of conduct" not in text
    mistyped = code[:-1] + ("0" if code[-1] != "0" else "1")
    response = public.get(f"/verify/{mistyped}")
    assert response.status_code == 400 and "looks mistyped" in response.get_data(as_text=True)
    unknown = certificates_code_not_issued(code)
    response = public.get(f"/verify/{unknown}")
    assert response.status_code == 404 and "No certificate has this code" in response.get_data(
        as_text=True)


def certificates_code_not_issued(code: str) -> str:
    from courseware.domain.codes import check_symbol

    data = ("1" if code[0] != "1" else "2") + code[1:26]
    return data + check_symbol(data)


def test_expired_status_with_frozen_clock(app: Flask, learner: User) -> None:
    clock.freeze(datetime(2026, 1, 10, 9, 0, tzinfo=UTC))
    code = manual(app, learner)
    clock.freeze(datetime(2028, 1, 10, 9, 0, tzinfo=UTC))
    record = app.test_client().get(f"/api/v1/certificates/{code}").get_json()
    assert record["status"] == "expired" and record["eligible"] is False
    assert "Expired" in app.test_client().get(f"/verify/{code}").get_data(as_text=True)


def _validator(schema_name: str):  # type: ignore[no-untyped-def]
    document = openapi_document("http://localhost")
    schema = {"$ref": f"#/components/schemas/{schema_name}", "components": document["components"]}
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


def test_api_matches_openapi_and_contract(app: Flask, learner: User, runner) -> None:  # type: ignore[no-untyped-def]
    code = manual(app, learner)
    client = app.test_client()
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.1")
    record = client.get(f"/api/v1/certificates/{format_code(code)}").get_json()
    _validator("Certificate").validate(record)
    assert record["code"] == code and record["verify_url"] == f"http://localhost/verify/{code}"
    assert set(record) == {"code", "status", "eligible", "holder", "track", "issued_at",
                           "expires_at", "revoked_at", "revocation_reason",
                           "revocation_reason_code", "revocation_public_text", "verify_url",
                           "pdf_url", "credential_url"}
    assert record["issued_at"].endswith("Z")
    bad = client.get("/api/v1/certificates/not-a-code")
    assert bad.status_code == 400 and bad.get_json()["error"]["code"] == "malformed_code"
    _validator("Error").validate(bad.get_json())
    missing = client.get(f"/api/v1/certificates/{certificates_code_not_issued(code)}")
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "not_found"
    unknown = certificates_code_not_issued(code)
    batch = client.post("/api/v1/eligibility", json={"codes": [code, "bad", unknown]})
    body = batch.get_json()
    assert batch.status_code == 200 and len(body["results"]) == 3
    _validator("Certificate").validate(body["results"][0])
    for item in body["results"][1:]:
        _validator("BatchError").validate(item)
    assert [r.get("error", {}).get("code") for r in body["results"]] == [
        None, "malformed_code", "not_found"]
    # revocation is seen by the API at once
    runner.invoke(args=["certificates", "revoke", code, "--reason", "Fraud",
                        "--public-reason", "issued_in_error"])
    after = client.get(f"/api/v1/certificates/{code}").get_json()
    assert after["status"] == "revoked" and after["eligible"] is False
    assert after["revocation_reason"] == "Issued in error" and after["revoked_at"]
    assert after["revocation_reason_code"] == "issued_in_error"
    assert "Fraud" not in json.dumps(after)


@pytest.mark.parametrize("body, status, error", [
    ({"codes": ["x"] * 101}, 400, "too_many_codes"),
    ({"codes": []}, 400, "invalid_request"),
    ({"codes": "ABC"}, 400, "invalid_request"),
    ({"codes": ["x"], "extra": 1}, 400, "invalid_request"),
    ([1, 2], 400, "invalid_request"),
])
def test_batch_rejects_bad_bodies(client: FlaskClient, body: object, status: int,
                                  error: str) -> None:
    response = client.post("/api/v1/eligibility", json=body)
    assert response.status_code == status
    assert response.get_json()["error"]["code"] == error


def test_batch_needs_json(client: FlaskClient) -> None:
    assert client.post("/api/v1/eligibility", data="codes=x").status_code == 415
    broken = client.post("/api/v1/eligibility", data="{not json",
                         content_type="application/json")
    assert broken.status_code == 400 and broken.get_json()["error"]["code"] == "invalid_json"
    batch = client.post("/api/v1/eligibility", json={"codes": [1, None, ["x"]]})
    assert batch.status_code == 200
    assert all(r["error"]["code"] == "malformed_code" for r in batch.get_json()["results"])


def test_verify_is_rate_limited_with_retry_after(database_url: str, tmp_path: Path) -> None:
    app = make_app(database_url, tmp_path, RATELIMIT_ENABLED=True, VERIFY_LIMIT="3 per minute")
    client = app.test_client()
    for _ in range(3):
        assert client.get("/api/v1/certificates/x").status_code == 400
    limited = client.get("/api/v1/certificates/x")
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) > 0
    assert limited.get_json()["error"]["code"] == "rate_limited"
    page = client.get("/verify/x")
    assert page.status_code == 429 and "Try again in" in page.get_data(as_text=True)
    app.extensions["courseware.db"].engine.dispose()


# --- PDF and credential --------------------------------------------------------------------------

def test_pdf_asked_for_before_its_job_is_rendered_stored_and_fingerprinted(
        app: Flask, make_user: UserFactory) -> None:
    holder = make_user("learner", name="Amara Okafor")
    code = manual(app, holder)
    assert certificate_of(app, holder).pdf is None  # type: ignore[union-attr]  # no job ran
    client = app.test_client()
    response = client.get(f"/certificates/{code}.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = PdfReader(io.BytesIO(response.data)).pages[0].extract_text()
    assert "Amara Okafor" in text and format_code(code) in text
    digest = hashlib.sha256(response.data).hexdigest()
    assert certificate_of(app, holder).pdf_sha256 == digest  # type: ignore[union-attr]
    assert digest in client.get(f"/verify/{code}").get_data(as_text=True)
    assert client.get(f"/certificates/{code}.pdf").data == response.data  # served from storage


def test_signed_credential_validates_and_verifies(app: Flask, learner: User, runner,
                                                  tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    code = manual(app, learner)
    client = app.test_client()
    response = client.get(f"/certificates/{code}/credential.jwt")
    assert response.status_code == 200 and response.mimetype == "application/jwt"
    token = response.get_data(as_text=True)
    jwks = client.get("/.well-known/jwks.json").get_json()
    (jwk,) = jwks["keys"]
    result = verify_credential(token, jwk, now=clock.utcnow())
    credential = result.credential
    schema = json.loads((STANDARDS / "ob_v3p0_achievementcredential.schema.json").read_text())
    jsonschema.Draft201909Validator(schema).validate(credential)
    names = [i["identityHash"] for i in credential["credentialSubject"]["identifier"]
             if i["identityType"] == "name"]
    assert names == ["Lena Learner"]
    assert credential["id"] == f"http://localhost/verify/{code}"
    # the command line checks it against this instance's keys, or an explicit JWKS
    token_file, jwks_file = tmp_path / "c.jwt", tmp_path / "jwks.json"
    token_file.write_text(token)
    jwks_file.write_text(json.dumps(jwks))
    ok = runner.invoke(args=["certificates", "check-credential", str(token_file), "--jwks",
                             str(jwks_file)])
    assert ok.exit_code == 0 and "signature valid" in ok.output, ok.output
    header, payload, signature = token.split(".")
    flipped = payload[:10] + ("A" if payload[10] != "A" else "B") + payload[11:]
    token_file.write_text(".".join([header, flipped, signature]))
    bad = runner.invoke(args=["certificates", "check-credential", str(token_file)])
    assert bad.exit_code == 1 and "INVALID" in bad.output
    with pytest.raises(CredentialError):
        verify_credential(".".join([header, flipped, signature]), jwk, now=clock.utcnow())
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = sign_credential(credential, other, kid=jwk["kid"], now=clock.utcnow())
    with pytest.raises(CredentialError, match="signature"):
        verify_credential(forged, jwk, now=clock.utcnow())


def test_no_credential_for_revoked_certificate(app: Flask, learner: User, runner) -> None:  # type: ignore[no-untyped-def]
    code = manual(app, learner)
    runner.invoke(args=["certificates", "revoke", code, "--reason", "Withdrawn"])
    url = f"/certificates/{code}/credential.jwt"
    # a program (no Accept, */*, JSON, a JWT) gets the JSON error; never an HTML page
    for accept in (None, "*/*", "application/json", "application/jwt"):
        machine = app.test_client().get(url, headers={"Accept": accept} if accept else {})
        assert machine.status_code == 410 and machine.is_json, accept
        assert machine.get_json()["error"]["code"] == "gone"
        assert "revoked" in machine.get_json()["error"]["message"]
    browser = app.test_client().get(url, headers={
        "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"})
    assert browser.status_code == 410 and browser.mimetype == "text/html"
    assert "revoked" in browser.get_data(as_text=True)
    unknown = app.test_client().get(f"/certificates/{certificates_code_not_issued(code)}"
                                    "/credential.jwt", headers={"Accept": "application/json"})
    assert unknown.status_code == 404 and unknown.get_json()["error"]["code"] == "not_found"


# --- expiry, renewal, revocation, eligibility -----------------------------------------------------

def test_renewal_issues_a_linked_certificate(app: Flask, learner: User, clients) -> None:  # type: ignore[no-untyped-def]
    learner_client, trainer_client = clients
    start = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    clock.freeze(start)
    complete_everything(app, learner_client, trainer_client)
    first = certificate_of(app, learner)
    assert first is not None
    clock.freeze(first.expires_at - timedelta(days=120))
    Auth(learner_client).login(learner)  # years later: a new session
    assert "Renew by" not in learner_client.get("/profile").get_data(as_text=True)
    clock.freeze(first.expires_at - timedelta(days=60))
    Auth(learner_client).login(learner)
    profile = learner_client.get("/profile").get_data(as_text=True)
    assert f"Renew by {first.expires_at:%d %B %Y}" in profile
    refresher = ["boundaries", "crisis-response", "overdose-response", "mandated-reporting"]
    for slug in refresher[:-1]:
        helpers.pass_quiz(learner_client, app, slug)
        assert certificate_of(app, learner).cycle == 1  # type: ignore[union-attr]
    clock.freeze(first.expires_at - timedelta(days=59))
    Auth(learner_client).login(learner)
    helpers.pass_quiz(learner_client, app, refresher[-1])
    renewed = certificate_of(app, learner)
    assert renewed is not None and renewed.cycle == 2 and renewed.previous_id == first.id
    assert renewed.expires_at > first.expires_at
    assert set(renewed.evidence) == {f"quiz:{slug}" for slug in refresher}


def test_revoke_suspend_reinstate_from_admin_pages(app: Flask, admin: User, learner: User) -> None:
    code = manual(app, learner)
    client = app.test_client()
    Auth(client).login(admin)
    empty = client.post(f"/admin/certificates/{code}/suspend", data={"suspend-note": ""})
    assert empty.status_code == 422
    assert client.post(f"/admin/certificates/{code}/suspend", data={
        "suspend-note": "Complaint under review", "suspend-public_reason": "conduct_review",
        "suspend-confirm": "yes"}).status_code == 302
    api = app.test_client().get(f"/api/v1/certificates/{code}").get_json()
    assert api["status"] == "suspended" and api["revocation_reason"] == "Conduct review"
    assert client.post(f"/admin/certificates/{code}/reinstate",
                       data={"reinstate-reason": "Cleared"}).status_code == 302
    assert app.test_client().get(f"/api/v1/certificates/{code}").get_json()["status"] == "valid"
    assert client.post(f"/admin/certificates/{code}/revoke", data={
        "revoke-note": "Misconduct", "revoke-public_reason": "conduct_review",
        "revoke-confirm": "yes"}).status_code == 302
    again = client.post(f"/admin/certificates/{code}/reinstate", data={"reinstate-reason": "x"})
    assert again.status_code == 409
    assert certificate_of(app, learner).revoked_by_id == admin.id  # type: ignore[union-attr]
    with app.app_context(), helpers.session(app) as s:
        actions = s.scalars(select(AuditEvent.action).where(AuditEvent.target_id == code)
                            .order_by(AuditEvent.id)).all()
    assert actions == ["certificate.issue", "certificate.suspend", "certificate.reinstate",
                       "certificate.revoke"]


def test_cli_verify_exit_codes(app: Flask, runner, learner: User) -> None:  # type: ignore[no-untyped-def]
    code = manual(app, learner)
    valid = runner.invoke(args=["certificates", "verify", format_code(code).lower()])
    assert valid.exit_code == 0 and "valid" in valid.output
    runner.invoke(args=["certificates", "suspend", code, "--reason", "Hold"])
    suspended = runner.invoke(args=["certificates", "verify", code])
    assert suspended.exit_code == 1 and "suspended" in suspended.output
    bad = runner.invoke(args=["certificates", "verify", "nonsense"])
    assert bad.exit_code != 0 and "Error" in bad.output


def test_eligibility_profile_and_roster(app: Flask, admin: User, make_user: UserFactory,
                                        runner) -> None:  # type: ignore[no-untyped-def]
    clock.freeze(datetime(2026, 6, 1, tzinfo=UTC))
    current, expiring, lapsed = (make_user("learner", name=n) for n in
                                 ("Cara Current", "Eli Expiring", "Lou Lapsed"))
    manual(app, current)
    clock.freeze(datetime(2024, 8, 1, tzinfo=UTC))
    manual(app, expiring)
    code = manual(app, lapsed)
    clock.freeze(datetime(2026, 6, 1, tzinfo=UTC))
    runner.invoke(args=["certificates", "revoke", code, "--reason", "Left the program"])
    client = app.test_client()
    Auth(client).login(admin)
    roster = client.get("/admin/roster").get_data(as_text=True)
    assert "1 eligible now · 1 expiring within 90 days · 1 lapsed" in roster
    csv_text = client.get("/admin/roster.csv").get_data(as_text=True)
    lines = csv_text.strip().splitlines()
    assert lines[0].startswith("name,email,standing")
    assert any(line.startswith("Lou Lapsed,") and ",lapsed,revoked," in line for line in lines)
    learner_client = app.test_client()
    Auth(learner_client).login(current)
    assert "You are an eligible peer mentor" in learner_client.get("/profile").get_data(
        as_text=True)
    with app.app_context(), helpers.session(app) as s:
        assert certificates.user_eligible(s, s.get(User, current.id), clock.utcnow())
        assert not certificates.user_eligible(s, s.get(User, lapsed.id), clock.utcnow())


def test_the_admin_page_shows_the_evidence_as_a_table(
        app: Flask, admin: User, factory: Factory) -> None:
    learner, trainer = factory.user("learner", name="Eve Evidence"), factory.user("trainer")
    cert = factory.earned_certificate(learner, trainer)
    client = app.test_client()
    Auth(client).login(admin)
    page = html.unescape(client.get(f"/admin/certificates/{cert.code}").get_data(as_text=True))
    assert '<table class="evidence">' in page and "{&#34;" not in page and '{"' not in page
    rows = re.findall(r'<tr><th scope="row">([^<]+)</th><td>([^<]*)</td><td>([^<]*)</td>'
                      r'<td>([^<]*)</td></tr>', page)
    kinds = [r[0] for r in rows]
    assert kinds.count("Module read") == 9 and kinds.count("Quiz passed") == 9
    assert kinds.count("Role-play passed") == 4
    quiz = next(r for r in rows if r[1] == "Foundations of peer mentoring quiz"
                or (r[0] == "Quiz passed" and "foundations" in r[1].lower()))
    assert re.fullmatch(r"attempt #\d+, 100%", quiz[3]) and quiz[2].endswith("UTC")
    roleplay = next(r for r in rows if r[0] == "Role-play passed")
    assert re.fullmatch(r"submission #\d+, grade #\d+", roleplay[3])
    manual = factory.manual_certificate(factory.user("learner"), reason="Prior course at X")
    page = html.unescape(client.get(f"/admin/certificates/{manual.code}").get_data(as_text=True))
    assert '<tr><th scope="row">Issued by hand</th><td></td><td></td><td>Reason: Prior course ' \
        'at X</td></tr>' in page
