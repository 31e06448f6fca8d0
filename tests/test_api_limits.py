"""Every API body is bounded in size and nesting depth, and answers a JSON error past either."""

from __future__ import annotations

import json
from typing import Any

from flask.testing import FlaskClient
from hypothesis import given
from hypothesis import strategies as st

from courseware.domain.jsonlimits import too_deep

URL = "/api/v1/eligibility"


def depth(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max((depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((depth(v) for v in value.values()), default=0)
    return 0


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet='[]{}"\\ ab', max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.text(alphabet='[]{}"\\ ab', max_size=4), inner, max_size=3),
    max_leaves=20,
)


@given(JSON, st.integers(min_value=0, max_value=6))
def test_depth_scan_agrees_with_the_parsed_value(value: Any, limit: int) -> None:
    """Brackets inside strings (escaped quotes and backslashes too) never count."""
    text = json.dumps(value).encode()
    assert too_deep(text, limit) == (depth(value) > limit)


def test_a_deeply_nested_body_is_a_400_not_a_500(client: FlaskClient) -> None:
    body = '{"codes": ' + "[" * 10_000 + "]" * 10_000 + "}"  # within the size limit
    response = client.post(URL, data=body, content_type="application/json")
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "invalid_json" and "8 levels" in error["message"]


def test_the_probes_body_is_a_413_not_a_500(client: FlaskClient) -> None:
    """The probe's 100,000-deep body is larger than any API body may be."""
    body = '{"codes": ' + "[" * 100_000 + "]" * 100_000 + "}"
    response = client.post(URL, data=body, content_type="application/json")
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "payload_too_large"


def test_an_unclosed_deep_body_is_refused_too(client: FlaskClient) -> None:
    response = client.post(URL, data="[" * 20_000, content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_json"


def test_a_body_over_the_size_limit_is_a_413_in_json(client: FlaskClient) -> None:
    codes = ["ABCDE-FGHJK-MNPQR-STVW-XYZ0-1234"] * 1200  # about 40 KiB
    response = client.post(URL, json={"codes": codes})
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "payload_too_large"


def test_a_full_batch_fits_the_limits(client: FlaskClient) -> None:
    response = client.post(URL, json={"codes": ["ABCDE-FGHJK-MNPQR-STVW-XYZ0-1234"] * 100})
    assert response.status_code == 200
    assert len(response.get_json()["results"]) == 100


def test_the_passkey_endpoints_bound_their_bodies_too(client: FlaskClient, learner: Any) -> None:
    from tests.conftest import Auth

    Auth(client).login(learner)
    body = '{"credential": ' + "[" * 10_000 + "]" * 10_000 + "}"
    for url in ("/account/second-factor/passkeys", "/login/verify/passkey"):
        response = client.post(url, data=body, content_type="application/json")
        assert response.status_code in (400, 401), url  # 401: no login step is waiting
        assert response.get_json()["error"]["message"]
