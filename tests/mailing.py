"""Real parts for the mail and job tests: an SMTP server on loopback, Redis, huey consumers,
and reading what the outbox recorded."""

from __future__ import annotations

import asyncio
import email
import json
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from flask import Flask
from sqlalchemy import select

from courseware.domain.statuses import MessageKind
from courseware.infra.jobs import ThreadConsumer
from courseware.models import OutboxMessage
from courseware.services.outbox import SEALER_INFO
from courseware.tasks.jobs import Tasks
from courseware.tasks.mail import LINKS

REDIS_SERVER = "/usr/bin/redis-server"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_until(condition: Callable[[], Any], timeout: float = 15, what: str = "condition"
               ) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


class SmtpSink:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps every message it accepts.

    `stall()` makes the next conversation hang at MAIL FROM until released: a worker is then
    caught in the middle of its job. `refuse` answers RCPT TO with a permanent 550."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.messages: list[EmailMessage] = []
        self.refuse = False
        self._stall = False
        self.stalled = threading.Event()
        self.released = threading.Event()
        self._lock = threading.Lock()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.running = False

    def start(self) -> SmtpSink:
        self.controller.start()
        self.running = True
        return self

    def stop(self) -> None:
        self.released.set()
        if self.running:
            self.controller.stop()  # closes its event loop once the thread has ended
            self.running = False
        elif not self.controller.loop.is_closed():
            # never started (a server that is down): its event loop still holds a socket pair,
            # which would otherwise be reported unclosed during whichever test collects it
            self.controller.loop.close()

    @contextmanager
    def stall(self) -> Iterator[None]:
        self._stall, self.released = True, threading.Event()
        self.stalled.clear()
        try:
            yield
        finally:
            self._stall = False
            self.released.set()

    # aiosmtpd handler hooks
    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str,
                          mail_options: list[str]) -> str:
        if self._stall:
            self.stalled.set()
            released = self.released
            await asyncio.get_running_loop().run_in_executor(None, released.wait, 30)
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        if self.refuse:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=default_policy)
        assert isinstance(message, EmailMessage)
        with self._lock:
            self.messages.append(message)
        return "250 Message accepted for delivery"

    def received(self, to: str | None = None, subject: str | None = None) -> list[EmailMessage]:
        with self._lock:
            found = list(self.messages)
        return [m for m in found if (to is None or m["To"] == to)
                and (subject is None or subject in str(m["Subject"]))]

    def wait_for(self, to: str | None = None, count: int = 1, timeout: float = 20,
                 subject: str | None = None) -> list[EmailMessage]:
        return wait_until(lambda: len(self.received(to, subject)) >= count and
                          self.received(to, subject), timeout, f"{count} message(s) to {to}")


def body_text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def link_in(message: EmailMessage, base_url: str) -> str:
    """The path of the first link to the site in the plain-text body."""
    for word in body_text(message).split():
        if word.startswith(base_url + "/"):
            return word[len(base_url):]
    raise AssertionError(f"no link to {base_url} in:\n{body_text(message)}")


@contextmanager
def consumer(app: Flask, workers: int = 2, periodic: bool = False) -> Iterator[Tasks]:
    """A real huey consumer for the app's queue, as threads of this process."""
    tasks: Tasks = app.extensions["courseware.jobs"]
    running = ThreadConsumer(tasks.huey, workers=workers, periodic=periodic)
    running.start()
    try:
        yield tasks
    finally:
        running.stop(graceful=True)


# --- what the outbox recorded -------------------------------------------------------------------

@dataclass
class Recorded:
    id: int
    kind: MessageKind
    recipient: str
    subject_key: str
    status: str
    attempts: int
    last_error: str | None
    payload: dict[str, Any]
    sealed: str

    @property
    def link(self) -> str:
        return LINKS[self.kind](self.payload)


def recorded(app: Flask, recipient: str | None = None, kind: MessageKind | None = None
             ) -> list[Recorded]:
    """Outbox rows (payload unsealed with the app's key), oldest first."""
    with app.app_context(), app.extensions["courseware.db"].session(write=False) as s:
        statement = select(OutboxMessage).order_by(OutboxMessage.id)
        if recipient is not None:
            statement = statement.where(OutboxMessage.recipient == recipient)
        if kind is not None:
            statement = statement.where(OutboxMessage.kind == kind)
        sealer = s.info[SEALER_INFO]
        return [Recorded(m.id, m.kind, m.recipient, m.subject_key, m.status, m.attempts,
                         m.last_error, json.loads(sealer.unseal(m.payload)), m.payload)
                for m in s.scalars(statement)]


def last_link(app: Flask, recipient: str, kind: MessageKind) -> str:
    found = recorded(app, recipient, kind)
    assert found, f"no {kind} message for {recipient}"
    return found[-1].link


# --- Redis ------------------------------------------------------------------------------------

@contextmanager
def redis_server(folder: Path) -> Iterator[str | None]:
    """A throwaway redis-server on a free port (None when Debian's package is not installed),
    stopped by its pid afterwards."""
    if not os.access(REDIS_SERVER, os.X_OK):
        yield None
        return
    port = free_port()
    pidfile = folder / "redis.pid"
    subprocess.run([REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                    "--appendonly", "no", "--dir", str(folder), "--daemonize", "yes",
                    "--pidfile", str(pidfile)], check=True, capture_output=True, timeout=30)
    try:
        wait_until(lambda: pidfile.exists() and _answers(port), 15, "redis-server")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        if pidfile.exists():
            pid = int(pidfile.read_text().strip())
            os.kill(pid, signal.SIGTERM)
            wait_until(lambda: not _alive(pid), 15, "redis-server to stop")


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
