"""What the busiest paths skip, and that skipping it changes no answer: the verify API's lookup
runs outside any transaction yet sees every change at once (its statement count and headers:
tests/test_api_limits.py), and the app has no coroutine views or hooks
(courseware.web.app.SyncFlask no longer asks Flask to check each one per request)."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, event

from courseware.domain.statuses import CertificateChange
from tests.factories import Factory


def traced_lookups(engine: Engine) -> tuple[list[str], list[tuple[Any, bool]],
                                            Callable[[], None]]:
    """What the pool's connections run while traced: the statements (SQLite: the driver's own
    trace, BEGIN and ROLLBACK included; PostgreSQL: one "checkout" per connection taken), and
    each connection's state when the pool takes it back (in a transaction?, autocommit?).
    Returns the two lists and the function that stops tracing."""
    statements: list[str] = []
    returned: list[tuple[Any, bool]] = []
    sqlite = engine.dialect.name == "sqlite"

    def checked_out(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        if sqlite:
            dbapi_connection.set_trace_callback(statements.append)
        else:
            statements.append("checkout")

    def checked_in(dbapi_connection: Any, _record: Any) -> None:
        if sqlite:
            dbapi_connection.set_trace_callback(None)
            returned.append((dbapi_connection.in_transaction, False))
        else:
            returned.append((dbapi_connection.info.transaction_status != 0,
                             dbapi_connection.autocommit))

    event.listen(engine.pool, "checkout", checked_out)
    event.listen(engine.pool, "checkin", checked_in)

    def stop() -> None:
        event.remove(engine.pool, "checkout", checked_out)
        event.remove(engine.pool, "checkin", checked_in)

    return statements, returned, stop


def test_the_verify_lookup_sees_a_revocation_at_once(app: Flask, client: FlaskClient,
                                                     factory: Factory) -> None:
    """No transaction, no snapshot kept between requests: the next lookup reads the change."""
    cert = factory.manual_certificate(factory.user())
    assert client.get(f"/api/v1/certificates/{cert.code}").get_json()["status"] == "valid"
    factory.change_certificate(cert, CertificateChange.REVOKE, "Withdrawn")
    body = client.get(f"/api/v1/certificates/{cert.code}").get_json()
    assert (body["status"], body["eligible"]) == ("revoked", False)


def test_no_view_or_hook_is_a_coroutine(app: Flask) -> None:
    hooks: list[Any] = [*app.view_functions.values(), *app.teardown_appcontext_funcs]
    for registry in (app.before_request_funcs, app.after_request_funcs,
                     app.teardown_request_funcs, app.url_value_preprocessors,
                     app.template_context_processors):
        for functions in registry.values():
            hooks.extend(functions)
    assert len(hooks) > 100
    assert [f for f in hooks if inspect.iscoroutinefunction(f)] == []


def test_a_one_row_read_that_fails_drops_its_connection(app: Flask) -> None:
    """A statement that fails leaves its connection in a state nobody knows: it is dropped,
    never handed to the next request, and the driver's error reaches the caller."""
    from sqlalchemy import column, select, table

    from courseware.domain import clock
    from courseware.infra.db import OneRowRead
    from courseware.services import certificates

    engine = app.extensions["courseware.db"].engine
    dialect_errors = engine.dialect.loaded_dbapi.Error  # sqlite3's or psycopg's base error
    missing = OneRowRead(select(column("x")).select_from(table("no_such_table")), tuple)
    dropped: list[object] = []

    def invalidated(dbapi_connection: Any, _record: Any, _exc: Any) -> None:
        dropped.append(dbapi_connection)

    event.listen(engine.pool, "invalidate", invalidated)
    try:
        with pytest.raises(dialect_errors, match="no_such_table"):
            missing.first(engine)
    finally:
        event.remove(engine.pool, "invalidate", invalidated)
    assert len(dropped) == 1 and engine.pool.checkedout() == 0
    # the pool goes on serving
    assert certificates.public_record_of(engine, "0" * 27, clock.utcnow(), "x") is None
