"""The jobs of one app, bound to its queue; and queueing what a transaction asked for.

Queued after commit, never before (a job must find the rows it is about): every session of
the app's database, committed by a request, a command or a job, has the work it recorded
(`services.outbox.after_commit`) queued by `Tasks.after_commit`. A queue that cannot be
reached is logged and left to the sweep.
"""

from __future__ import annotations

import logging

from huey import Huey, crontab
from huey.api import TaskWrapper
from sqlalchemy import event
from sqlalchemy.orm import Session

from courseware.services import outbox
from courseware.tasks import delivery
from courseware.tasks.environment import JobEnvironment

log = logging.getLogger("courseware.jobs")

SWEEP_EVERY_MINUTES = 5
DAILY_HOUR_UTC = 7  # reminders at 07:00 UTC, the trainers' digest at 07:30


class Tasks:
    """One app's jobs. Calling one (`tasks.deliver(42)`) queues it; `.call_local(...)` runs it
    here and now (what a worker does when it takes it from the queue)."""

    def __init__(self, huey: Huey, env: JobEnvironment) -> None:
        self.huey, self.env = huey, env
        # a delivery retries itself with its own backoff (RetryTask); these retries are for
        # what delivery does not expect (the database away, say)
        self.deliver: TaskWrapper = huey.task(retries=3, retry_delay=60, retry_backoff=2,
                                              name="deliver")(self._deliver)
        self.render_pdf: TaskWrapper = huey.task(retries=3, retry_delay=30, retry_backoff=2,
                                                 name="render_pdf")(self._render_pdf)
        self.request_password_reset: TaskWrapper = huey.task(
            retries=3, retry_delay=10, name="request_password_reset")(self._request_reset)
        self.sweep: TaskWrapper = huey.periodic_task(
            crontab(minute=f"*/{SWEEP_EVERY_MINUTES}"), name="sweep")(self._sweep)
        self.certificate_reminders: TaskWrapper = huey.periodic_task(
            crontab(minute="0", hour=str(DAILY_HOUR_UTC)), retries=2, retry_delay=300,
            name="certificate_reminders")(self._reminders)
        self.trainer_digests: TaskWrapper = huey.periodic_task(
            crontab(minute="30", hour=str(DAILY_HOUR_UTC)), retries=2, retry_delay=300,
            name="trainer_digests")(self._digests)
        self._after_commit_jobs = {outbox.DELIVER: self.deliver,
                                   outbox.RENDER_PDF: self.render_pdf}
        event.listen(env.database.sessions, "after_commit", self.after_commit)
        event.listen(env.database.sessions, "after_rollback", outbox.forget_after_commit)

    def after_commit(self, session: Session) -> None:
        if session.in_nested_transaction():
            return  # a savepoint was released: the rows are not committed yet
        for job, ident in outbox.take_after_commit(session):
            try:
                self._after_commit_jobs[job](ident)
            except Exception:  # the rows are committed: the sweep will find them
                log.exception("could not queue %s(%s); the sweep will queue it", job, ident)

    def _deliver(self, message_id: int) -> None:
        delivery.deliver(self.env, message_id)

    def _render_pdf(self, certificate_id: int) -> None:
        delivery.render_pdf(self.env, certificate_id)

    def _request_reset(self, email: str) -> None:
        delivery.request_password_reset(self.env, email)

    def _sweep(self) -> None:
        delivery.sweep(self.env, self.deliver, self.render_pdf)

    def _reminders(self) -> None:
        delivery.certificate_reminders(self.env)

    def _digests(self) -> None:
        delivery.trainer_digests(self.env)
