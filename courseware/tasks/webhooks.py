"""Delivering one webhook: check the address, sign, POST, record the attempt, retry or give up.

`courseware.tasks.delivery.deliver` claims the outbox message (and commits the claim) for every
channel, then hands a webhook here. Nothing is sent inside a transaction. The attempt is signed
with the `standardwebhooks` package (every current secret of the endpoint: two signatures in
the 24 hours after a rotation), sent to an address checked to be public
(courseware.infra.webhook_http), and recorded with its outcome. A failure is retried on the
Standard Webhooks schedule (WEBHOOK_RETRY_SCHEDULE) through huey's RetryTask; when the schedule
is spent, or the endpoint is off or gone, the message is marked failed.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from huey import RetryTask
from standardwebhooks import Webhook

from courseware.domain import clock, ssrf
from courseware.domain import webhooks as rules
from courseware.infra import webhook_http
from courseware.services import outbox, webhooks
from courseware.services.outbox import Claimed
from courseware.tasks.environment import JobEnvironment

log = logging.getLogger("courseware.jobs")


def signature_headers(message_id: str, body: bytes, secrets: list[str],
                      moment: datetime) -> dict[str, str]:
    """The three Standard Webhooks headers of one attempt."""
    return {"webhook-id": message_id,
            "webhook-timestamp": str(int(moment.timestamp())),
            "webhook-signature": " ".join(Webhook(secret).sign(message_id, moment, body)
                                          for secret in secrets)}


def send_webhook(env: JobEnvironment, claimed: Claimed) -> None:
    settings = env.settings
    endpoint_id = webhooks.endpoint_id_of(claimed.recipient)
    started = clock.utcnow()
    with env.database.session(write=False) as session:
        where = webhooks.destination(session, endpoint_id, claimed.kind, started)
    if where.refusal is not None:  # nothing to send to: failed, no attempt made
        with env.database.session() as session:
            outbox.mark_failed(session, claimed, f"not sent: {where.refusal}", retry_at=None)
            session.commit()
        log.info("webhook %s not sent: %s", claimed.id, where.refusal)
        return
    outcome = _attempt(env, claimed, where)
    now = clock.utcnow()
    delivered = rules.delivered(outcome.status)
    delay = None if delivered else rules.retry_after(claimed.attempts,
                                                     settings.webhook_retry_schedule)
    with env.database.session() as session:
        turned_off = webhooks.record_attempt(session, claimed, endpoint_id, outcome, now,
                                             disable_after=settings.webhook_disable_after)
        if delivered:
            outbox.mark_sent(session, claimed, now)
        else:
            final = delay is None or turned_off
            outbox.mark_failed(session, claimed, outcome.error or "failed",
                               retry_at=None if final else now + timedelta(seconds=delay or 0))
        session.commit()
    if delivered:
        log.info("webhook %s (%s) delivered, attempt %s", claimed.id, claimed.kind,
                 claimed.attempts)
        return
    if delay is None or turned_off:
        log.warning("webhook %s (%s) failed for good after %s attempts: %s", claimed.id,
                    claimed.kind, claimed.attempts, outcome.error)
        return
    log.info("webhook %s (%s), attempt %s failed (%s); retrying in %.0f s", claimed.id,
             claimed.kind, claimed.attempts, outcome.error, delay)
    raise RetryTask(delay=delay)


def _attempt(env: JobEnvironment, claimed: Claimed,
             where: webhooks.Destination) -> webhooks.Outcome:
    settings = env.settings
    allow = settings.webhook_allow_http_loopback
    try:
        target = rules.check_url(where.url, allow_http_loopback=allow)
        addresses = webhook_http.checked_addresses(target, allow_loopback=allow)
    except (rules.WebhookUrlError, ssrf.RefusedAddress) as exc:
        return webhooks.Outcome(None, 0, None, f"refused: {exc}"[:500])
    body = webhooks.payload_body(claimed.payload)
    headers = signature_headers(claimed.subject_key, body, where.secrets, clock.utcnow())
    answer = webhook_http.post(target, addresses[0], body, headers, settings.webhook_timeout)
    return webhooks.Outcome(answer.status, answer.duration_ms, answer.excerpt, answer.error)
