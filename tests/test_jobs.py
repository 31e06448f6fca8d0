"""Jobs with real parts: huey consumers (threads, and a `flask jobs worker` process), a real
SMTP server on loopback, SqliteHuey and, where it is installed, Redis.

What must hold: a message is queued only after its transaction commits; it is delivered with a
Message-ID that is the same on every attempt; an SMTP outage delays it (retried with backoff)
but never drops it; a permanent refusal is recorded, not retried; a worker that dies in the
middle of a job leaves the message to the sweep, which delivers it once.
"""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from courseware.domain import clock
from courseware.domain.delivery import message_id
from courseware.domain.statuses import DeliveryStatus, MessageKind
from courseware.infra.config import PROJECT_ROOT
from courseware.models import Certificate, User
from courseware.services import account_email, outbox
from courseware.tasks.jobs import Tasks
from tests.conftest import MAIL_SETTINGS, make_app
from tests.factories import Factory
from tests.mailing import SmtpSink, body_text, consumer, recorded, wait_until

FLASK = Path(sys.executable).parent / "flask"


def jobs_of(app: Flask) -> Tasks:
    tasks: Tasks = app.extensions["courseware.jobs"]
    return tasks


def expected_message_id(app: Flask, row_id: int) -> str:
    [row] = [r for r in recorded(app) if r.id == row_id]
    return message_id(row.id, row.recipient, row.kind, row.subject_key, "localhost")


def one_row(app: Flask) -> int:
    [row] = recorded(app)
    return row.id


def status_of(app: Flask, row_id: int) -> tuple[str, int, str | None]:
    [row] = [r for r in recorded(app) if r.id == row_id]
    return row.status, row.attempts, row.last_error


# --- queued after commit, never before ------------------------------------------------------------

def test_a_message_is_queued_when_its_transaction_commits_and_not_before(app: Flask) -> None:
    factory = Factory(app)
    learner = factory.user(email="ann@x.org")
    huey = jobs_of(app).huey
    before = huey.pending_count()
    with app.app_context(), app.extensions["courseware.db"].session() as s:
        account_email.send_reset(s, s.get(User, learner.id), clock.utcnow())
        assert huey.pending_count() == before  # recorded, not yet queued
        s.commit()
    assert huey.pending_count() == before + 1


def test_nothing_is_queued_for_a_transaction_that_rolls_back(app: Flask) -> None:
    factory = Factory(app)
    learner = factory.user(email="ann@x.org")
    huey = jobs_of(app).huey
    before = huey.pending_count()
    with app.app_context(), app.extensions["courseware.db"].session() as s:
        account_email.send_reset(s, s.get(User, learner.id), clock.utcnow())
        s.rollback()
        s.commit()  # a later commit of the same session queues nothing of the rolled-back work
    assert huey.pending_count() == before
    assert recorded(app, "ann@x.org") == []


# --- delivery by a consumer -----------------------------------------------------------------------

def test_a_consumer_delivers_the_message_once_with_a_stable_message_id(
        mail_app: Flask, smtp: SmtpSink) -> None:
    factory = Factory(mail_app)
    learner = factory.user(email="ann@x.org", name="Ann Example")
    factory.reset_link(learner)
    row_id = one_row(mail_app)
    with consumer(mail_app):
        [message] = smtp.wait_for("ann@x.org")
        wait_until(lambda: status_of(mail_app, row_id)[0] == DeliveryStatus.SENT, what="sent")
    assert message["Message-ID"] == expected_message_id(mail_app, row_id)
    assert message["Subject"] == "Choose a new password"
    assert message["From"] == "Courseware <no-reply@x.org>"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["List-Unsubscribe"] is None  # account mail cannot be turned off
    assert message.get_content_type() == "multipart/alternative"
    html = message.get_body(preferencelist=("html",))
    assert html is not None and "Choose a new password</a>" in str(html.get_content())
    assert "Hello Ann Example," in body_text(message)
    assert status_of(mail_app, row_id) == (DeliveryStatus.SENT, 1, None)
    # queueing it again (a duplicate job) sends nothing more: the row is sent
    with consumer(mail_app):
        jobs_of(mail_app).deliver(row_id)
        time.sleep(0.5)
    assert len(smtp.received("ann@x.org")) == 1


def test_smtp_down_then_up_the_message_arrives_after_a_retry(
        database_url: str, tmp_path: Path, queue: dict[str, object]) -> None:
    down = SmtpSink()  # its port, with nothing listening yet
    app = make_app(database_url, tmp_path, **MAIL_SETTINGS, MAIL_PORT=down.port, **queue)
    factory = Factory(app)
    factory.reset_link(factory.user(email="ann@x.org"))
    row_id = one_row(app)
    try:
        with consumer(app):
            # the first attempt fails and is written down, to be retried
            wait_until(lambda: status_of(app, row_id)[1] >= 1
                       and status_of(app, row_id)[0] == DeliveryStatus.PENDING, what="a failure")
            status, attempts, error = status_of(app, row_id)
            assert error is not None and "Connection refused" in error
            down.start()  # the server is back
            [message] = down.wait_for("ann@x.org", timeout=30)
            wait_until(lambda: status_of(app, row_id)[0] == DeliveryStatus.SENT, what="sent")
        assert status_of(app, row_id)[1] >= 2
        assert message["Message-ID"] == expected_message_id(app, row_id)
        assert len(down.received()) == 1
    finally:
        down.stop()


def test_a_permanent_refusal_is_recorded_and_not_retried(mail_app: Flask,
                                                         smtp: SmtpSink) -> None:
    smtp.refuse = True
    factory = Factory(mail_app)
    factory.reset_link(factory.user(email="nobody@x.org"))
    row_id = one_row(mail_app)
    with consumer(mail_app):
        wait_until(lambda: status_of(mail_app, row_id)[0] == DeliveryStatus.FAILED,
                   what="failed")
        time.sleep(1.5)  # a retry would have come by now (MAIL_RETRY_DELAY is 0.5 s)
    status, attempts, error = status_of(mail_app, row_id)
    assert (status, attempts) == (DeliveryStatus.FAILED, 1)
    assert error is not None and "550" in error and "No such mailbox" in error
    assert smtp.received() == []


def test_a_message_being_sent_is_not_sent_again_by_the_sweep_or_a_duplicate_job(
        mail_app: Flask, smtp: SmtpSink) -> None:
    factory = Factory(mail_app)
    factory.reset_link(factory.user(email="ann@x.org"))
    row_id = one_row(mail_app)
    tasks = jobs_of(mail_app)
    with consumer(mail_app, workers=3):
        with smtp.stall():
            assert smtp.stalled.wait(20), "the worker never reached the SMTP server"
            assert status_of(mail_app, row_id)[0] == DeliveryStatus.SENDING
            # while one job holds the message: the sweep leaves it, and a second job gives up
            swept = tasks.sweep.call_local()
            tasks.deliver(row_id)
            time.sleep(0.5)
        smtp.wait_for("ann@x.org")
        time.sleep(1.0)  # any second copy would arrive now
    assert swept is None  # the sweep ran (it returns nothing) ...
    assert len(smtp.received("ann@x.org")) == 1  # ... and only one message arrived
    assert status_of(mail_app, row_id)[:2] == (DeliveryStatus.SENT, 1)


def test_the_sweep_delivers_a_message_whose_job_was_lost(
        database_url: str, tmp_path: Path, smtp: SmtpSink, queue: dict[str, object]) -> None:
    """A crash between commit and queue: the row exists, no job does."""
    app = make_app(database_url, tmp_path, **MAIL_SETTINGS, MAIL_PORT=smtp.port,
                   SWEEP_AFTER_SECONDS=1, **queue)
    factory = Factory(app)
    learner = factory.user(email="ann@x.org")
    with app.app_context(), app.extensions["courseware.db"].session() as s:
        account_email.send_reset(s, s.get(User, learner.id), clock.utcnow())
        outbox.take_after_commit(s)  # as if the process died right after the commit
        s.commit()
    row_id = one_row(app)
    with consumer(app):
        time.sleep(1.2)
        assert smtp.received() == [], "nothing was queued, so nothing may have been sent"
        assert outbox_overdue(app) == [row_id]
        jobs_of(app).sweep()  # what the scheduler does every five minutes
        smtp.wait_for("ann@x.org")
    assert status_of(app, row_id)[:2] == (DeliveryStatus.SENT, 1)


def outbox_overdue(app: Flask) -> list[int]:
    with app.app_context(), app.extensions["courseware.db"].session(write=False) as s:
        return outbox.overdue(s, clock.utcnow(),
                              jobs_of(app).env.settings.sweep_after)


# --- a worker killed in the middle of a job ----------------------------------------------------

def worker_env(app: Flask, database_url: str, tmp_path: Path, smtp: SmtpSink,
               queue: dict[str, object]) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "DATABASE_URL": database_url,
           "COURSEWARE_INSTANCE": str(tmp_path / "instance"), "SECRET_KEY": "test-secret-key",
           "BASE_URL": "http://localhost", "MAIL_BACKEND": "smtp", "MAIL_SERVER": "127.0.0.1",
           "MAIL_PORT": str(smtp.port), "MAIL_TIMEOUT": "30", "MAIL_LEASE_SECONDS": "2",
           "MAIL_DEFAULT_SENDER": "Courseware <no-reply@x.org>", "PYTHONUNBUFFERED": "1"}
    env.pop("REDIS_URL", None)
    env.update({key: str(value) for key, value in queue.items()
                if key in ("REDIS_URL", "JOBS_QUEUE")})
    assert app.config["KEY_ENCRYPTION_KEY"]  # the worker reads the same key from the instance
    return env


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen([str(FLASK), "--app", "app", "jobs", "worker", "--workers", "2"],
                                cwd=PROJECT_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


@pytest.mark.slow
def test_a_worker_killed_in_the_middle_of_a_job_the_message_still_arrives_once(
        database_url: str, tmp_path: Path, smtp: SmtpSink, queue: dict[str, object]) -> None:
    app = make_app(database_url, tmp_path, **MAIL_SETTINGS, MAIL_PORT=smtp.port,
                   MAIL_LEASE_SECONDS=2, **queue)
    env = worker_env(app, database_url, tmp_path, smtp, queue)
    log = tmp_path / "worker.log"
    factory = Factory(app)
    factory.reset_link(factory.user(email="ann@x.org"))  # committed and queued
    row_id = one_row(app)
    first = second = None
    try:
        with smtp.stall():
            first = start_worker(env, log)
            assert smtp.stalled.wait(60), log.read_text()
            # the worker has claimed the message and is talking to the SMTP server: kill it
            assert status_of(app, row_id)[:2] == (DeliveryStatus.SENDING, 1)
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
        time.sleep(0.5)
        assert smtp.received() == [], "the killed worker's conversation delivered nothing"
        assert status_of(app, row_id)[0] == DeliveryStatus.SENDING  # until its lease runs out
        second = start_worker(env, log)
        time.sleep(2.1)  # the dead worker's lease (MAIL_LEASE_SECONDS=2) runs out
        jobs_of(app).sweep()  # the periodic sweep, queued for the new worker
        [message] = smtp.wait_for("ann@x.org", timeout=60)
        time.sleep(1.5)  # a second copy would have arrived by now
        copies = [m for m in smtp.received() if m["Message-ID"] == message["Message-ID"]]
        assert len(copies) == 1 and len(smtp.received()) == 1
        assert message["Message-ID"] == expected_message_id(app, row_id)
        wait_until(lambda: status_of(app, row_id)[0] == DeliveryStatus.SENT, what="sent")
        assert status_of(app, row_id)[:2] == (DeliveryStatus.SENT, 2)
        assert "jobs worker: " in log.read_text()
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGINT)  # graceful: running jobs finish
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=10)
    assert second is not None and second.returncode == 0, log.read_text()[-3000:]


# --- the certificate PDF --------------------------------------------------------------------------

def test_issuing_does_not_render_the_pdf_a_job_does(app: Flask) -> None:
    factory = Factory(app)
    learner = factory.user(name="Amara Okafor")
    code = factory.manual_certificate(learner).code
    with app.app_context(), app.extensions["courseware.db"].session(write=False) as s:
        assert s.scalar(select(Certificate.pdf_sha256).where(Certificate.code == code)) is None
    with consumer(app):
        wait_until(lambda: pdf_digest(app, code), timeout=60, what="the PDF job")
    response = app.test_client().get(f"/certificates/{code}.pdf")
    assert response.status_code == 200 and response.data.startswith(b"%PDF")
    import hashlib

    assert hashlib.sha256(response.data).hexdigest() == pdf_digest(app, code)


def pdf_digest(app: Flask, code: str) -> str | None:
    with app.app_context(), app.extensions["courseware.db"].session(write=False) as s:
        return s.scalar(select(Certificate.pdf_sha256).where(Certificate.code == code))


def test_the_sweep_renders_a_recent_certificate_still_without_its_pdf(
        database_url: str, tmp_path: Path) -> None:
    app = make_app(database_url, tmp_path, SWEEP_AFTER_SECONDS=0)
    factory = Factory(app)
    cert = factory.manual_certificate(factory.user())
    tasks = jobs_of(app)
    tasks.huey.flush()  # the PDF job is lost
    swept = []
    from courseware.tasks import delivery

    result = delivery.sweep(tasks.env, swept.append, swept.append)
    assert result.certificates == [cert.id] and cert.id in swept
    tasks.render_pdf.call_local(cert.id)
    assert pdf_digest(app, cert.code) is not None
    assert delivery.sweep(tasks.env, swept.append, swept.append).certificates == []


def test_a_pdf_kept_first_is_kept_for_good(app: Flask) -> None:
    """The job and a download may render at once: the first PDF stored stays."""
    factory = Factory(app)
    cert = factory.manual_certificate(factory.user())
    with app.app_context(), app.extensions["courseware.db"].session() as s:
        from courseware.services import certificates

        assert certificates.store_pdf(s, cert.id, b"%PDF-first") == b"%PDF-first"
        assert certificates.store_pdf(s, cert.id, b"%PDF-second") == b"%PDF-first"
        s.commit()
    jobs_of(app).render_pdf.call_local(cert.id)  # already has one: nothing to do
    assert app.test_client().get(f"/certificates/{cert.code}.pdf").data == b"%PDF-first"


def test_a_stored_message_keeps_its_payload_sealed(app: Flask) -> None:
    factory = Factory(app)
    factory.reset_link(factory.user(email="ann@x.org"))
    [row] = recorded(app, "ann@x.org", MessageKind.PASSWORD_RESET)
    # Fernet's text is base64 of version, time, IV, ciphertext and MAC: encoding without
    # encrypting would leave the token and the address readable once decoded.
    opened = base64.urlsafe_b64decode(row.sealed)
    assert row.payload["token"].encode() not in opened and b"ann@x.org" not in opened
    assert row.payload["token"] not in row.sealed and "ann@x.org" not in row.sealed


# --- where the queue lives ------------------------------------------------------------------------

def test_the_queue_is_a_sqlite_file_in_the_instance_folder_or_redis(tmp_path: Path) -> None:
    from huey import RedisHuey, SqliteHuey

    from courseware.infra.jobs import close, describe, make_huey

    path = tmp_path / "instance" / "jobs.db"
    local = make_huey({"JOBS_QUEUE": "q", "REDIS_URL": None, "JOBS_SQLITE_PATH": path})
    assert isinstance(local, SqliteHuey) and path.exists()
    assert describe(local) == f"SQLite {path}, queue 'q'"
    close(local)
    shared = make_huey({"JOBS_QUEUE": "q", "REDIS_URL": "redis://u:secret@redis.example:6379/2"})
    assert isinstance(shared, RedisHuey)
    assert describe(shared) == "Redis redis://***@redis.example:6379/2, queue 'q'"


def test_redis_carries_the_rate_limits_too_unless_told_otherwise(database_url: str,
                                                                 tmp_path: Path) -> None:
    redis = "redis://127.0.0.1:1/0"  # never contacted: the app only builds its clients
    both = make_app(database_url, tmp_path / "a", REDIS_URL=redis)
    assert both.config["RATELIMIT_STORAGE_URI"] == redis
    apart = make_app(database_url, tmp_path / "b", REDIS_URL=redis,
                     RATELIMIT_STORAGE_URI="memory://")
    assert apart.config["RATELIMIT_STORAGE_URI"] == "memory://"
    alone = make_app(database_url, tmp_path / "c")
    assert alone.config["RATELIMIT_STORAGE_URI"] == "memory://"
    assert alone.config["MAIL_DEFAULT_SENDER"] == \
        "Courseware Peer Mentor Program <no-reply@localhost>"
