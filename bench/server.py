"""Gunicorn serving bench.wsgi:app on a free loopback port, for the length of a `with`."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from courseware.infra.config import PROJECT_ROOT

from .data import DATA_DIR
from .httpclient import Client
from .pg import free_port

WORKERS = 2
THREADS = 4
SECRET_KEY = "courseware-bench-fixed-secret-key"  # noqa: S105 - throwaway benchmark server
INSTANCE = DATA_DIR / "instance"
REDIS_SERVER = "/usr/bin/redis-server"


@dataclass(frozen=True)
class Server:
    host: str
    port: int
    env: dict[str, str]
    pid: int  # the gunicorn master; its workers are its children
    cpu_parents: tuple[int, ...] = ()  # processes whose CPU a request costs (with children)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"


def server_env(database_url: str, port: int, instance: Path = INSTANCE) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "COURSEWARE_INSTANCE": str(instance),
        "DATABASE_URL": database_url,
        "BASE_URL": f"http://127.0.0.1:{port}",
        "SECRET_KEY": SECRET_KEY,
        "RATELIMIT_STORAGE_URI": "memory://",
        "COURSEWARE_BENCH": "1",
    })
    return env


@contextmanager
def gunicorn(database_url: str, log_name: str, database_pid: int | None = None,
             app: str = "bench.wsgi:app", instance: Path = INSTANCE,
             extra_env: dict[str, str] | None = None) -> Iterator[Server]:
    """The real app (bench.wsgi), or with app="bench.bare:app" the bare baseline app;
    `instance` and `extra_env` (REDIS_URL...) for a second instance beside the first."""
    port = free_port()
    env = server_env(database_url, port, instance)
    env.update(extra_env or {})
    instance.mkdir(parents=True, exist_ok=True)
    log_path = DATA_DIR / "logs" / f"{log_name}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    gunicorn_bin = Path(sys.executable).parent / "gunicorn"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [str(gunicorn_bin), "-k", "gthread", "--workers", str(WORKERS),
             "--threads", str(THREADS), "--bind", f"127.0.0.1:{port}",
             "--log-level", "warning", app],
            cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            _wait_ready(proc, port, log_path)
            parents = (proc.pid, database_pid) if database_pid else (proc.pid,)
            yield Server("127.0.0.1", port, env, proc.pid, parents)
        finally:
            proc.send_signal(signal.SIGTERM)  # gunicorn's graceful stop of its workers
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@contextmanager
def redis_server(log_name: str = "redis") -> Iterator[tuple[str, int]]:
    """A throwaway redis-server on a free loopback port (no persistence): (url, pid)."""
    port = free_port()
    log_path = DATA_DIR / "logs" / f"{log_name}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w") as log:
        proc = subprocess.Popen([REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1",
                                 "--save", "", "--appendonly", "no", "--daemonize", "no"],
                                stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 20
            while True:
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                        sock.sendall(b"PING\r\n")
                        if sock.recv(16).startswith(b"+PONG"):
                            break
                except OSError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server did not start: {log_path.read_text()}")
                time.sleep(0.05)
            yield f"redis://127.0.0.1:{port}/0", proc.pid
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _wait_ready(proc: subprocess.Popen[bytes], port: int, log_path: Path) -> None:
    """Until every worker has answered a ping (each new connection lands on an idle worker)."""
    deadline = time.monotonic() + 60
    seen: set[str] = set()
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited: {log_path.read_text()[-3000:]}")
        client = Client("127.0.0.1", port, timeout=5)
        try:
            response = client.get("/_bench/ping")
            if response.status == 200:
                seen.add(response.text)
                if len(seen) >= WORKERS:
                    return
        except OSError:
            pass
        finally:
            client.close()
        time.sleep(0.05 if seen else 0.2)
    if seen:
        return  # one worker kept winning the accept race; the warm-up phases reach the other
    raise RuntimeError(f"gunicorn did not answer within 60 s: {log_path.read_text()[-3000:]}")
