"""gunicorn settings: `gunicorn -c gunicorn.conf.py app:app` (what `make run` and the systemd unit
in deploy/ use). Every value can be set from the environment."""

import os
import shutil
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
    """Prometheus counters shared by every worker live in one directory, emptied at start."""
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not path:
        path = tempfile.mkdtemp(prefix="courseware-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path, exist_ok=True)


def child_exit(server, worker):  # noqa: ANN001, ANN201 - gunicorn's hook signature
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
