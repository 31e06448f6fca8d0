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
        log.debug("request", extra={"fields": record})
        return response
    log.info("request", extra={"fields": record})
    if seconds is not None and path != "/metrics" and not path.startswith("/static/"):
        metrics.observe_request(method, rule or "", response.status_code, seconds)
    return response


def _forget(_exc: BaseException | None) -> None:
    context.set_request_id(None)
    _STARTED.set(None)


def _user_id() -> int | None:
    """The logged-in account's id when the request already loaded it (never loads it for this)."""
    if "_login_user" not in g:
        return None
    user = current_user._get_current_object()
    return getattr(user, "id", None) if getattr(user, "is_authenticated", False) else None


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id and the fields."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(), "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "fields", {}).get("request_id") or context.request_id(),
        }
        data.update(getattr(record, "fields", {}))
        if record.exc_info:
            data["error"] = self.formatException(record.exc_info)
        return json.dumps(data, default=str)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields = getattr(record, "fields", None)
        line = f"{self.formatTime(record, '%H:%M:%S')} {record.levelname.lower()} " \
               f"{record.name}: {record.getMessage()}"
        if fields:
            line += " " + " ".join(f"{k}={v}" for k, v in fields.items() if v is not None)
        elif context.request_id():
            line += f" request_id={context.request_id()}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
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
    and is written to the end; a stream with no descriptor is handled as logging's own."""

    def handle(self, record: logging.LogRecord) -> bool:
        descriptor = self._descriptor()
        if descriptor is None:
            return super().handle(record)
        if not self.filter(record):
            return False
        try:
            line = (self.format(record) + self.terminator).encode("utf-8", "replace")
            if len(line) <= select.PIPE_BUF:
                written = os.write(descriptor, line)
                if written < len(line):  # a signal or a full disk: the rest, in turn
                    self._write_all(descriptor, line[written:])
            else:
                self._write_all(descriptor, line)
        except Exception:  # logging's own rule: report, never raise
            self.handleError(record)
        return True

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
