"""Property-based checks of the public API against its own OpenAPI description (schemathesis).

schemathesis's pytest plugin does not yet run under pytest 9, so each operation's hypothesis
strategy is driven here directly; the checks are schemathesis's own (no server error, status
codes, content types and response bodies as documented).
"""

from __future__ import annotations

import json

import jsonschema
import jwt
import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance
from sqlalchemy import select

from courseware.domain.clock import utcnow
from courseware.domain.statuses import CertificateChange
from courseware.infra.config import PROJECT_ROOT
from courseware.models import Certificate, User
from courseware.services import certificates
from courseware.services.audit import COMMAND_LINE
from courseware.web.openapi import openapi_document
from tests.conftest import UserFactory
from tests.factories import Factory


@pytest.fixture
def api_schema(app: Flask, make_user: UserFactory):  # type: ignore[no-untyped-def]
    holder = make_user("learner", name="Schema Holder")
    with app.app_context(), app.extensions["courseware.db"].session() as s:
        ctx = certificates.IssueContext("http://localhost", "Test", PROJECT_ROOT / "certificates")
        certificates.manual_issue(s, COMMAND_LINE, s.get(User, holder.id), "certified-peer-mentor",
                                  "Schema test", utcnow(), ctx)
        s.commit()
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


@pytest.fixture
def api_key(app: Flask) -> str:
    """A program's key with every scope, its list holding the schema holder's certificate."""
    factory = Factory(app)
    program = factory.program("Schema Program")
    with app.app_context(), app.extensions["courseware.db"].session() as s:
        codes = list(s.scalars(select(Certificate.code)))
    factory.follow(program, factory.program_staff(program), *codes)
    return factory.api_key(program)[1]


def test_api_conforms_to_its_openapi_description(api_schema, api_key: str) -> None:  # type: ignore[no-untyped-def]
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert {op.label for op in operations} == {
        "GET /certificates/{code}", "POST /eligibility",
        "GET /roster", "POST /roster", "DELETE /roster/{code}",
        "GET /webhooks", "POST /webhooks", "GET /webhooks/{endpoint_id}",
        "DELETE /webhooks/{endpoint_id}", "POST /webhooks/{endpoint_id}/rotate",
        "POST /webhooks/{endpoint_id}/test",
        # what a verifier of a signed credential reads, at the site's own address
        "GET /certificates/{code}/credential.jwt", "GET /.well-known/jwks.json",
        "GET /.well-known/keys/{thumbprint}", "GET /status/{purpose}", "GET /issuer",
        "GET /tracks/{slug}"}
    # the JSON API is fuzzed here; the site's own addresses (not under /api/v1, which
    # schemathesis's WSGI runner would prefix) are held to the document by the test below
    api_paths = ("/certificates/{code}", "/eligibility", "/roster", "/roster/{code}",
                 "/webhooks", "/webhooks/{endpoint_id}", "/webhooks/{endpoint_id}/rotate",
                 "/webhooks/{endpoint_id}/test")
    for operation in (op for op in operations if op.path in api_paths):
        # anonymous where the route allows it, and with a valid key on every route
        keyed = ([True] if operation.path.startswith(("/roster", "/webhooks"))
                 else [False, True])
        for with_key in keyed:
            fuzz(operation, {"Authorization": f"Bearer {api_key}"} if with_key else {})


def fuzz(operation, headers: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    @settings(max_examples=40, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy())
    def check(case) -> None:  # type: ignore[no-untyped-def]
        # A string can match the code pattern and still fail the mod-37 check symbol, which
        # JSON Schema cannot express: such codes answer the documented 400 malformed_code (and
        # an opaque cursor may be one this API never gave), so "schema-valid data must be
        # accepted" does not apply.
        case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])

    check()


def test_what_a_credential_verifier_reads_matches_the_document(app: Flask,
                                                                make_user: UserFactory) -> None:
    """Real answers of the credential, key, status-list, issuer and achievement addresses,
    against the schemas the OpenAPI document gives them (and its example credential against
    1EdTech's schema)."""
    document = openapi_document("http://localhost")
    holder = make_user("learner", name="Doc Holder")
    with app.app_context(), app.extensions["courseware.db"].session() as s:
        ctx = certificates.IssueContext("http://localhost", "Test", PROJECT_ROOT / "certificates")
        code = certificates.manual_issue(s, COMMAND_LINE, s.get(User, holder.id),
                                         "certified-peer-mentor", "Doc test", utcnow(), ctx).code
        s.commit()
    client = app.test_client()

    def validate(name: str, body: object) -> None:
        schema = {"$ref": f"#/components/schemas/{name}", "components": document["components"]}
        jsonschema.Draft202012Validator(schema).validate(body)

    paths = document["paths"]
    site = {path for path in paths if path.startswith(("/certificates/{code}/", "/.well-known",
                                                        "/status", "/issuer", "/tracks"))}
    assert len(site) == 6
    assert all(paths[p]["servers"] == [{"url": "http://localhost"}] for p in site)
    token = client.get(f"/certificates/{code}/credential.jwt")
    assert token.mimetype in paths["/certificates/{code}/credential.jwt"]["get"][
        "responses"]["200"]["content"]
    payload = jwt.decode(token.get_data(as_text=True), options={"verify_signature": False})
    validate("OpenBadgeCredential", payload)
    jwks = client.get("/.well-known/jwks.json").get_json()
    validate("JWKS", jwks)
    kid = jwks["keys"][0]["kid"]
    validate("JWK", client.get(kid.removeprefix("http://localhost")).get_json())
    status = client.get("/status/suspension")
    assert status.mimetype in paths["/status/{purpose}"]["get"]["responses"]["200"]["content"]
    validate("BitstringStatusListCredential",
             jwt.decode(status.get_data(as_text=True), options={"verify_signature": False}))
    validate("Profile", client.get("/issuer", headers={"Accept": "application/json"}).get_json())
    validate("Achievement", client.get("/tracks/certified-peer-mentor",
                                       headers={"Accept": "application/ld+json"}).get_json())
    for path, status_code in (("/.well-known/keys/nope", 404), ("/status/nope", 404)):
        response = client.get(path)
        assert response.status_code == status_code
        validate("Error", response.get_json())
    with app.app_context(), app.extensions["courseware.db"].session() as s:
        from courseware.services import certificates as service

        cert = service.find(s, code)
        service.change_state(s, COMMAND_LINE, cert, CertificateChange.REVOKE, "Doc", utcnow())
        s.commit()
    gone = client.get(f"/certificates/{code}/credential.jwt")
    assert gone.status_code == 410
    validate("Error", gone.get_json())
    example = document["components"]["schemas"]["OpenBadgeCredential"]["examples"][0]
    schema = json.loads((PROJECT_ROOT / "tests" / "data" /
                         "ob_v3p0_achievementcredential.schema.json").read_text())
    jsonschema.Draft201909Validator(schema).validate(example)
