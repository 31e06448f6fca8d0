"""gunicorn settings: `gunicorn -c gunicorn.conf.py app:app` (what `make run` and the systemd unit
in deploy/ use). Every value can be set from the environment."""

import contextlib
import os
import tempfile

bind = os.environ.get("BIND", "127.0.0.1:5000")
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 30
keepalive = 5
# The app writes one line per request itself (courseware.request: request id, route, status,
# duration, user id; never a token or code); gunicorn's access log would repeat it with raw paths.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "warning")


def on_starting(server):  # noqa: ANN001, ANN201 - gunicorn's hook signature
    """Prometheus counters shared by every worker live in one directory. At start it keeps only
    the files of processes still running: a `jobs worker` on this host given the same
    PROMETHEUS_MULTIPROC_DIR keeps counting into it across a restart of the web server; what
    earlier servers' workers counted is dropped (a counter reset, which Prometheus expects)."""
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not path:
        path = tempfile.mkdtemp(prefix="courseware-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
    os.makedirs(path, exist_ok=True)
    for name in os.listdir(path):
        pid = name.removesuffix(".db").rpartition("_")[2]  # counter_1234.db, gauge_all_1234.db
        if not (pid.isdigit() and _running(int(pid))):
            with contextlib.suppress(OSError):
                os.remove(os.path.join(path, name))


def _running(pid):  # noqa: ANN001, ANN202
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: running
        return True
    return True


def child_exit(server, worker):  # noqa: ANN001, ANN201 - gunicorn's hook signature
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
