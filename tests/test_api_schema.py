"""Property-based checks of the public API against its own OpenAPI description (schemathesis).

schemathesis's pytest plugin does not yet run under pytest 9, so each operation's hypothesis
strategy is driven here directly; the checks are schemathesis's own (no server error, status
codes, content types and response bodies as documented).
"""

from __future__ import annotations

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from courseware.domain.clock import utcnow
from courseware.infra.config import PROJECT_ROOT
from courseware.models import User
from courseware.services import certificates
from courseware.services.audit import COMMAND_LINE
from tests.conftest import UserFactory


@pytest.fixture
def api_schema(app: Flask, make_user: UserFactory):  # type: ignore[no-untyped-def]
    holder = make_user("learner", name="Schema Holder")
    with app.app_context(), app.extensions["courseware.db"].session() as s:
        ctx = certificates.IssueContext("http://localhost", "Test", PROJECT_ROOT / "certificates")
        certificates.manual_issue(s, COMMAND_LINE, s.get(User, holder.id), "certified-peer-mentor",
                                  "Schema test", utcnow(), ctx)
        s.commit()
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


def test_api_conforms_to_its_openapi_description(api_schema) -> None:  # type: ignore[no-untyped-def]
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert {op.label for op in operations} == {"GET /certificates/{code}", "POST /eligibility"}
    for operation in operations:

        @settings(max_examples=60, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def check(case) -> None:  # type: ignore[no-untyped-def]
            # A string can match the code pattern and still fail the mod-37 check symbol,
            # which JSON Schema cannot express: such codes answer the documented 400
            # malformed_code, so "schema-valid data must be accepted" does not apply.
            case.call_and_validate(excluded_checks=[positive_data_acceptance])

        check()
