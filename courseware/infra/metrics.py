"""Counters of what the system did, for Prometheus.

Business events (certificates issued and revoked, verifications by result, outbox deliveries)
are counted when the transaction that made them commits, never when a service merely flushed
them: a service calls `count_on_commit(session, ...)`, and a listener on every session moves the
pending counts to the counters after COMMIT (a rollback drops them). Jobs are counted by the
queue's own signals (`courseware.infra.jobs`). With PROMETHEUS_MULTIPROC_DIR set (gunicorn sets
it; give a `jobs worker` on the same host the same one) every process writes its counters into
that directory and `/metrics` sums them; otherwise they live in this process.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from sqlalchemy import event
from sqlalchemy.orm import Session

REGISTRY = CollectorRegistry(auto_describe=True)

CERTIFICATES_ISSUED = Counter("courseware_certificates_issued", "Certificates issued",
                              ["manual"], registry=REGISTRY)
CERTIFICATE_CHANGES = Counter("courseware_certificate_changes",
                              "Certificates revoked, suspended or reinstated", ["change"],
                              registry=REGISTRY)
VERIFY_LOOKUPS = Counter("courseware_verify_lookups", "Certificate lookups by result",
                         ["channel", "result"], registry=REGISTRY)

# Every job put on the queue is taken off once and ends as completed, retried (it failed and
# is scheduled again, then queued again when its delay is up) or failed (no retry left):
# queued - completed - retried - failed is what waits or runs now.
JOBS_QUEUED = Counter("courseware_jobs_queued", "Jobs put on the queue (new, periodic, and "
                      "retries whose delay is up)", ["job"], registry=REGISTRY)
JOBS_COMPLETED = Counter("courseware_jobs_completed", "Job runs that finished",
                         ["job"], registry=REGISTRY)
JOBS_RETRIED = Counter("courseware_jobs_retried", "Job runs that failed and will be retried",
                       ["job"], registry=REGISTRY)
JOBS_FAILED = Counter("courseware_jobs_failed", "Job runs that failed with no retry left",
                      ["job"], registry=REGISTRY)
# One per delivery attempt of an outbox message, whatever its channel: sent; failed and to be
# tried again later (retrying); failed for good (failed).
DELIVERIES = Counter("courseware_outbox_deliveries", "Outbox delivery attempts by channel "
                     "(mail, webhook) and result (sent, retrying, failed)",
                     ["channel", "result"], registry=REGISTRY)

# Every request but the probes, /metrics and static files: its latency by method, URL rule
# (never the raw path, which may hold a code or a token) and status.
REQUEST_DURATION = Histogram("flask_http_request_duration_seconds",
                             "Flask HTTP request duration in seconds",
                             ["method", "url_rule", "status"], registry=REGISTRY)
# one labelled child per label values seen, for the metrics every request (or verification)
# updates: prometheus_client's labels() validates and locks on every call
_CHILDREN: dict[tuple[object, tuple[str, ...]], Any] = {}


def _child(metric: Counter | Histogram, *labels: str) -> Any:
    key = (metric, labels)
    child = _CHILDREN.get(key)
    if child is None:
        child = _CHILDREN[key] = metric.labels(*labels)
    return child


def observe_request(method: str, rule: str, status: int, seconds: float) -> None:
    _child(REQUEST_DURATION, method, rule, str(status)).observe(seconds)


def count_lookup(channel: str, result: str) -> None:
    """One certificate lookup through `channel` (api, page) that ended as `result` (valid,
    expired, ..., not_found, malformed_code)."""
    _child(VERIFY_LOOKUPS, channel, result).inc()


_PENDING = "courseware.metrics.pending"


def count_on_commit(session: Session, counter: Counter, **labels: str) -> None:
    """Add one to `counter` (with `labels`) if and when this session's transaction commits."""
    session.info.setdefault(_PENDING, []).append((counter, labels))


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint was released: the real commit is still to come
    for counter, labels in session.info.pop(_PENDING, []):
        (counter.labels(**labels) if labels else counter).inc()


@event.listens_for(Session, "after_rollback")
def _rolled_back(session: Session) -> None:
    session.info.pop(_PENDING, None)
