"""What an operator sees of a running instance: request ids, one log line per request, health,
readiness and Prometheus metrics.

- Every request gets an id (a proxy's `X-Request-ID` when it looks like one, otherwise a new
  one), returned in the `X-Request-ID` header and written into the audit events it causes.
- One log line per request (JSON with `LOG_FORMAT=json`, a readable line otherwise): request id,
  route (the URL rule, so a certificate code or token in the path is never logged), method,
  status, duration and user id. Query strings, bodies and headers are never logged. Health
  probes are logged at debug level only.
- `GET /healthz`: the process answers. `GET /readyz`: the database answers, the migrations are
  at head, Redis answers (when configured), the job queue can be read; 503 names what failed.
- `GET /metrics`: Prometheus text format (request latency per URL rule and status, and the
  counters of `courseware.infra.metrics`), for a bearer `METRICS_TOKEN` or, without one, for
  clients in `METRICS_ALLOW` (loopback by default). With PROMETHEUS_MULTIPROC_DIR set it sums
  every process writing there: gunicorn's workers and a `jobs worker` given the same folder.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import secrets
import select
import sys
import time
from abc import ABC, abstractmethod
from contextlib import nullcontext
from contextvars import ContextVar
from typing import Any, TextIO

from flask import Blueprint, Flask, Response, abort, current_app, g, jsonify, request
from flask.typing import ResponseReturnValue
from flask_login import current_user
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client import multiprocess as prometheus_multiprocess

from courseware.infra import context, metrics, readiness
from courseware.web import db
from courseware.web.current import current_request
from courseware.web.jobs import jobs

bp = Blueprint("ops", __name__)
log = logging.getLogger("courseware.request")
PROBES = ("/healthz", "/readyz")


def init_app(app: Flask) -> None:
    _configure_logging(app)
    app.before_request(_start)
    app.after_request(_finish)
    app.teardown_request(_forget)
    shared = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if shared:
        # every process writes its counters here (gunicorn's workers, and a `jobs worker`
        # given the same folder); the first counter made needs the folder to exist
        os.makedirs(shared, exist_ok=True)
    app.register_blueprint(bp)


# --- request ids and the request log --------------------------------------------------------

# when this thread's request began (context variables, as the request id: read without going
# through Flask's request-local proxies, which every request pays for per access)
_STARTED: ContextVar[float | None] = ContextVar("courseware_request_started", default=None)


def _start() -> None:
    _STARTED.set(time.perf_counter())
    context.set_request_id(context.new_request_id(request.environ.get("HTTP_X_REQUEST_ID")))


def _finish(response: Response) -> Response:
    """The request's log line and its latency (one clock reading for both)."""
    request_id = context.request_id()
    if request_id:
        response.headers.add("X-Request-ID", request_id)  # nothing else writes it
    started = _STARTED.get()
    seconds = time.perf_counter() - started if started is not None else None
    req = current_request()
    url_rule = req.url_rule
    rule = url_rule.rule if url_rule is not None else None
    method, path = req.method, req.path
    record = {"request_id": request_id, "method": method, "route": rule,
              "status": response.status_code,
              "duration_ms": round(seconds * 1000, 2) if seconds is not None else None,
              "user_id": _user_id()}
    if path in PROBES:
        _log_request(logging.DEBUG, record)
        return response
    _log_request(logging.INFO, record)
    if seconds is not None and path != "/metrics" and not path.startswith("/static/"):
        metrics.observe_request(method, rule or "", response.status_code, seconds)
    return response


def _forget(_exc: BaseException | None) -> None:
    context.set_request_id(None)
    _STARTED.set(None)


def _log_request(level: int, fields: dict[str, Any]) -> None:
    """The request's line, as `log.log(level, "request", extra={"fields": fields})` would write
    it. Where the package's own handler is the line's only way out (as `_configure_logging`
    sets it up), the line is formatted and written straight away: building the LogRecord and
    passing it through logging cost about a tenth of an anonymous API request's CPU. Anywhere
    else (a test's capture, an operator's handlers) it goes through logging."""
    if not log.isEnabledFor(level):
        return
    handler = _sole_handler(level)
    if handler is None:
        log.log(level, "request", extra={"fields": fields})
        return
    formatter = handler.formatter
    assert isinstance(formatter, FieldsFormatter)
    handler.write_line(formatter.line(time.time(), logging.getLevelName(level).lower(),
                                      log.name, "request", fields))


def _sole_handler(level: int) -> CoursewareHandler | None:
    """The package's handler when logging would hand this logger's record to it and to nothing
    else, with no filter on the way; otherwise None."""
    package = log.parent
    if log.handlers or log.filters or not log.propagate or package is None \
            or package.filters or package.propagate or len(package.handlers) != 1:
        return None
    handler = package.handlers[0]
    if not isinstance(handler, CoursewareHandler) or handler.filters or level < handler.level \
            or not isinstance(handler.formatter, FieldsFormatter):
        return None
    return handler


def _user_id() -> int | None:
    """The logged-in account's id when the request already loaded it (never loads it for this)."""
    if "_login_user" not in g:
        return None
    user = current_user._get_current_object()
    return getattr(user, "id", None) if getattr(user, "is_authenticated", False) else None


class FieldsFormatter(logging.Formatter, ABC):
    """A record as one line: its time, level, logger and message, then the `fields` it was
    given (`extra={"fields": {...}}`) or else the request id, then any traceback."""

    def __init__(self) -> None:
        super().__init__()
        self._stamps: dict[str, tuple[int, str]] = {}

    def format(self, record: logging.LogRecord) -> str:
        error = self.formatException(record.exc_info) if record.exc_info else None
        return self.line(record.created, record.levelname.lower(), record.name,
                         record.getMessage(), getattr(record, "fields", None), error)

    @abstractmethod
    def line(self, created: float, level: str, logger: str, message: str,
             fields: dict[str, Any] | None, error: str | None = None) -> str:
        """The line of a record made at `created` (epoch seconds), at `level` ("info")."""

    def timestamp(self, created: float, pattern: str) -> str:
        """What `formatTime` writes for a record made at `created` (to the second: the text is
        kept for the rest of that second, as most lines in a busy second share it)."""
        second = int(created)
        kept = self._stamps.get(pattern)
        if kept is not None and kept[0] == second:
            return kept[1]
        text = time.strftime(pattern, self.converter(second))
        self._stamps[pattern] = (second, text)
        return text


class JsonFormatter(FieldsFormatter):
    """One JSON object per line: time, level, logger, message, request id and the fields."""

    def line(self, created: float, level: str, logger: str, message: str,
             fields: dict[str, Any] | None, error: str | None = None) -> str:
        fields = fields or {}
        data: dict[str, Any] = {
            "time": self.timestamp(created, "%Y-%m-%dT%H:%M:%S"),
            "level": level, "logger": logger, "message": message,
            "request_id": fields.get("request_id") or context.request_id(),
        }
        data.update(fields)
        if error:
            data["error"] = error
        return json.dumps(data, default=str)


class TextFormatter(FieldsFormatter):
    """`12:00:00 info courseware.request: request request_id=… method=GET …`"""

    def line(self, created: float, level: str, logger: str, message: str,
             fields: dict[str, Any] | None, error: str | None = None) -> str:
        line = f"{self.timestamp(created, '%H:%M:%S')} {level} {logger}: {message}"
        if fields:
            line += " " + " ".join([f"{k}={v}" for k, v in fields.items() if v is not None])
        elif context.request_id():
            line += f" request_id={context.request_id()}"
        if error:
            line += "\n" + error
        return line


def _configure_logging(app: Flask) -> None:
    """The package's loggers write to stderr in LOG_FORMAT, once per process."""
    root = logging.getLogger("courseware")
    if any(isinstance(h, CoursewareHandler) for h in root.handlers) or app.testing:
        return
    handler = CoursewareHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if app.config["LOG_FORMAT"] == "json"
                         else TextFormatter())
    root.addHandler(handler)
    root.setLevel(app.config["LOG_LEVEL"])
    root.propagate = False


class CoursewareHandler(logging.StreamHandler[TextIO]):
    """The package's own handler: added once per process, however many apps are made.

    A record is one line, written with one write() to the stream's file descriptor, without
    the handler's lock: the kernel keeps each write whole among threads and processes (any
    size on a file, up to PIPE_BUF bytes on a pipe), and under load gunicorn's threads queued
    on that lock for every request's log line. A longer record (a traceback) takes the lock
    and is written to the end; a stream with no descriptor is written as logging writes
    it, through the stream under the lock."""

    def handle(self, record: logging.LogRecord) -> bool:
        if not self.filter(record):
            return False
        try:
            line = self.format(record)
        except Exception:  # logging's own rule: report, never raise
            self.handleError(record)
        else:
            self.write_line(line, record)
        return True

    def write_line(self, line: str, record: logging.LogRecord | None = None) -> None:
        """One formatted line, whole; a failure is reported as logging reports it, not raised."""
        try:
            descriptor = self._descriptor()
            if descriptor is None:
                with self.lock or nullcontext():
                    self.stream.write(line + self.terminator)
                    self.flush()
                return
            data = (line + self.terminator).encode("utf-8", "replace")
            if len(data) <= select.PIPE_BUF:
                written = os.write(descriptor, data)
                if written < len(data):  # a signal or a full disk: the rest, in turn
                    self._write_all(descriptor, data[written:])
            else:
                self._write_all(descriptor, data)
        except Exception:
            self.handleError(record or logging.makeLogRecord({"msg": line}))

    def _descriptor(self) -> int | None:
        try:
            self.stream.flush()  # what was written through the stream object goes first
            return self.stream.fileno()
        except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is one
            return None

    def _write_all(self, descriptor: int, data: bytes) -> None:
        with self.lock or nullcontext():
            view = memoryview(data)
            while view:
                view = view[os.write(descriptor, view):]


# --- health -------------------------------------------------------------------------------------

@bp.route("/healthz")
def healthz() -> ResponseReturnValue:
    return jsonify({"status": "ok"})


@bp.route("/readyz")
def readyz() -> ResponseReturnValue:
    checks = readiness.check(db.database().engine, current_app.config.get("REDIS_URL"),
                             jobs().huey.pending_count)
    ready = all(result == "ok" for result in checks.values())
    return jsonify({"status": "ready" if ready else "unavailable", "checks": checks}), \
        200 if ready else 503


# --- metrics ------------------------------------------------------------------------------------

@bp.route("/metrics")
def metrics_page() -> ResponseReturnValue:
    if not _may_read_metrics():
        abort(404)  # not advertised to the public
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        prometheus_multiprocess.MultiProcessCollector(registry)  # every gunicorn worker's
        body = generate_latest(registry)
    else:
        body = generate_latest(metrics.REGISTRY)
    return Response(body, mimetype=CONTENT_TYPE_LATEST)


def _may_read_metrics() -> bool:
    token = current_app.config.get("METRICS_TOKEN")
    if token:
        offered = request.headers.get("Authorization", "")
        return secrets.compare_digest(offered.encode(), f"Bearer {token}".encode())
    try:
        client = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    return any(client in network for network in current_app.config["METRICS_ALLOW"])
