"""Counters of what the system did, for Prometheus.

Business events (certificates issued and revoked, verifications by result) are counted when the
transaction that made them commits, never when a service merely flushed them: a service calls
`count_on_commit(session, ...)`, and a listener on every session moves the pending counts to the
counters after COMMIT (a rollback drops them). Under gunicorn the counters live in the shared
multiprocess directory (PROMETHEUS_MULTIPROC_DIR); otherwise in this process.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter
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
