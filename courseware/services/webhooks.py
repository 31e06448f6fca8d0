"""Programs' webhook endpoints, the events fanned out to them, and their delivery log.

Every function that reads or changes an endpoint takes the program's id and looks the endpoint
up *within* that program: another program's endpoint is simply not found. (The program staff's
pages and, later, the API's `webhooks` scope call the same functions.)

Events are recorded in the transaction of their cause, as outbox messages (channel `webhook`,
recipient `webhook:<endpoint id>`, subject key the event id): one per endpoint and event, so a
retry, a race or a second sweep never doubles one. The body is built once per event and sealed
in the payload; the job (courseware.tasks.webhooks) signs and sends it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import exists, literal, select, update
from sqlalchemy.orm import Session

from courseware.domain import certify, ssrf
from courseware.domain import webhooks as rules
from courseware.domain.reminders import EXPIRED_NOTICE_WITHIN, SOON
from courseware.domain.statuses import (
    CertificateChange,
    CertificateStatus,
    Channel,
    MessageKind,
    ProgramStatus,
    WebhookEvent,
)
from courseware.models import (
    Certificate,
    OutboxMessage,
    Program,
    RosterEntry,
    User,
    WebhookAttempt,
    WebhookEndpoint,
)
from courseware.services import audit, catalogue, outbox
from courseware.services.pages import Page, page_of
from courseware.services.sql import rows_updated

RECIPIENT_PREFIX = "webhook:"
ENDPOINTS_PER_PROGRAM = 20

# resolves a host name to its addresses (courseware.infra.webhook_http.resolve); a test may
# pass its own, and None skips the look-up (the delivery job checks again before each attempt)
Resolver = Callable[[str, int], list[ssrf.Address]]


class EndpointError(ValueError):
    """A request about an endpoint that cannot be done; the message is safe to show, `field`
    names the form field it concerns (or None)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def recipient(endpoint_id: int) -> str:
    return f"{RECIPIENT_PREFIX}{endpoint_id}"


def endpoint_id_of(recipient_text: str) -> int:
    if not recipient_text.startswith(RECIPIENT_PREFIX):
        raise ValueError(f"{recipient_text!r} is not a webhook recipient")
    return int(recipient_text[len(RECIPIENT_PREFIX):])


# --- endpoints ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Created:
    endpoint: WebhookEndpoint
    secret: str  # shown once, never again


def check_target(url: str, *, allow_http_loopback: bool,
                 resolver: Resolver | None) -> rules.Target:
    """The URL's rules, then (with a resolver) every address its host has now."""
    try:
        target = rules.check_url(url, allow_http_loopback=allow_http_loopback)
        if resolver is not None and target.literal_address is None:
            ssrf.check_all(resolver(target.host, target.port),
                           allow_loopback=allow_http_loopback)
    except ssrf.Unresolvable:
        raise EndpointError(f"We could not find the host of this URL ({target.host}): check "
                            "its spelling.", "url") from None
    except ssrf.RefusedAddress as exc:
        raise EndpointError(f"Deliveries go to public addresses only: {exc}.", "url") from None
    except rules.WebhookUrlError as exc:
        raise EndpointError(str(exc), "url") from None
    return target


def create(session: Session, program_id: int, actor: audit.Actor, *, url: str, events: list[str],
           description: str, now: datetime, allow_http_loopback: bool = False,
           resolver: Resolver | None = None) -> Created:
    check_target(url, allow_http_loopback=allow_http_loopback, resolver=None)
    try:
        chosen = rules.parse_events(events)
    except rules.WebhookUrlError as exc:
        raise EndpointError(str(exc), "events") from None
    description = " ".join(description.split())
    if len(description) > rules.DESCRIPTION_MAX:
        raise EndpointError(f"Keep the description under {rules.DESCRIPTION_MAX} characters.",
                            "description")
    # the name's addresses last: the one check that asks the network
    check_target(url, allow_http_loopback=allow_http_loopback, resolver=resolver)
    count = len(endpoints(session, program_id))
    if count >= ENDPOINTS_PER_PROGRAM:
        raise EndpointError(f"A program may have at most {ENDPOINTS_PER_PROGRAM} endpoints: "
                            "delete one first.", "url")
    secret = rules.new_secret()
    endpoint = WebhookEndpoint(
        program_id=program_id, url=url.strip(), description=description or None,
        events=rules.events_text(chosen), secret=_seal(session, secret), created_at=now,
        created_by_id=audit.actor_id(actor), enabled=True)
    session.add(endpoint)
    session.flush()  # its id, for the audit event
    _audit(session, actor, "webhook.create", endpoint,
           {"url": endpoint.url, "events": endpoint.events})
    return Created(endpoint, secret)


def endpoints(session: Session, program_id: int) -> list[WebhookEndpoint]:
    """The program's endpoints (deleted ones are gone), oldest first."""
    return list(session.scalars(
        select(WebhookEndpoint).where(WebhookEndpoint.program_id == program_id,
                                      WebhookEndpoint.deleted_at.is_(None))
        .order_by(WebhookEndpoint.id)))


def endpoint(session: Session, program_id: int, endpoint_id: int) -> WebhookEndpoint | None:
    """One endpoint of this program, or None (another program's, deleted, or no such)."""
    return session.scalar(
        select(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id,
                                      WebhookEndpoint.program_id == program_id,
                                      WebhookEndpoint.deleted_at.is_(None)))


def rotate_secret(session: Session, found: WebhookEndpoint, actor: audit.Actor,
                  now: datetime) -> str:
    """A new secret (returned, to show once); the old one still signs, as a second signature,
    for 24 hours, so the receiver can switch without losing a delivery."""
    secret = rules.new_secret()
    found.previous_secret, found.previous_secret_until = found.secret, now + rules.OLD_SECRET_GRACE
    found.secret = _seal(session, secret)
    session.flush()
    _audit(session, actor, "webhook.rotate_secret", found, {})
    return secret


def set_enabled(session: Session, found: WebhookEndpoint, enabled: bool, actor: audit.Actor,
                now: datetime) -> None:
    """Turn deliveries on or off. Turning on starts afresh (no failure is held against it)."""
    if found.enabled == enabled:
        return
    found.enabled = enabled
    if enabled:
        found.disabled_at = found.disabled_reason = found.failing_since = None
    else:
        who = actor.name if isinstance(actor, User) else audit.actor_label(actor)
        found.disabled_at, found.disabled_reason = now, f"Turned off by {who}"
    session.flush()
    _audit(session, actor, "webhook.enable" if enabled else "webhook.disable", found, {})


def delete(session: Session, found: WebhookEndpoint, actor: audit.Actor, now: datetime) -> None:
    """Gone for its program: nothing more is sent to it (its log stays for the record)."""
    found.deleted_at = now
    found.enabled = False
    found.disabled_at = found.disabled_at or now
    found.disabled_reason = found.disabled_reason or "Deleted"
    session.flush()
    _audit(session, actor, "webhook.delete", found, {"url": found.url})


def _audit(session: Session, actor: audit.Actor, action: str, found: WebhookEndpoint,
           details: dict[str, object]) -> None:
    audit.record(session, actor=actor, action=action, target_type="webhook_endpoint",
                 target_id=found.id, target_label=found.url[:200],
                 details={"program_id": found.program_id, **details})


def _seal(session: Session, secret: str) -> str:
    sealer: outbox.Sealer | None = session.info.get(outbox.SEALER_INFO)
    if sealer is None:
        raise outbox.OutboxError("this session has no sealer: make it from the app's Database")
    return sealer.seal(secret.encode())


def signing_secrets(session: Session, found: WebhookEndpoint, now: datetime) -> list[str]:
    """The secrets that sign a delivery now: the current one, and the previous one during the
    24 hours after a rotation."""
    sealer: outbox.Sealer = session.info[outbox.SEALER_INFO]
    keys = [sealer.unseal(found.secret).decode()]
    if found.previous_secret and found.previous_secret_until and now < found.previous_secret_until:
        keys.append(sealer.unseal(found.previous_secret).decode())
    return keys


# --- events ---------------------------------------------------------------------------------------

def facts(session: Session, cert: Certificate, now: datetime,
          previous_code: str | None = None) -> rules.CertificateFacts:
    """What the event says about the certificate at `now`: its status and eligibility, and the
    public reason code of a suspension or revocation (never the internal note)."""
    status = certify.status(now=now, expires_at=cert.expires_at, revoked_at=cert.revoked_at,
                            suspended_at=cert.suspended_at)
    grants = catalogue.track_facts(session, cert.track_id, cert.track_version_id)[2]
    reason = None
    if status is CertificateStatus.REVOKED:
        reason = cert.revocation_public_reason
    elif cert.suspended_at is not None and status is CertificateStatus.SUSPENDED:
        reason = cert.suspension_public_reason
    return rules.CertificateFacts(cert.code, status.value, certify.eligible(status, grants),
                                  str(reason) if reason else None, previous_code)


def subscribers(session: Session, certificate_id: int, event: WebhookEvent) -> list[int]:
    """Every enabled endpoint, of every active program following the certificate, subscribed
    to the event: one statement."""
    padded = literal(" ") + WebhookEndpoint.events + literal(" ")
    return list(session.scalars(
        select(WebhookEndpoint.id)
        .join(RosterEntry, RosterEntry.program_id == WebhookEndpoint.program_id)
        .join(Program, Program.id == WebhookEndpoint.program_id)
        .where(RosterEntry.certificate_id == certificate_id, WebhookEndpoint.enabled,
               WebhookEndpoint.deleted_at.is_(None), Program.status == ProgramStatus.ACTIVE,
               padded.contains(f" {event.value} ", autoescape=True))
        .order_by(WebhookEndpoint.id)))


def fan_out(session: Session, event: WebhookEvent, cert: Certificate, now: datetime, *,
            event_id: str | None = None, previous_code: str | None = None) -> list[int]:
    """Record the event for every endpoint that wants it (the outbox rows' ids)."""
    targets = subscribers(session, cert.id, event)
    if not targets:
        return []
    ident = event_id or rules.new_event_id()
    body = rules.body(event, facts(session, cert, now, previous_code), now)
    return outbox.add_many(session, kind=event.message_kind,
                           recipients=[recipient(t) for t in targets], subject_key=ident,
                           payload={"type": event.value, "body": body, "code": cert.code},
                           now=now, channel=Channel.WEBHOOK)


CHANGE_EVENTS = {CertificateChange.SUSPEND: WebhookEvent.SUSPENDED,
                 CertificateChange.REINSTATE: WebhookEvent.REINSTATED,
                 CertificateChange.REVOKE: WebhookEvent.REVOKED}


def certificate_changed(session: Session, cert: Certificate, change: CertificateChange,
                        now: datetime) -> list[int]:
    """Suspended, reinstated or revoked (services.certificates.change_state calls this in its
    transaction). A revocation happens once: its event id is the certificate's."""
    event = CHANGE_EVENTS[change]
    ident = rules.event_id_for(event, cert.code) if event is WebhookEvent.REVOKED else None
    return fan_out(session, event, cert, now, event_id=ident)


def certificate_renewed(session: Session, new: Certificate, previous: Certificate,
                        now: datetime) -> list[int]:
    """A renewal was issued: every program following the previous certificate follows the new
    one (its roster entry moves; where it follows both already, the old entry goes), and is
    told, with both codes."""
    already = select(RosterEntry.program_id).where(RosterEntry.certificate_id == new.id)
    session.execute(update(RosterEntry)
                    .where(RosterEntry.certificate_id == previous.id,
                           RosterEntry.program_id.not_in(already))
                    .values(certificate_id=new.id)
                    .execution_options(synchronize_session=False))
    for entry in session.scalars(select(RosterEntry)
                                 .where(RosterEntry.certificate_id == previous.id)):
        session.delete(entry)
    session.flush()
    return fan_out(session, WebhookEvent.RENEWED, new, now,
                   event_id=rules.event_id_for(WebhookEvent.RENEWED, new.code),
                   previous_code=previous.code)


def expiry_events(session: Session, now: datetime) -> int:
    """The daily sweep's events (recorded beside its reminders, in its transaction):
    `certificate.expiring` within 30 days of expiry, `certificate.expired` once it has passed
    (up to a week late), for rostered certificates that are not revoked or renewed. Each has
    one event id per certificate, so a second run records nothing new. How many rows."""
    renewed = select(Certificate.previous_id).where(Certificate.previous_id.is_not(None))
    rostered = exists().where(RosterEntry.certificate_id == Certificate.id)
    recorded = 0
    for cert in session.scalars(
            select(Certificate)
            .where(rostered, Certificate.revoked_at.is_(None),
                   Certificate.expires_at > now - EXPIRED_NOTICE_WITHIN,
                   Certificate.expires_at <= now + SOON, Certificate.id.not_in(renewed))
            .order_by(Certificate.id)):
        event = WebhookEvent.EXPIRED if now >= cert.expires_at else WebhookEvent.EXPIRING
        recorded += len(fan_out(session, event, cert, now,
                                event_id=rules.event_id_for(event, cert.code)))
    return recorded


def send_test(session: Session, found: WebhookEndpoint, now: datetime) -> int:
    """"Send a test event": a `webhook.test` delivery of its own (sent even while the endpoint
    is turned off, to check it before turning it on)."""
    ident = rules.new_event_id()
    made = outbox.add(session, kind=MessageKind.WEBHOOK_TEST, recipient=recipient(found.id),
                      subject_key=ident, now=now, channel=Channel.WEBHOOK,
                      payload={"type": WebhookEvent.TEST.value,
                               "body": rules.test_body(found.id, now), "code": None})
    assert made is not None, "a fresh event id was recorded before"
    return made.id


def send_again(session: Session, found: WebhookEndpoint, message_id: int, now: datetime) -> None:
    """Deliver an event of this endpoint's log again: the same event id and body, a new
    attempt. Refused while it is still waiting or being sent."""
    message = session.scalar(select(OutboxMessage).where(
        OutboxMessage.id == message_id, OutboxMessage.recipient == recipient(found.id)))
    if message is None:
        raise LookupError(message_id)
    if not outbox.requeue(session, message.id, now):
        raise EndpointError("This event is already waiting to be sent.")


# --- what the job records -------------------------------------------------------------------------

@dataclass(frozen=True)
class Destination:
    """What the delivery job needs to send one message to one endpoint."""

    endpoint_id: int
    url: str
    secrets: list[str]
    refusal: str | None  # why nothing may be sent (turned off, deleted), or None


def destination(session: Session, endpoint_id: int, kind: MessageKind,
                now: datetime) -> Destination:
    found = session.get(WebhookEndpoint, endpoint_id)
    if found is None or found.deleted_at is not None:
        return Destination(endpoint_id, "", [], "the endpoint was deleted")
    if not found.enabled and kind is not MessageKind.WEBHOOK_TEST:
        return Destination(endpoint_id, found.url, [], "the endpoint is turned off")
    return Destination(endpoint_id, found.url, signing_secrets(session, found, now), None)


@dataclass(frozen=True)
class Outcome:
    status: int | None
    duration_ms: int
    excerpt: str | None
    error: str | None


def record_attempt(session: Session, claimed: outbox.Claimed, endpoint_id: int,
                   outcome: Outcome, now: datetime, *, disable_after: timedelta) -> bool:
    """Log one attempt and what it says about the endpoint: a delivery clears its failures; a
    failure starts (or continues) them, and an endpoint failing for `disable_after` is turned
    off and its program mailed. True when this attempt turned it off."""
    delivered = rules.delivered(outcome.status)
    session.add(WebhookAttempt(
        message_id=claimed.id, endpoint_id=endpoint_id, kind=claimed.kind,
        event_id=claimed.subject_key[:64], attempt=claimed.attempts, attempted_at=now,
        response_status=outcome.status, duration_ms=outcome.duration_ms,
        error=(outcome.error or None) and str(outcome.error)[:500],
        response_excerpt=outcome.excerpt))
    found = session.get(WebhookEndpoint, endpoint_id)
    if found is None:
        return False
    found.last_attempt_at, found.last_status = now, outcome.status
    if delivered:
        found.failing_since = None
        session.flush()
        return False
    found.failing_since = found.failing_since or now
    turned_off = False
    if found.enabled and rules.should_disable(found.failing_since, now, disable_after):
        # a guarded write: two workers failing at once turn it off (and mail) once
        turned_off = rows_updated(session, update(WebhookEndpoint)
                                  .where(WebhookEndpoint.id == found.id, WebhookEndpoint.enabled)
                                  .values(enabled=False, disabled_at=now,
                                          disabled_reason="Every delivery failed for "
                                          f"{_days(disable_after)}")
                                  .execution_options(synchronize_session=False)) == 1
        if turned_off:
            _disabled_mail(session, found, now, outcome.error)
    session.flush()
    return turned_off


def _days(span: timedelta) -> str:
    hours = span.total_seconds() / 3600
    return f"{hours / 24:g} days" if hours >= 24 else f"{hours:g} hours"


def _disabled_mail(session: Session, found: WebhookEndpoint, now: datetime,
                   error: str | None) -> None:
    program = session.get(Program, found.program_id)
    assert program is not None
    outbox.add(session, kind=MessageKind.WEBHOOK_DISABLED, recipient=program.contact_email,
               subject_key=f"webhook:{found.id}:{now.isoformat()}", now=now, payload={
                   "name": program.name, "endpoint_id": found.id, "url": found.url,
                   "failing_since": (found.failing_since or now).isoformat(),
                   "last_error": error})


# --- the delivery log -----------------------------------------------------------------------------

@dataclass(frozen=True)
class LogEntry:
    """One event sent to an endpoint, with every attempt at it (newest first)."""

    message: OutboxMessage
    event: str
    attempts: list[WebhookAttempt]

    @property
    def last(self) -> WebhookAttempt | None:
        return self.attempts[0] if self.attempts else None


def delivery_log(session: Session, found: WebhookEndpoint, page: int) -> Page[LogEntry]:
    """The endpoint's events, newest first, 50 a page: two statements a page."""
    messages = page_of(session, select(OutboxMessage)
                       .where(OutboxMessage.recipient == recipient(found.id))
                       .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc()),
                       page)
    ids = [m.id for m in messages.items]
    by_message: dict[int, list[WebhookAttempt]] = {i: [] for i in ids}
    for attempt in session.scalars(select(WebhookAttempt)
                                   .where(WebhookAttempt.message_id.in_(ids))
                                   .order_by(WebhookAttempt.id.desc())):
        by_message[attempt.message_id].append(attempt)
    entries = [LogEntry(m, event_name(m.kind), by_message[m.id]) for m in messages.items]
    return Page(entries, messages.number, messages.more)


def event_name(kind: MessageKind) -> str:
    """The event a webhook message kind carries (`webhook.certificate.revoked` ->
    `certificate.revoked`)."""
    text = kind.value
    return text[len("webhook."):] if text.startswith("webhook.certificate.") else text


def payload_body(payload: dict[str, object]) -> bytes:
    """The exact bytes to send and sign, from an outbox payload."""
    text = payload.get("body")
    if not isinstance(text, str):
        raise ValueError("a webhook payload without a body")
    json.loads(text)  # it is JSON, or this raises
    return text.encode()
