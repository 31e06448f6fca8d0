"""Health, readiness, request ids, the request log and Prometheus metrics."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from courseware.infra.db import Database
from courseware.infra.migrate import upgrade
from courseware.models import AuditEvent, User
from courseware.web.observability import CoursewareHandler, JsonFormatter, TextFormatter
from tests.conftest import Auth, make_app
from tests.factories import Factory


def test_healthz_answers_without_dependencies(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert (response.status_code, response.get_json()) == (200, {"status": "ok"})
    assert "Set-Cookie" not in response.headers


def test_readyz_checks_the_database_and_migrations(client: FlaskClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ready", "checks": {
        "database": "ok", "migrations": "ok", "jobs": "ok"}}


def test_readyz_says_which_dependency_failed(tmp_path: Path) -> None:
    behind = f"sqlite:///{tmp_path / 'behind.db'}"
    upgrade(Database(behind).engine, "0002")
    app = make_app(behind, tmp_path)
    body = app.test_client().get("/readyz")
    assert body.status_code == 503
    checks = body.get_json()["checks"]
    assert checks["database"] == "ok" and checks["migrations"].startswith("not at head")
    gone = make_app("postgresql+psycopg://nobody@127.0.0.1:1/none", tmp_path / "gone")
    response = gone.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"] == {"database": "unreachable: OperationalError",
                                             "migrations": "unknown", "jobs": "ok"}


def test_readyz_checks_redis_when_configured(database_url: str, tmp_path: Path) -> None:
    app = make_app(database_url, tmp_path, REDIS_URL="redis://127.0.0.1:1/0")
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    checks = response.get_json()["checks"]
    # the rate limits and the job queue live there: both are named
    assert checks["redis"] == "unreachable: ConnectionError"
    assert checks["jobs"] == "unreachable: ConnectionError"


def test_every_response_carries_a_request_id(client: FlaskClient) -> None:
    first, second = client.get("/healthz"), client.get("/verify")
    assert first.headers["X-Request-ID"] != second.headers["X-Request-ID"]
    passed = client.get("/healthz", headers={"X-Request-ID": "lb-1234abcd"})
    assert passed.headers["X-Request-ID"] == "lb-1234abcd"  # a proxy's id is kept
    refused = client.get("/healthz", headers={"X-Request-ID": "<script>alert(1)</script>"})
    assert refused.headers["X-Request-ID"] != "<script>alert(1)</script>"


def test_the_request_log_names_the_route_never_the_code(
        client: FlaskClient, caplog: pytest.LogCaptureFixture, factory: Factory) -> None:
    cert = factory.manual_certificate(factory.user())
    with caplog.at_level(logging.INFO, logger="courseware.request"):
        response = client.get(f"/api/v1/certificates/{cert.code}?secret=x")
    [record] = [r for r in caplog.records if r.name == "courseware.request"]
    line = json.loads(JsonFormatter().format(record))
    assert line["route"] == "/api/v1/certificates/<path:code>"
    assert line["status"] == 200 and line["method"] == "GET"
    assert line["request_id"] == response.headers["X-Request-ID"]
    assert cert.code not in json.dumps(line) and "secret" not in json.dumps(line)


def test_probes_are_not_logged_at_info(client: FlaskClient,
                                       caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="courseware.request"):
        client.get("/healthz")
        client.get("/readyz")
    assert not [r for r in caplog.records if r.name == "courseware.request"]


def test_an_audit_event_carries_the_request_id(app: Flask, client: FlaskClient, auth: Auth,
                                               admin: User, learner: User) -> None:
    auth.login(admin)
    response = client.post(f"/admin/users/{learner.id}/role", data={"role": "trainer"})
    assert response.status_code == 302
    with app.app_context(), app.extensions["courseware.db"].session() as s:
        event = s.scalar(select(AuditEvent).where(AuditEvent.action == "user.role"))
        assert event is not None and event.request_id == response.headers["X-Request-ID"]


def test_metrics_only_for_a_token_or_an_allowed_network(database_url: str,
                                                        tmp_path: Path) -> None:
    open_app = make_app(database_url, tmp_path)
    client = open_app.test_client()
    assert client.get("/metrics").status_code == 200  # the test client is 127.0.0.1
    outside = client.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert outside.status_code == 404
    locked = make_app(database_url, tmp_path / "locked", METRICS_TOKEN="s3cret-token")
    locked_client = locked.test_client()
    assert locked_client.get("/metrics").status_code == 404
    assert locked_client.get("/metrics", headers={"Authorization": "Bearer wrong"}
                             ).status_code == 404
    assert locked_client.get("/metrics", headers={"Authorization": "Bearer s3cret-token"}
                             ).status_code == 200


def _sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus text, 0 when absent."""
    for line in text.splitlines():
        if line.startswith(f"{name}{{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
        if not labels and line.startswith(f"{name} "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_count_requests_certificates_and_lookups(client: FlaskClient,
                                                         factory: Factory) -> None:
    before = client.get("/metrics").get_data(as_text=True)
    cert = factory.manual_certificate(factory.user())
    client.get(f"/api/v1/certificates/{cert.code}")
    client.get("/api/v1/certificates/not-a-code")
    after = client.get("/metrics").get_data(as_text=True)

    def grew(name: str, **labels: str) -> float:
        return _sample(after, name, **labels) - _sample(before, name, **labels)

    assert grew("courseware_certificates_issued_total", manual="yes") == 1
    assert grew("courseware_verify_lookups_total", channel="api", result="valid") == 1
    assert grew("courseware_verify_lookups_total", channel="api", result="malformed_code") == 1
    assert "flask_http_request_duration_seconds_bucket" in after
    assert 'url_rule="/api/v1/certificates/<path:code>"' in after


def test_a_rolled_back_issue_is_not_counted(app: Flask, factory: Factory) -> None:
    from courseware.domain import clock
    from courseware.infra import metrics
    from courseware.services import certificates
    from courseware.services.audit import COMMAND_LINE

    holder = factory.user()
    counter = metrics.CERTIFICATES_ISSUED.labels(manual="yes")
    before = counter._value.get()
    with app.app_context(), app.extensions["courseware.db"].session() as s:
        certificates.manual_issue(s, COMMAND_LINE, s.get(User, holder.id),
                                  "certified-peer-mentor", "Prior learning", clock.utcnow(),
                                  certificates.IssueContext.from_config(app.config))
        s.rollback()
    assert counter._value.get() == before


def test_a_savepoint_is_not_a_commit(app: Flask, factory: Factory) -> None:
    """Issuing uses savepoints (a code collision retries); only the real commit counts."""
    from courseware.domain import clock
    from courseware.infra import metrics
    from courseware.services import certificates
    from courseware.services.audit import COMMAND_LINE

    holder = factory.user()
    counter = metrics.CERTIFICATES_ISSUED.labels(manual="yes")
    before = counter._value.get()
    with app.app_context(), app.extensions["courseware.db"].session() as s:
        certificates.manual_issue(s, COMMAND_LINE, s.get(User, holder.id),
                                  "certified-peer-mentor", "Prior learning", clock.utcnow(),
                                  certificates.IssueContext.from_config(app.config))
        assert counter._value.get() == before  # savepoints released, nothing committed yet
        s.commit()
    assert counter._value.get() == before + 1


_MANY_WRITERS = '''
import logging, sys, threading
from courseware.web.observability import CoursewareHandler, TextFormatter
handler = CoursewareHandler(sys.stderr)
handler.setFormatter(TextFormatter())
log = logging.getLogger("courseware.lines")
log.addHandler(handler)
log.setLevel("INFO")
log.propagate = False
print("through the stream first", file=sys.stderr, end="\\n")
def write(n):
    for i in range(400):
        log.info("line", extra={"fields": {"thread": n, "i": i, "pad": "x" * 300}})
threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
for t in threads: t.start()
for t in threads: t.join()
log.error("long", extra={"fields": {"pad": "y" * 20000}})
'''


def test_log_lines_stay_whole_when_many_threads_write_at_once() -> None:
    """Each record is one write() of one line to stderr, without the handler's lock: eight
    threads writing at once never mix their lines, and a record longer than a pipe takes in
    one write is still written whole."""
    import re
    import subprocess
    import sys

    from courseware.infra.config import PROJECT_ROOT

    done = subprocess.run([sys.executable, "-c", _MANY_WRITERS], stderr=subprocess.PIPE,
                          cwd=PROJECT_ROOT, timeout=120, check=True)
    lines = done.stderr.decode().splitlines()
    assert lines[0] == "through the stream first"
    assert len(lines) == 1 + 8 * 400 + 1
    shape = re.compile(r"\d\d:\d\d:\d\d info courseware\.lines: line thread=(\d) i=(\d+) "
                       r"pad=x{300}")
    seen = set()
    for line in lines[1:-1]:
        found = shape.fullmatch(line)
        assert found, line[:120]
        seen.add(found.groups())
    assert len(seen) == 8 * 400
    assert " error courseware.lines: long" in lines[-1]
    assert lines[-1].endswith(" pad=" + "y" * 20000)


def test_a_log_stream_without_a_descriptor_is_written_as_logging_does() -> None:
    import io

    stream = io.StringIO()
    handler = CoursewareHandler(stream)
    handler.setFormatter(TextFormatter())
    log = logging.getLogger("courseware.no-descriptor")
    log.addHandler(handler)
    log.propagate = False
    try:
        log.warning("kept", extra={"fields": {"n": 1}})
    finally:
        log.removeHandler(handler)
    assert stream.getvalue().endswith(" warning courseware.no-descriptor: kept n=1\n")


@pytest.fixture(params=["text", "json"])
def package_log(request: pytest.FixtureRequest,
                tmp_path: Path) -> Iterator[tuple[CoursewareHandler, Path, str]]:
    """The package's handler as `_configure_logging` sets it up outside tests (the only way
    out for the package's records), writing to a file; the loggers are put back after."""
    path = tmp_path / "requests.log"
    stream = path.open("w")
    handler = CoursewareHandler(stream)
    handler.setFormatter(JsonFormatter() if request.param == "json" else TextFormatter())
    package = logging.getLogger("courseware")
    saved = package.level, package.propagate, package.handlers[:]
    package.handlers[:] = [handler]
    package.setLevel(logging.INFO)
    package.propagate = False
    try:
        yield handler, path, request.param
    finally:
        package.handlers[:] = saved[2]
        package.setLevel(saved[0])
        package.propagate = saved[1]
        stream.close()


def _request_fields(line: str, kind: str) -> dict[str, Any]:
    """A request line's parts, less those that differ from request to request."""
    if kind == "json":
        data = json.loads(line)
        assert data.pop("time")
    else:
        _time, level, logger, message, *pairs = line.split(" ")
        data = {"level": level, "logger": logger.removesuffix(":"), "message": message,
                **dict(pair.split("=", 1) for pair in pairs)}
    assert data.pop("request_id") and data.pop("duration_ms") is not None
    return data


def test_the_request_line_skips_logging_yet_reads_as_logging_writes_it(
        client: FlaskClient, factory: Factory,
        package_log: tuple[CoursewareHandler, Path, str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Where the package's handler is the line's only way out, the request's line is written
    straight to it; anything else that could see the record (here a filter) sends it through
    logging. Either way the line is the same."""
    from courseware.web import observability

    handler, path, kind = package_log
    url = f"/api/v1/certificates/{factory.manual_certificate(factory.user()).code}"
    seen: list[logging.LogRecord] = []
    handler.addFilter(lambda record: seen.append(record) or True)
    client.get(url)
    handler.filters.clear()
    # pytest's log capture attaches itself to loggers that do not propagate: it would see it
    logging.getLogger("courseware").handlers[:] = [handler]

    def no_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        raise AssertionError("the direct way makes no LogRecord")

    monkeypatch.setattr(observability.log, "makeRecord", no_record)
    client.get(url)
    client.get("/healthz")  # a probe: debug level, not written at info
    through_logging, direct = path.read_text().splitlines()
    assert [record.name for record in seen] == ["courseware.request"]
    assert _request_fields(direct, kind) == _request_fields(through_logging, kind) == {
        "level": "info", "logger": "courseware.request", "message": "request",
        "method": "GET", "route": "/api/v1/certificates/<path:code>",
        "status": 200 if kind == "json" else "200",
        **({"user_id": None} if kind == "json" else {})}
