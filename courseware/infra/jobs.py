"""The job queue (huey), one per app: SqliteHuey in the instance folder, or RedisHuey.

`make run` needs nothing but the instance folder: the queue is a SQLite file beside the
database, shared by the web server and the worker on that host. With `REDIS_URL` set, the
queue lives in Redis and any number of `jobs worker` processes, on any host, share it.
Job functions live in `courseware.tasks`; this module only builds the queue and consumers.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from huey import Huey, RedisHuey, SqliteHuey
from huey import signals as S
from huey.api import Task
from huey.consumer import Consumer

from courseware.infra import metrics


def make_huey(config: Mapping[str, Any]) -> Huey:
    """The app's queue. Results are not kept: jobs record what they did in the database."""
    name = str(config["JOBS_QUEUE"])
    huey: Huey
    if config.get("REDIS_URL"):
        huey = RedisHuey(name, results=False, url=config["REDIS_URL"])
    else:
        path = Path(config["JOBS_SQLITE_PATH"])
        path.parent.mkdir(parents=True, exist_ok=True)
        huey = SqliteHuey(name, results=False, filename=str(path))
    huey.signal(S.SIGNAL_ENQUEUED, S.SIGNAL_COMPLETE, S.SIGNAL_RETRYING, S.SIGNAL_ERROR,
                S.SIGNAL_TIMEOUT)(count_job)
    return huey


def count_job(signal: str, task: Task, *_args: Any) -> None:
    """The job counters of /metrics, from huey's signals in whichever process sends them: the
    process that queues a job counts it queued, the worker that runs it counts how it ended."""
    job = task.name
    if signal == S.SIGNAL_ENQUEUED:
        metrics.JOBS_QUEUED.labels(job=job).inc()
    elif signal == S.SIGNAL_COMPLETE:
        metrics.JOBS_COMPLETED.labels(job=job).inc()
    elif signal == S.SIGNAL_RETRYING:
        metrics.JOBS_RETRIED.labels(job=job).inc()
    elif not task.retries:  # an error or a timeout with no retry left (else: retrying follows)
        metrics.JOBS_FAILED.labels(job=job).inc()


def describe(huey: Huey) -> str:
    """Where the queue is, for the worker's first line of output (no password shown)."""
    if isinstance(huey, RedisHuey):
        kwargs = huey.storage_kwargs
        url = str(kwargs.get("url") or "")
        if "@" in url:
            scheme, _, rest = url.partition("://")
            url = f"{scheme}://***@{rest.rpartition('@')[2]}"
        return f"Redis {url}, queue {huey.name!r}"
    return f"SQLite {huey.storage_kwargs.get('filename')}, queue {huey.name!r}"


class ThreadConsumer(Consumer):
    """A consumer whose workers are threads of the calling process, without signal handlers:
    for running jobs beside something else (the test suite) rather than as the process itself.
    `start()` returns at once; `stop(graceful=True)` waits for running jobs."""

    def __init__(self, huey: Huey, *, workers: int = 2, periodic: bool = False,
                 poll_seconds: float = 0.05) -> None:
        super().__init__(huey, workers=workers, periodic=periodic, initial_delay=poll_seconds,
                         backoff=1.0, max_delay=poll_seconds, worker_type="thread",
                         check_worker_health=False)

    def _set_signal_handlers(self) -> None:
        """The host process keeps its own signal handling."""


def close(huey: Huey) -> None:
    """Let go of the queue's connections (an app that is done, such as one test's)."""
    huey.storage.close()
    conn = getattr(huey.storage, "conn", None)
    if isinstance(huey, RedisHuey) and conn is not None:
        conn.close()
