"""A throwaway PostgreSQL cluster, started exactly as scripts/test-suite.sh starts one."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


def pg_bin() -> Path | None:
    """The newest /usr/lib/postgresql/*/bin with initdb, or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                   key=lambda p: [int(x) if x.isdigit() else 0 for x in p.split("/")[4].split(".")])
    for candidate in reversed(found):
        if os.access(Path(candidate) / "initdb", os.X_OK):
            return Path(candidate)
    return None


def unavailable_reason() -> str | None:
    """Why the PostgreSQL run cannot happen here, or None when it can."""
    if pg_bin() is None:
        return "PostgreSQL binaries not found (/usr/lib/postgresql/*/bin)"
    if os.geteuid() != 0:
        return "not root: cannot run the cluster as the postgres user (runuser)"
    try:
        subprocess.run(["id", "postgres"], check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError):
        return "no postgres system user"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass(frozen=True)
class Cluster:
    url: str  # server URL without a database name
    version: str
    postmaster_pid: int


@contextmanager
def cluster() -> Iterator[Cluster]:
    """A running cluster; stopped and removed afterwards, also on failure."""
    binary = pg_bin()
    assert binary is not None
    pgdir = Path(tempfile.mkdtemp(prefix="courseware-bench-pg."))
    shutil.chown(pgdir, "postgres")
    port = free_port()
    data = pgdir / "data"

    def as_postgres(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["runuser", "-u", "postgres", "--", *args], check=True,
                              capture_output=True, text=True)

    try:
        as_postgres(str(binary / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres")
        as_postgres(str(binary / "pg_ctl"), "-D", str(data), "-w", "-l", str(pgdir / "log"),
                    "-o", f"-p {port} -k {pgdir} -c listen_addresses=127.0.0.1 -c fsync=off "
                          "-c synchronous_commit=off -c full_page_writes=off "
                          "-c max_connections=200", "start")
        version = as_postgres(str(binary / "postgres"), "--version").stdout.strip()
        pid = int((data / "postmaster.pid").read_text().split()[0])
        yield Cluster(f"postgresql+psycopg://postgres@127.0.0.1:{port}", version, pid)
    except subprocess.CalledProcessError as exc:
        log = (pgdir / "log").read_text() if (pgdir / "log").exists() else ""
        raise RuntimeError(f"PostgreSQL failed: {exc.stderr}\n{log[-2000:]}") from exc
    finally:
        subprocess.run(["runuser", "-u", "postgres", "--", str(binary / "pg_ctl"), "-D",
                        str(data), "stop", "-m", "fast"], capture_output=True)
        shutil.rmtree(pgdir, ignore_errors=True)


def create_database(server_url: str, name: str) -> str:
    """A new empty database on the cluster; its SQLAlchemy URL."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    engine = create_engine(f"{server_url}/postgres", isolation_level="AUTOCOMMIT",
                           poolclass=NullPool)
    try:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()
    return f"{server_url}/{name}"
