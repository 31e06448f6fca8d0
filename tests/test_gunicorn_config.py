"""The production gunicorn settings serve the app with metrics shared by every worker."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from courseware.infra.config import PROJECT_ROOT


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
