"""Whether this instance can serve: each dependency answered, or what went wrong."""

from __future__ import annotations

from collections.abc import Callable

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

from courseware.infra.migrate import alembic_config


def check(engine: Engine, redis_url: str | None,
          queue_length: Callable[[], int]) -> dict[str, str]:
    """"ok" or a short reason, per dependency: database, migrations, redis (when configured),
    the job queue (`queue_length` reads it: huey's pending count, a query of its SQLite file
    or of Redis)."""
    checks = {"database": _database(engine)}
    checks["migrations"] = _migrations(engine) if checks["database"] == "ok" else "unknown"
    if redis_url:
        checks["redis"] = _redis(redis_url)
    checks["jobs"] = _queue(queue_length)
    return checks


def _queue(queue_length: Callable[[], int]) -> str:
    try:
        queue_length()
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready", and why
        return f"unreachable: {type(exc).__name__}"
    return "ok"


def _database(engine: Engine) -> str:
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready", and why
        return f"unreachable: {type(exc).__name__}"
    return "ok"


def _migrations(engine: Engine) -> str:
    heads = set(ScriptDirectory.from_config(alembic_config(engine)).get_heads())
    with engine.connect() as conn:
        current = set(MigrationContext.configure(conn).get_current_heads())
    if current == heads:
        return "ok"
    return f"not at head: database at {sorted(current) or 'nothing'}, code at {sorted(heads)}"


def _redis(url: str) -> str:
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
        client.ping()
        client.close()
    except redis.RedisError as exc:
        return f"unreachable: {type(exc).__name__}"
    return "ok"
