"""The production gunicorn settings serve the app with metrics shared by every worker, and by a
job worker on the same host given the same PROMETHEUS_MULTIPROC_DIR."""

from __future__ import annotations

import os
import runpy
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from courseware.infra.config import PROJECT_ROOT
from tests.conftest import MAIL_SETTINGS, make_app
from tests.factories import Factory
from tests.mailing import SmtpSink


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fetch(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_two_workers_share_their_counters(database_url: str, tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": "gunicorn-test-secret",
           "COURSEWARE_INSTANCE": str(tmp_path / "instance"), "BIND": f"127.0.0.1:{port}",
           "WEB_CONCURRENCY": "2", "GUNICORN_THREADS": "2",
           "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
           "BASE_URL": f"http://127.0.0.1:{port}"}
    gunicorn = Path(sys.executable).parent / "gunicorn"
    server = subprocess.Popen([str(gunicorn), "-c", "gunicorn.conf.py", "app:app"],
                              cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if fetch(f"{base}/healthz")[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline and server.poll() is None, "gunicorn did not start"
            time.sleep(0.2)
        statuses = {fetch(f"{base}/api/v1/certificates/not-a-code")[0] for _ in range(20)}
        assert statuses == {400}
        status, text = fetch(f"{base}/metrics")
        assert status == 200
        line = next(ln for ln in text.splitlines() if ln.startswith(
            "courseware_verify_lookups_total{") and 'result="malformed_code"' in ln)
        # read through the multiprocess directory: whichever worker served each request
        assert float(line.rsplit(" ", 1)[1]) == 20.0
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


def wait_for(what: str, condition, timeout: float = 30):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = condition()
        except OSError:
            value = None
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def sample(text: str, name: str, *labels: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + "{") and all(label in line for label in labels):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_a_restart_keeps_the_counters_of_processes_still_running(
        tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "metrics"
    folder.mkdir()
    dead = subprocess.Popen(["true"])  # noqa: S607 - a process that has ended
    dead.wait()
    live = os.getpid()  # e.g. a job worker on this host, counting into the same folder
    for name in (f"counter_{live}.db", f"gauge_all_{live}.db", f"counter_{dead.pid}.db",
                 f"histogram_{dead.pid}.db", "stray.txt"):
        (folder / name).write_bytes(b"x")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(folder))
    settings = runpy.run_path(str(PROJECT_ROOT / "gunicorn.conf.py"))
    settings["on_starting"](None)
    assert sorted(p.name for p in folder.iterdir()) == [f"counter_{live}.db",
                                                        f"gauge_all_{live}.db"]


def test_a_job_worker_given_the_same_folder_counts_into_the_servers_metrics(
        database_url: str, tmp_path: Path, smtp: SmtpSink) -> None:
    """`flask jobs worker` on the web server's host, with its PROMETHEUS_MULTIPROC_DIR: the jobs
    it runs and the mail it sends show in that server's /metrics."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    shared = tmp_path / "metrics"
    env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": "test-secret-key",
           "COURSEWARE_INSTANCE": str(tmp_path / "instance"), "BIND": f"127.0.0.1:{port}",
           "WEB_CONCURRENCY": "1", "GUNICORN_THREADS": "2",
           "PROMETHEUS_MULTIPROC_DIR": str(shared), "BASE_URL": "http://localhost",
           "MAIL_BACKEND": "smtp", "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(smtp.port),
           "MAIL_DEFAULT_SENDER": "Courseware <no-reply@x.org>"}
    env.pop("REDIS_URL", None)  # the embedded queue: a SQLite file in the shared instance folder
    # the test queues the job through an app on the same instance folder (queue, KEK)
    app = make_app(database_url, tmp_path, **MAIL_SETTINGS, MAIL_PORT=smtp.port)
    bin_dir = Path(sys.executable).parent
    log = tmp_path / "processes.log"
    with log.open("wb") as out:
        server = subprocess.Popen([str(bin_dir / "gunicorn"), "-c", "gunicorn.conf.py",
                                   "app:app"], cwd=PROJECT_ROOT, env=env, stdout=out,
                                  stderr=subprocess.STDOUT)
        worker = subprocess.Popen([str(bin_dir / "flask"), "--app", "app", "jobs", "worker",
                                   "--no-periodic"], cwd=PROJECT_ROOT, env=env, stdout=out,
                                  stderr=subprocess.STDOUT)
    try:
        wait_for("gunicorn", lambda: fetch(f"{base}/healthz")[0] == 200)
        factory = Factory(app)
        factory.reset_link(factory.user(email="ann@x.org"))  # committed: queued for the worker
        smtp.wait_for("ann@x.org")

        def counted() -> str | None:
            text = fetch(f"{base}/metrics")[1]
            done = sample(text, "courseware_jobs_completed_total", 'job="deliver"')
            return text if done == 1 else None

        text = wait_for("the worker's counts in the server's /metrics", counted)
        assert sample(text, "courseware_outbox_deliveries_total", 'channel="mail"',
                      'result="sent"') == 1
        assert any(name.endswith(f"_{worker.pid}.db") for name in os.listdir(shared))
    finally:
        worker.send_signal(signal.SIGINT)
        server.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
        server.wait(timeout=30)
    assert "Traceback" not in log.read_text(errors="replace"), log.read_text()[-3000:]
