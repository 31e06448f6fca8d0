"""Every API body is bounded in size and nesting depth, and answers a JSON error past either;
the verify API's rate limit and its fast path for anonymous calls."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import given
from hypothesis import strategies as st
from limits import parse

from courseware.domain import clock
from courseware.domain.jsonlimits import too_deep
from courseware.domain.statuses import CertificateChange, CertificateStatus, PublicReason
from courseware.services import certificates
from courseware.services.audit import COMMAND_LINE
from courseware.web.ratelimit import Windows, counter_key, windows_for
from courseware.web.security import CSP, HEADERS
from tests.conftest import make_app

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


# --- the verify API's fast path: what an anonymous call does, and what it still gets --------

def test_verify_calls_draw_on_one_budget_shown_in_headers(database_url: str,
                                                          tmp_path: Path) -> None:
    """API and page share the per-IP verify budget; a route without a limit neither counts nor
    shows one; past the budget the API answers 429 in JSON with Retry-After, per address."""
    app = make_app(database_url, tmp_path, RATELIMIT_ENABLED=True, VERIFY_LIMIT="3 per minute")
    try:
        client = app.test_client()
        first = client.get("/api/v1/certificates/x")
        assert first.status_code == 400
        assert (first.headers["X-RateLimit-Limit"], first.headers["X-RateLimit-Remaining"]) == \
            ("3", "2")
        assert int(first.headers["X-RateLimit-Reset"]) > time.time()
        healthz = client.get("/healthz")
        assert healthz.status_code == 200 and "X-RateLimit-Limit" not in healthz.headers
        assert client.get("/verify/x").headers["X-RateLimit-Remaining"] == "1"
        assert client.get("/api/v1/certificates/x").headers["X-RateLimit-Remaining"] == "0"
        limited = client.get("/api/v1/certificates/x")
        assert limited.status_code == 429 and limited.get_json()["error"]["code"] == \
            "rate_limited"
        assert 0 < int(limited.headers["Retry-After"]) <= 60
        assert limited.headers["Content-Security-Policy"] == CSP
        elsewhere = app.test_client()
        elsewhere.environ_base["REMOTE_ADDR"] = "192.0.2.7"
        assert elsewhere.get("/api/v1/certificates/x").status_code == 400
    finally:
        app.extensions["courseware.db"].engine.dispose()


@pytest.fixture(params=["memory", "redis"])
def windows(request: pytest.FixtureRequest, redis_url: str | None) -> Windows:
    if request.param == "memory":
        return windows_for("memory://")
    if redis_url is None:
        pytest.skip("redis-server is not installed (apt-get install -y redis-server)")
    return windows_for(redis_url)


def test_windows_count_like_a_fixed_window(windows: Windows) -> None:
    """Memory and Redis alike: the window starts at the first hit and lasts the period; past
    the limit requests are still counted; `peek` counts nothing; each key has its own."""
    item, key = parse("2 per second"), f"test-{uuid.uuid4().hex}"
    assert windows.peek(item, key).hits == 0
    first = windows.hit(item, key)
    assert first.hits == 1 and 0 < first.ends - time.time() <= 1.01
    assert [windows.hit(item, key).hits for _ in range(2)] == [2, 3]
    assert windows.peek(item, key).hits == 3
    assert windows.hit(item, key + "-other").hits == 1
    time.sleep(max(0.0, first.ends - time.time()) + 0.05)
    assert windows.peek(item, key).hits == 0 and windows.hit(item, key).hits == 1


_KEY_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
                   max_size=20)


@given(limit=st.sampled_from(["60 per minute", "5 per 15 minutes", "10000 per day",
                              "2 per second"]),
       prefix=st.lists(_KEY_TEXT, max_size=2).map(tuple), client=_KEY_TEXT, scope=_KEY_TEXT)
def test_a_counter_key_is_the_limits_librarys_own(limit: str, prefix: tuple[str, ...],
                                                   client: str, scope: str) -> None:
    """The key is put together from parts worked out once per budget, yet is the one
    `key_for` writes, so counters already kept in Redis carry on across the change."""
    item = parse(limit)
    assert counter_key(item, prefix, client, scope) == item.key_for(*prefix, client, scope)


def test_an_unknown_limit_store_is_refused_at_start() -> None:
    with pytest.raises(ValueError, match="memory:// or redis://"):
        windows_for("memcached://127.0.0.1:11211")


def test_an_anonymous_verify_call_is_one_lookup_with_every_header(app: Flask, learner: Any,
                                                                  client: FlaskClient) -> None:
    """No user loaded, no session cookie made, one SQL statement outside any transaction: yet
    the security headers, CORS and the request id are all there. A logged-in caller still gets
    no-store."""
    from tests.test_certificates import manual
    from tests.test_fast_paths import traced_lookups

    code = manual(app, learner)
    url = f"/api/v1/certificates/{code}"
    assert client.get(url).status_code == 200  # the track's facts are cached from here on
    # one connection, one SELECT on it, no transaction, and the connection goes back idle
    statements, returned, stop = traced_lookups(app.extensions["courseware.db"].engine)
    try:
        response = client.get(url)
    finally:
        stop()
    assert response.status_code == 200 and response.get_json()["code"] == code
    assert returned == [(False, False)], returned
    if statements != ["checkout"]:  # SQLite: the driver's trace of what it ran
        assert len(statements) == 1 and statements[0].startswith("SELECT certificate.code"), \
            statements
    for name, value in HEADERS.items():
        assert response.headers[name] == value
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["X-Request-ID"]
    assert "Set-Cookie" not in response.headers and "Cache-Control" not in response.headers
    assert "Cookie" not in response.headers.get("Vary", "")

    from tests.conftest import Auth

    Auth(client).login(learner)
    assert client.get(url).headers["Cache-Control"] == "no-store"


def test_the_api_record_read_as_a_row_equals_the_mapped_one(app: Flask, learner: Any) -> None:
    """The API reads the public columns as a plain row; the page and the credential read the
    mapped certificate: both make the same record, suspended and revoked too."""
    from tests.test_certificates import manual

    code = manual(app, learner)
    database = app.extensions["courseware.db"]
    for change in (CertificateChange.SUSPEND, CertificateChange.REVOKE):
        with app.app_context(), database.session() as s:
            cert = certificates.find(s, code)
            assert cert is not None
            certificates.change_state(s, COMMAND_LINE, cert, change, "Internal note",
                                      clock.utcnow(), public_reason=PublicReason.CONDUCT_REVIEW,
                                      public_text="Published words.")
            s.commit()
        with app.app_context(), database.session(write=False) as s:
            cert = certificates.find(s, code)
            assert cert is not None
            moment = clock.utcnow()
            mapped = certificates.public_record(cert, moment, "http://localhost")
            row = certificates.public_record_of(database.engine, code, moment,
                                               "http://localhost")
            expected = {CertificateChange.SUSPEND: CertificateStatus.SUSPENDED,
                        CertificateChange.REVOKE: CertificateStatus.REVOKED}[change]
            assert row == mapped and mapped["status"] == expected
            assert certificates.public_record_of(database.engine, "X" + code[1:], moment,
                                                 "x") is None
