"""Credentials as a verifier meets them: fetched, dereferenced, validated, and what they say."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import jsonschema
import jwt
import pytest
from flask import Flask
from flask.testing import FlaskClient

from courseware.domain import clock
from courseware.domain.codes import format_code
from courseware.domain.credential import rubric_level_id
from courseware.models import Certificate, Grade, QuizAttempt, Submission, User
from courseware.services import catalogue
from tests.factories import Factory

STANDARDS = Path(__file__).parent / "data"
BASE = "http://localhost"
ISSUER_ID = f"{BASE}/issuer"
TRACK = f"{BASE}/tracks/certified-peer-mentor"


def schema_validator(definition: str | None = None) -> jsonschema.Draft201909Validator:
    """1EdTech's AchievementCredential schema, or one of its own definitions (Achievement)."""
    schema = json.loads((STANDARDS / "ob_v3p0_achievementcredential.schema.json").read_text())
    if definition:
        schema = {"$schema": schema["$schema"], "$defs": schema["$defs"],
                  "$ref": f"#/$defs/{definition}"}
    return jsonschema.Draft201909Validator(
        schema, format_checker=jsonschema.Draft201909Validator.FORMAT_CHECKER)


def fetch(client: FlaskClient, url: str, accept: str | None = None) -> Any:
    """GET one of our absolute URLs, as a verifier would (the test client is the network)."""
    assert url.startswith(BASE + "/"), url
    response = client.get(url.removeprefix(BASE), headers={"Accept": accept} if accept else {})
    assert response.status_code == 200, (url, response.status_code)
    return response


def verify_as_a_verifier(client: FlaskClient, token: str, *,
                         dates: bool = True) -> dict[str, Any]:
    """Only what the credential itself points at: its kid URL gives the one public key.
    (`dates=False` where the test's clock is frozen far from the real one PyJWT reads.)"""
    kid = jwt.get_unverified_header(token)["kid"]
    jwk = fetch(client, kid).get_json()
    options = {} if dates else {"verify_nbf": False, "verify_iat": False, "verify_exp": False}
    claims: dict[str, Any] = jwt.decode(token, jwt.PyJWK(jwk), algorithms=["RS256"],
                                        options=options)  # type: ignore[arg-type]
    return claims


@pytest.fixture
def graded(app: Flask, factory: Factory) -> tuple[User, Certificate]:
    """A learner who earned the certificate: one quiz passed at 90 %, one role-play at
    "meets" on every criterion, the rest at the top."""
    learner, trainer = factory.user(name="Grace Hopper"), factory.user("trainer")
    factory.calibrate(trainer)  # grading needs a calibrated trainer (tested elsewhere)
    factory.read(learner)
    for slug in factory.modules():
        factory.quiz_attempt(learner, slug, wrong=1 if slug == "boundaries" else 0)
    for index, slug in enumerate(factory.roleplays()):
        factory.grade(trainer, factory.submission(learner, slug, text="My private reply"),
                      score=3 if index == 0 else None)
    return learner, factory.certificate_of(learner)


def test_the_credential_a_verifier_fetches_validates_and_verifies_with_rs256(
        app: Flask, graded: tuple[User, Certificate]) -> None:
    learner, cert = graded
    client = app.test_client()
    response = client.get(f"/certificates/{cert.code}/credential.jwt")
    assert response.mimetype == "application/jwt"
    token = response.get_data(as_text=True)
    assert jwt.get_unverified_header(token) == {
        "alg": "RS256", "typ": "JWT", "kid": jwt.get_unverified_header(token)["kid"]}
    claims = verify_as_a_verifier(client, token)  # checks exp and nbf too
    errors = list(schema_validator().iter_errors(claims))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors]
    # OB 3.0 section 8.2: iss, jti, sub, nbf, exp
    subject = claims["credentialSubject"]
    assert claims["iss"] == claims["issuer"]["id"] == ISSUER_ID
    assert claims["jti"] == claims["id"] == f"{BASE}/verify/{cert.code}"
    assert claims["sub"] == subject["id"] == learner.subject_id
    assert claims["nbf"] == int(cert.issued_at.replace(microsecond=0).timestamp())
    assert claims["exp"] == int(cert.expires_at.replace(microsecond=0).timestamp())
    assert datetime.fromtimestamp(claims["nbf"], UTC).strftime("%Y-%m-%dT%H:%M:%SZ") == \
        claims["validFrom"]
    assert datetime.fromtimestamp(claims["exp"], UTC).strftime("%Y-%m-%dT%H:%M:%SZ") == \
        claims["validUntil"]
    assert len(token) < 60 * 1024  # the whole course fits well inside what /verify accepts


def test_the_holder_is_named_and_their_email_only_hashed(
        app: Flask, graded: tuple[User, Certificate]) -> None:
    learner, cert = graded
    token = app.test_client().get(f"/certificates/{cert.code}/credential.jwt").get_data(
        as_text=True)
    claims = jwt.decode(token, options={"verify_signature": False})
    email, name = claims["credentialSubject"]["identifier"]
    assert name == {"type": "IdentityObject", "identityType": "name", "hashed": False,
                    "identityHash": "Grace Hopper"}
    assert email["identityType"] == "emailAddress" and email["hashed"] is True
    algorithm, digest = email["identityHash"].split("$")
    assert algorithm == "sha256"
    assert digest == hashlib.sha256((learner.email + email["salt"]).encode()).hexdigest()
    assert learner.email not in token and learner.email not in base64.urlsafe_b64decode(
        token.split(".")[1] + "==").decode()


def test_results_are_the_stored_grades_and_scores(app: Flask, factory: Factory,
                                                  graded: tuple[User, Certificate]) -> None:
    _learner, cert = graded
    token = app.test_client().get(f"/certificates/{cert.code}/credential.jwt").get_data(
        as_text=True)
    claims = jwt.decode(token, options={"verify_signature": False})
    achievement = claims["credentialSubject"]["achievement"]
    described = {d["id"]: d for d in achievement["resultDescription"]}
    results = claims["credentialSubject"]["result"]
    for result in results:  # every result points at a description the achievement holds
        assert result["resultDescription"] in described
    reached: dict[str, dict[str, int]] = {}
    quiz_values: dict[str, str] = {}
    for result in results:
        description = described[result["resultDescription"]]
        if description["resultType"] == "Percent":
            quiz_values[description["id"]] = result["value"]
            continue
        level = next(lv for lv in description["rubricCriterionLevel"]
                     if lv["id"] == result["achievedLevel"])
        criterion = result["achievedLevel"].split("/")[-2]
        reached.setdefault(description["id"], {})[criterion] = int(level["points"])
        assert result["value"] == level["level"]

    with factory.session() as s:
        held = s.get(Certificate, cert.id)
        assert held is not None
        expected_levels: dict[str, dict[str, int]] = {}
        expected_percent: dict[str, str] = {}
        for key, facts in held.evidence.items():
            kind, _, slug = key.partition(":")
            if kind == "roleplay":
                grade = s.get(Grade, facts["grade_id"])
                assert grade is not None
                expected_levels[f"{TRACK}#roleplay-{slug}"] = dict(grade.levels)
                rubric = catalogue.roleplay_spec(
                    s.get(Submission, grade.submission_id).roleplay_version).rubric  # type: ignore[union-attr]
                description = described[f"{TRACK}#roleplay-{slug}"]
                assert description["resultType"] == "RubricCriterionLevel"
                assert {lv["id"] for lv in description["rubricCriterionLevel"]} == {
                    rubric_level_id(description["id"], c.id, lv.score)
                    for c in rubric.criteria for lv in c.levels}
                critical = {c.title for c in rubric.criteria if c.critical}
                assert critical and all(
                    ("(critical)" in lv["name"]) == any(lv["name"].startswith(t + " (")
                                                        for t in critical)
                    for lv in description["rubricCriterionLevel"])
            elif kind == "quiz":
                attempt = s.get(QuizAttempt, facts["attempt_id"])
                assert attempt is not None and attempt.percent is not None
                expected_percent[f"{TRACK}#quiz-{slug}"] = f"{round(attempt.percent, 1):g}"
                quiz = catalogue.quiz_spec(attempt.quiz_version)
                assert described[f"{TRACK}#quiz-{slug}"]["requiredValue"] == \
                    str(quiz.pass_percent)
    assert reached == expected_levels and len(reached) == 4
    assert quiz_values == expected_percent and len(quiz_values) == 9
    assert quiz_values[f"{TRACK}#quiz-boundaries"] == "90"
    assert set(next(iter(reached.values())).values()) == {3}  # the one graded at "meets"


def test_evidence_names_the_activities_never_the_learners_text(
        app: Flask, graded: tuple[User, Certificate]) -> None:
    _learner, cert = graded
    token = app.test_client().get(f"/certificates/{cert.code}/credential.jwt").get_data(
        as_text=True)
    claims = jwt.decode(token, options={"verify_signature": False})
    evidence = claims["evidence"]
    genres = [item["genre"] for item in evidence]
    assert genres.count("Module") == 9 and genres.count("Quiz") == 9
    assert genres.count("Role-play") == 4
    assert any(item["name"] == "Role-play passed: Holding boundaries with a mentee who pushes "
               "them" for item in evidence)
    assert "My private reply" not in json.dumps(claims)
    assert "Clear, warm replies" not in json.dumps(claims)  # nor the trainer's feedback


def test_a_renewal_keeps_the_first_award_date_and_links_the_earlier_credential(
        app: Flask, factory: Factory) -> None:
    learner = factory.user()
    clock.freeze(datetime(2026, 3, 1, 10, 0, tzinfo=UTC))
    factory.manual_certificate(learner)
    second = factory.renewal(learner)
    third = factory.renewal(learner)
    assert (second.cycle, third.cycle, third.previous_id) == (2, 3, second.id)
    client = app.test_client()
    token = client.get(f"/certificates/{third.code}/credential.jwt").get_data(as_text=True)
    claims = verify_as_a_verifier(client, token, dates=False)
    assert claims["awardedDate"] == "2026-03-01T10:00:00Z"
    assert claims["validFrom"] != claims["awardedDate"]
    renewal = [item for item in claims["evidence"] if item["genre"] == "Renewal"]
    assert renewal == [{
        "id": f"{BASE}/verify/{second.code}", "type": ["Evidence"],
        "name": f"Earlier certificate {format_code(second.code)}",
        "description": renewal[0]["description"], "genre": "Renewal"}]
    assert f"{second.issued_at:%Y-%m-%d}" in renewal[0]["description"]
    # the earlier credential is the one it links: same id
    earlier = client.get(f"/certificates/{second.code}/credential.jwt").get_data(as_text=True)
    assert jwt.decode(earlier, options={"verify_signature": False})["id"] == renewal[0]["id"]
    errors = list(schema_validator().iter_errors(claims))
    assert not errors, [e.message for e in errors]


def test_a_manual_certificate_says_so_without_the_admins_reason(app: Flask,
                                                              factory: Factory) -> None:
    cert = factory.manual_certificate(factory.user(), "Ten years at the Acme Crisis Line")
    token = app.test_client().get(f"/certificates/{cert.code}/credential.jwt").get_data(
        as_text=True)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert "Acme" not in json.dumps(claims)
    assert [e["name"] for e in claims["evidence"]] == ["Recognition of prior learning"]
    assert "recognition of prior learning" in \
        claims["credentialSubject"]["achievement"]["criteria"]["narrative"]
    assert "result" not in claims["credentialSubject"]  # no assessment, no results
    errors = list(schema_validator().iter_errors(claims))
    assert not errors, [e.message for e in errors]


def test_the_issuer_id_answers_a_profile_to_a_machine_and_a_page_to_a_person(
        client: FlaskClient) -> None:
    profile_schema = json.loads((STANDARDS / "ob_v3p0_profile.schema.json").read_text())
    for accept in ("application/json", "application/ld+json", "application/ld+json, */*;q=0.1"):
        response = fetch(client, ISSUER_ID, accept)
        assert response.mimetype == accept.split(",")[0]
        profile = json.loads(response.data)
        jsonschema.Draft201909Validator(profile_schema).validate(profile)
        assert profile["id"] == ISSUER_ID and profile["type"] == ["Profile"]
        assert "Accept" in response.headers["Vary"]
    for accept in (None, "*/*", "text/html,application/xhtml+xml,*/*;q=0.8", "text/plain"):
        page = fetch(client, ISSUER_ID, accept)
        assert page.mimetype == "text/html", accept
        assert "Courseware Peer Mentor Program" in page.get_data(as_text=True)
        assert "Vary" in page.headers


def test_the_achievement_id_answers_the_achievement_with_its_criteria(
        client: FlaskClient) -> None:
    response = fetch(client, TRACK, "application/json")
    achievement = response.get_json()
    errors = list(schema_validator("Achievement").iter_errors(achievement))
    assert not errors, [e.message for e in errors]
    assert achievement["id"] == TRACK and achievement["type"] == ["Achievement"]
    assert "9 training modules" in achievement["criteria"]["narrative"]
    rubric = next(d for d in achievement["resultDescription"]
                  if d["resultType"] == "RubricCriterionLevel")
    assert all(level["description"] for level in rubric["rubricCriterionLevel"])
    assert achievement["creator"]["id"] == ISSUER_ID
    page = fetch(client, TRACK)
    assert page.mimetype == "text/html" and "Requirements" in page.get_data(as_text=True)
    missing = client.get("/tracks/no-such-track", headers={"Accept": "application/json"})
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "not_found"
    assert client.get("/tracks/no-such-track").status_code == 404


def test_a_broken_achievement_fails_the_schema_check() -> None:
    """The validator used above can fail: an Achievement without criteria does."""
    assert list(schema_validator("Achievement").iter_errors({"id": "x", "type": ["Other"]}))


def test_the_profile_offers_sharing_only_while_a_certificate_counts(
        app: Flask, factory: Factory, runner) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import Auth

    holder = factory.user(name="Pat Profile")
    clock.freeze(datetime(2026, 5, 4, 9, 0, tzinfo=UTC))
    cert = factory.manual_certificate(holder)
    client = app.test_client()
    Auth(client).login(holder)

    def cell() -> str:
        html = client.get("/profile").get_data(as_text=True)
        table = html[html.index('<caption class="visually-hidden">Your certificates'):]
        return table[:table.index("</table>")]

    current = cell()
    assert f"/certificates/{cert.code}.pdf" in current
    assert f"/certificates/{cert.code}/credential.jwt" in current
    assert "https://www.linkedin.com/profile/add?startTask=CERTIFICATION_NAME" in current
    assert f"certId={quote_plus(format_code(cert.code))}" in current
    assert "issueYear=2026" in current
    assert "issueMonth=5&amp;expirationYear=2028&amp;expirationMonth=5" in current

    runner.invoke(args=["certificates", "suspend", cert.code, "--reason", "Complaint file 12",
                        "--public-reason", "conduct_review"])
    held = cell()
    assert ".pdf" not in held and "credential.jwt" not in held and "linkedin" not in held
    # the holder reads the published reason, as programs do; never the internal note
    assert "Suspended since 04 May 2026 (reason: Conduct review)" in held
    assert "Complaint file 12" not in held
    assert "both return if it is reinstated" in held
    runner.invoke(args=["certificates", "reinstate", cert.code])
    clock.freeze(cert.expires_at + timedelta(days=1))
    Auth(client).login(holder)  # two years on, the earlier session has long ended
    expired = cell()
    assert ".pdf" not in expired and "linkedin" not in expired
    assert f"Expired on {cert.expires_at:%d %B %Y}" in expired
