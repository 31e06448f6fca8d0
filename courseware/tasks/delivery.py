"""Delivering one outbox message, rendering one certificate PDF, and the sweep.

Delivery claims its row first and commits (the lease must be visible to every other worker
before the slow part starts), sends outside any transaction, then records the outcome: a
task is otherwise one transaction. A failure is written down (attempt count, error, when to
retry) and retried with exponential backoff through huey (`RetryTask`); a refusal that
retrying cannot change (an SMTP 5xx), or a message still failing `MAIL_GIVE_UP_HOURS` after
it was recorded, is marked failed for the admins' delivery log.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from huey import RetryTask

from courseware.domain import clock
from courseware.domain.delivery import gives_up, retry_delay
from courseware.domain.statuses import Channel
from courseware.infra.mail import describe_error, is_permanent
from courseware.models import Certificate
from courseware.services import account_email, certificates, outbox, reminders
from courseware.tasks.environment import JobEnvironment
from courseware.tasks.mail import compose
from courseware.tasks.webhooks import send_webhook

log = logging.getLogger("courseware.jobs")


def deliver(env: JobEnvironment, message_id: int) -> None:
    settings = env.settings
    with env.database.session() as session:
        claimed = outbox.claim(session, message_id, clock.utcnow(), settings.lease)
        session.commit()
    if claimed is None:  # sent already, failed for good, or another worker holds it
        return
    if claimed.channel is Channel.WEBHOOK:
        send_webhook(env, claimed)  # its own attempt log, schedule and disable rule
        return
    try:
        env.sender.send(compose(env, claimed))
    except Exception as exc:
        now = clock.utcnow()
        error = describe_error(exc)
        final = is_permanent(exc) or gives_up(claimed.created_at, now, settings.give_up)
        delay = retry_delay(claimed.attempts, settings.retry_delay, settings.retry_max)
        with env.database.session() as session:
            outbox.mark_failed(session, claimed, error,
                               retry_at=None if final else now + timedelta(seconds=delay))
            session.commit()
        if final:
            log.warning("message %s (%s) failed for good after %s attempts: %s",
                        claimed.id, claimed.kind, claimed.attempts, error)
            return
        log.info("message %s (%s), attempt %s failed (%s); retrying in %.0f s",
                 claimed.id, claimed.kind, claimed.attempts, error, delay)
        raise RetryTask(delay=delay) from exc
    with env.database.session() as session:
        if not outbox.mark_sent(session, claimed, clock.utcnow()):
            log.warning("message %s was sent after its lease ran out", claimed.id)
        session.commit()
    log.info("message %s (%s) sent, attempt %s", claimed.id, claimed.kind, claimed.attempts)


def render_pdf(env: JobEnvironment, certificate_id: int) -> None:
    """Render and keep a certificate's PDF (unless it has one): outside any transaction, then
    one short write."""
    with env.database.session(write=False) as session:
        cert = session.get(Certificate, certificate_id)
        if cert is None or cert.pdf_sha256 is not None:
            return
        pdf = certificates.render_pdf(cert, env.settings.issue)
    with env.database.session() as session:
        certificates.store_pdf(session, certificate_id, pdf)
        session.commit()


def request_password_reset(env: JobEnvironment, email: str) -> None:
    with env.database.session() as session:
        account_email.request_reset(session, email, clock.utcnow())
        session.commit()


def certificate_reminders(env: JobEnvironment) -> int:
    with env.database.session() as session:
        recorded = reminders.certificate_reminders(session, clock.utcnow())
        session.commit()
    return recorded


def trainer_digests(env: JobEnvironment) -> int:
    with env.database.session() as session:
        recorded = reminders.trainer_digests(session, clock.utcnow())
        session.commit()
    return recorded


@dataclass(frozen=True)
class Swept:
    messages: list[int]
    certificates: list[int]


def sweep(env: JobEnvironment, queue_delivery: Callable[[int], object],
          queue_pdf: Callable[[int], object]) -> Swept:
    """Queue again what should have been done by now: messages still pending a few minutes
    after they were due, or held past their lease by a worker that died; certificates of the
    last two days still without their PDF."""
    now = clock.utcnow()
    after = env.settings.sweep_after
    with env.database.session(write=False) as session:
        messages = outbox.overdue(session, now, after)
        pdfs = certificates.without_pdf(session, issued_before=now - after,
                                        since=now - timedelta(days=2))
    for message_id in messages:
        queue_delivery(message_id)
    for certificate_id in pdfs:
        queue_pdf(certificate_id)
    if messages or pdfs:
        log.info("sweep: queued %s messages and %s PDFs again", len(messages), len(pdfs))
    return Swept(messages, pdfs)
