"""The job and delivery counters of /metrics, moved by real huey consumers and a real SMTP server
(SqliteHuey, then Redis where it is installed).

Jobs: every job put on the queue is counted queued by the process that queued it, and once run
it is counted completed, retried (it failed and will run again) or failed (no retry left).
Deliveries: every attempt to deliver an outbox message is counted by channel and result (sent,
retrying, failed) when its outcome commits. Both reach /metrics of a web server whose job worker
shares its PROMETHEUS_MULTIPROC_DIR (tests/test_gunicorn_config.py, tests/test_two_instances.py).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from flask import Flask

from courseware.domain import clock
from courseware.domain.statuses import Channel, DeliveryStatus, MessageKind
from courseware.services import outbox
from courseware.tasks.jobs import Tasks
from tests.conftest import MAIL_SETTINGS, make_app
from tests.factories import Factory
from tests.mailing import SmtpSink, consumer, recorded, wait_until


def sample(text: str, name: str, **labels: str) -> float:
    """One sample of Prometheus text (0 when absent)."""
    for line in text.splitlines():
        if not line.startswith(name + "{"):
            continue
        found = dict(part.split("=", 1) for part in line[len(name) + 1:line.index("}")]
                     .split(",") if part)
        if found == {key: f'"{value}"' for key, value in labels.items()}:
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def counting(app: Flask) -> Callable[..., float]:
    """How much a sample of /metrics grew since this call."""
    client = app.test_client()
    before = client.get("/metrics").get_data(as_text=True)

    def grew(name: str, **labels: str) -> float:
        after = client.get("/metrics").get_data(as_text=True)
        return sample(after, name, **labels) - sample(before, name, **labels)

    return grew


def tasks_of(app: Flask) -> Tasks:
    tasks: Tasks = app.extensions["courseware.jobs"]
    return tasks


def status_of(app: Flask, row_id: int) -> tuple[str, int]:
    [row] = [r for r in recorded(app) if r.id == row_id]
    return row.status, row.attempts


def test_a_delivered_message_counts_its_job_and_its_channel(mail_app: Flask,
                                                            smtp: SmtpSink) -> None:
    factory = Factory(mail_app)
    learner = factory.user(email="ann@x.org")
    grew = counting(mail_app)
    factory.reset_link(learner)  # recorded and queued when its transaction commits
    [row] = recorded(mail_app)
    assert grew("courseware_jobs_queued_total", job="deliver") == 1
    assert grew("courseware_jobs_completed_total", job="deliver") == 0
    with consumer(mail_app):
        smtp.wait_for("ann@x.org")
        wait_until(lambda: status_of(mail_app, row.id)[0] == DeliveryStatus.SENT, what="sent")
        wait_until(lambda: grew("courseware_jobs_completed_total", job="deliver") == 1,
                   what="the job counted completed")
    assert grew("courseware_outbox_deliveries_total", channel="mail", result="sent") == 1
    assert grew("courseware_outbox_deliveries_total", channel="mail", result="failed") == 0
    assert grew("courseware_jobs_retried_total", job="deliver") == 0
    assert grew("courseware_jobs_failed_total", job="deliver") == 0


def test_a_refused_message_counts_failed_for_its_channel(mail_app: Flask,
                                                         smtp: SmtpSink) -> None:
    smtp.refuse = True  # a permanent 550: failed for good, no retry
    factory = Factory(mail_app)
    learner = factory.user(email="nobody@x.org")
    grew = counting(mail_app)
    factory.reset_link(learner)
    [row] = recorded(mail_app)
    with consumer(mail_app):
        wait_until(lambda: status_of(mail_app, row.id)[0] == DeliveryStatus.FAILED,
                   what="failed")
        # the job itself ended normally: it recorded the refusal
        wait_until(lambda: grew("courseware_jobs_completed_total", job="deliver") == 1,
                   what="the job counted completed")
    assert grew("courseware_outbox_deliveries_total", channel="mail", result="failed") == 1
    assert grew("courseware_outbox_deliveries_total", channel="mail", result="sent") == 0
    assert grew("courseware_jobs_failed_total", job="deliver") == 0


def test_an_smtp_outage_counts_a_retried_attempt_then_the_delivery(
        database_url: str, tmp_path: Path, queue: dict[str, object]) -> None:
    down = SmtpSink()  # its port, with nothing listening yet
    app = make_app(database_url, tmp_path, **MAIL_SETTINGS, MAIL_PORT=down.port, **queue)
    factory = Factory(app)
    learner = factory.user(email="ann@x.org")
    grew = counting(app)
    factory.reset_link(learner)
    [row] = recorded(app)
    try:
        with consumer(app):
            wait_until(lambda: grew("courseware_jobs_retried_total", job="deliver") >= 1,
                       what="the failed attempt counted as a retry")
            assert status_of(app, row.id)[0] == DeliveryStatus.PENDING
            down.start()
            down.wait_for("ann@x.org", timeout=30)
            wait_until(lambda: status_of(app, row.id)[0] == DeliveryStatus.SENT, what="sent")
            wait_until(lambda: grew("courseware_jobs_completed_total", job="deliver") == 1,
                       what="the retry counted completed")
    finally:
        down.stop()
    # every failed attempt is one retried job and one delivery "retrying", however many there
    # were before the server came up (a retry is due at once: the machine's speed decides)
    retried = grew("courseware_jobs_retried_total", job="deliver")
    assert retried >= 1
    assert grew("courseware_outbox_deliveries_total", channel="mail",
                result="retrying") == retried
    assert grew("courseware_outbox_deliveries_total", channel="mail", result="sent") == 1
    # each retry was queued again when its delay was up: queued = completed + retried
    assert grew("courseware_jobs_queued_total", job="deliver") == 1 + retried
    assert grew("courseware_jobs_failed_total", job="deliver") == 0


def test_a_job_that_keeps_failing_counts_its_retry_and_then_its_failure(
        app: Flask) -> None:
    tasks = tasks_of(app)
    runs: list[int] = []

    def breaks() -> None:
        runs.append(1)
        raise RuntimeError("the database went away")

    broken = tasks.huey.task(retries=1, name="breaks")(breaks)
    grew = counting(app)
    with consumer(app):
        broken()
        wait_until(lambda: grew("courseware_jobs_failed_total", job="breaks") == 1,
                   what="the job counted failed")
    assert len(runs) == 2  # the first run and its one retry
    assert grew("courseware_jobs_queued_total", job="breaks") == 2
    assert grew("courseware_jobs_retried_total", job="breaks") == 1
    assert grew("courseware_jobs_completed_total", job="breaks") == 0


def test_deliveries_count_per_channel_when_their_outcome_commits(app: Flask) -> None:
    """The counting is the outbox's, whatever the channel (webhooks settle through it too)."""
    grew = counting(app)
    now = clock.utcnow()
    with app.app_context(), app.extensions["courseware.db"].session() as s:
        rows = [outbox.add(s, kind=MessageKind.PASSWORD_RESET, channel=Channel.WEBHOOK,
                           recipient="https://programs.example/hook", subject_key=f"event-{n}",
                           payload={"n": n}, now=now) for n in range(3)]
        s.commit()
        claimed = [outbox.claim(s, row.id, now, timedelta(minutes=2))
                   for row in rows if row is not None]
        s.commit()
        sent, refused, rolled_back = claimed
        assert sent is not None and refused is not None and rolled_back is not None
        outbox.mark_sent(s, sent, now)
        outbox.mark_failed(s, refused, "410 Gone", retry_at=None)
        assert grew("courseware_outbox_deliveries_total", channel="webhook",
                    result="sent") == 0  # not before the commit
        s.commit()
        outbox.mark_failed(s, rolled_back, "timed out", retry_at=now + timedelta(minutes=1))
        s.rollback()  # never happened: not counted
    assert grew("courseware_outbox_deliveries_total", channel="webhook", result="sent") == 1
    assert grew("courseware_outbox_deliveries_total", channel="webhook", result="failed") == 1
    assert grew("courseware_outbox_deliveries_total", channel="webhook", result="retrying") == 0
    assert grew("courseware_outbox_deliveries_total", channel="mail", result="sent") == 0
