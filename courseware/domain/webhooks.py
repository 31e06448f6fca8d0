"""Rules of program webhooks: the event body, the endpoint URL, retries, when to give up.

Deliveries follow the Standard Webhooks specification (https://www.standardwebhooks.com): a
JSON body `{"type", "timestamp", "data"}`, and the headers `webhook-id` (the event id, the same
on every attempt), `webhook-timestamp` (seconds, of the attempt) and `webhook-signature`
(`v1,<base64 HMAC-SHA256>` of `id.timestamp.body` under the endpoint's `whsec_` secret; the
signing itself is the `standardwebhooks` package's).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from courseware.domain import ssrf
from courseware.domain.statuses import SUBSCRIBABLE_EVENTS, WebhookEvent

SECRET_PREFIX = "whsec_"  # noqa: S105 (the format's prefix, not a secret)
SECRET_BYTES = 32  # Standard Webhooks: 24 to 64 bytes
URL_MAX = 2000
DESCRIPTION_MAX = 200
# what is kept of a receiver's answer (its body is theirs, not ours to store)
RESPONSE_EXCERPT_BYTES = 1024
TIMEOUT_SECONDS = 5.0
# Standard Webhooks' suggested schedule: the first attempt at once, then after each failure
# 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h: eight attempts over about 27.6 hours
RETRY_SCHEDULE: tuple[float, ...] = (5, 300, 1800, 7200, 18000, 36000, 36000)
# an endpoint that has failed every attempt for this long is turned off, its program told
DISABLE_AFTER = timedelta(days=3)
# after a rotation the old secret still signs (a second signature) for this long
OLD_SECRET_GRACE = timedelta(hours=24)


class WebhookUrlError(ValueError):
    """A URL an endpoint cannot have; the message is for the person who typed it."""


# --- secrets and ids ------------------------------------------------------------------------------

def new_secret() -> str:
    """A signing secret as Standard Webhooks writes it: `whsec_` + base64 of random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def new_event_id() -> str:
    """A fresh event id (`webhook-id`): `msg_` and 128 random bits."""
    return "msg_" + secrets.token_urlsafe(16)


def event_id_for(event: WebhookEvent, code: str) -> str:
    """The event id of something that happens once per certificate (expiring, expired,
    renewed): the same every time the daily sweep finds it, so it is recorded once per
    endpoint however often the sweep runs."""
    digest = hashlib.sha256(f"{event.value}\n{code}".encode()).digest()[:16]
    return "msg_" + base64.urlsafe_b64encode(digest).decode().rstrip("=")


# --- the body -------------------------------------------------------------------------------------

def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class CertificateFacts:
    """What a program is told about a certificate: never a name, an email or an internal note."""

    code: str
    status: str
    eligible: bool
    reason: str | None  # the *public* reason code (PublicReason), or None
    previous_code: str | None = None  # a renewal: the certificate it renews


def body(event: WebhookEvent, facts: CertificateFacts, occurred_at: datetime) -> str:
    """The JSON body, as bytes are sent (compact, keys in a fixed order)."""
    data: dict[str, object] = {"code": facts.code, "status": facts.status,
                               "eligible": facts.eligible, "reason": facts.reason,
                               "occurred_at": iso(occurred_at)}
    if facts.previous_code is not None:
        data["previous_code"] = facts.previous_code
    return json.dumps({"type": event.value, "timestamp": iso(occurred_at), "data": data},
                      separators=(",", ":"))


def test_body(endpoint_id: int, occurred_at: datetime) -> str:
    """The body of "send a test event": the same shape, no certificate."""
    return json.dumps({"type": WebhookEvent.TEST.value, "timestamp": iso(occurred_at),
                       "data": {"endpoint": endpoint_id, "occurred_at": iso(occurred_at)}},
                      separators=(",", ":"))


# --- subscriptions --------------------------------------------------------------------------------

def parse_events(values: list[str] | str) -> tuple[WebhookEvent, ...]:
    """The events chosen (a list, or the stored space-separated text), known ones only, in the
    canonical order; refuses an empty choice or an unknown name."""
    names = values.split() if isinstance(values, str) else values
    chosen = set()
    for name in names:
        try:
            event = WebhookEvent(name)
        except ValueError:
            raise WebhookUrlError(f"There is no event called {name!r}.") from None
        if event not in SUBSCRIBABLE_EVENTS:
            raise WebhookUrlError(f"{name} cannot be subscribed to.")
        chosen.add(event)
    if not chosen:
        raise WebhookUrlError("Choose at least one event.")
    return tuple(e for e in SUBSCRIBABLE_EVENTS if e in chosen)


def events_text(events: tuple[WebhookEvent, ...]) -> str:
    return " ".join(e.value for e in events)


# --- the URL --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Target:
    """Where to connect: the scheme, the host name (for the Host header and TLS), the port and
    the path with its query."""

    scheme: str
    host: str
    port: int
    path: str

    @property
    def literal_address(self) -> ssrf.Address | None:
        try:
            return ssrf.parse(self.host)
        except ValueError:
            return None


def check_url(url: str, *, allow_http_loopback: bool = False) -> Target:
    """An endpoint URL, or WebhookUrlError saying what is wrong with it.

    `https://` only, with a host name or a public address, no user name or password in it, no
    fragment. `allow_http_loopback` (the test setting WEBHOOK_ALLOW_HTTP_LOOPBACK) also allows
    `http://` to a literal loopback address (127.0.0.1, [::1]) and nothing else."""
    url = url.strip()
    if not url:
        raise WebhookUrlError("Enter the URL of your endpoint.")
    if len(url) > URL_MAX:
        raise WebhookUrlError(f"Keep the URL under {URL_MAX} characters.")
    if any(not c.isprintable() or c.isspace() for c in url):
        raise WebhookUrlError("The URL contains spaces or characters that cannot be sent.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise WebhookUrlError("This is not a URL we can send to.") from None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    if scheme not in ("https", "http"):
        raise WebhookUrlError("The URL must start with https://.")
    if not host:
        raise WebhookUrlError("The URL must name a host, as in https://example.org/hooks.")
    if parts.username is not None or parts.password is not None:
        raise WebhookUrlError("Leave the user name and password out of the URL: the signature "
                              "proves who sent each delivery.")
    if parts.fragment:
        raise WebhookUrlError("Leave the #fragment out of the URL: it is never sent.")
    target = Target(scheme, host, port or (443 if scheme == "https" else 80),
                    (parts.path or "/") + (f"?{parts.query}" if parts.query else ""))
    literal = target.literal_address
    loopback_literal = literal is not None and any(
        literal in net for net in ssrf.LOOPBACK_NETWORKS if net.version == literal.version)
    if scheme == "http" and not (allow_http_loopback and loopback_literal):
        raise WebhookUrlError("The URL must start with https://: deliveries are never sent "
                              "unencrypted.")
    if literal is not None:
        reason = ssrf.why_refused(literal, allow_loopback=allow_http_loopback)
        if reason is not None:
            raise WebhookUrlError(f"Deliveries go to public addresses only: {reason}.")
    elif host.lower() == "localhost" or host.lower().endswith((".localhost", ".local",
                                                               ".internal")):
        raise WebhookUrlError("Deliveries go to public addresses only: "
                              f"{host} is a local name.")
    return target


# --- retries and giving up ------------------------------------------------------------------------

def retry_after(attempts: int, schedule: tuple[float, ...] = RETRY_SCHEDULE) -> float | None:
    """Seconds to wait after the `attempts`-th failed attempt, or None: the schedule is spent
    (the delivery is marked failed)."""
    if attempts < 1:
        raise ValueError("attempts counts from 1")
    return schedule[attempts - 1] if attempts <= len(schedule) else None


def parse_schedule(text: str) -> tuple[float, ...]:
    """WEBHOOK_RETRY_SCHEDULE: seconds after each failed attempt, comma-separated."""
    try:
        delays = tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise ValueError(f"WEBHOOK_RETRY_SCHEDULE must be seconds separated by commas, "
                         f"not {text!r}") from None
    if not delays or any(d < 0 for d in delays):
        raise ValueError("WEBHOOK_RETRY_SCHEDULE needs at least one delay, none negative")
    return delays


def should_disable(failing_since: datetime | None, now: datetime,
                   after: timedelta = DISABLE_AFTER) -> bool:
    """An endpoint whose every attempt has failed since `failing_since` is turned off once
    that has lasted `after` (three days): deliveries to it stop, its program is mailed."""
    return failing_since is not None and now - failing_since >= after


def delivered(status: int | None) -> bool:
    """A 2xx answer is a delivery; anything else (a redirect included: none is followed)
    is a failure."""
    return status is not None and 200 <= status < 300


def excerpt(raw: bytes, limit: int = RESPONSE_EXCERPT_BYTES) -> str:
    """At most `limit` bytes of a response body, as text (undecodable bytes replaced)."""
    return raw[:limit].decode("utf-8", errors="replace")
