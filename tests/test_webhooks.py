"""Program webhooks with real parts: a real HTTP receiver on loopback that verifies every
delivery with the `standardwebhooks` package, real huey consumers, the program staff's pages.

(The test setting WEBHOOK_ALLOW_HTTP_LOOPBACK lets deliveries reach http://127.0.0.1; the SSRF
tests run without it.)
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from huey import RetryTask
from sqlalchemy import select
from standardwebhooks import Webhook
from werkzeug.exceptions import NotFound

from courseware.domain import clock
from courseware.domain import webhooks as rules
from courseware.domain.statuses import (
    CertificateChange,
    DeliveryStatus,
    MessageKind,
    ProgramStatus,
    PublicReason,
    Role,
    WebhookEvent,
)
from courseware.infra import webhook_http
from courseware.infra.config import UnsafeSetting, build_config
from courseware.models import (
    AuditEvent,
    Certificate,
    OutboxMessage,
    Program,
    RosterEntry,
    User,
    WebhookAttempt,
    WebhookEndpoint,
)
from courseware.services import certificates, outbox
from courseware.services.audit import COMMAND_LINE
from courseware.tasks.jobs import Tasks
from courseware.tasks.mail import compose
from tests.conftest import PASSWORD, Auth, make_app
from tests.factories import Factory
from tests.mailing import consumer, recorded, wait_until

ALL_EVENTS = [e.value for e in WebhookEvent if e is not WebhookEvent.TEST]


# --- a real receiver ----------------------------------------------------------------------------

@dataclass
class Delivery:
    headers: dict[str, str]
    body: bytes
    verified: dict[str, Any] | None  # the parsed body when the signature verified


@dataclass
class Receiver:
    """An HTTP server on loopback. Each request is verified with the secrets it was given;
    `answers` is what it says to the next requests (status, seconds to wait, body), then 200."""

    secrets: list[str] = field(default_factory=list)
    answers: list[tuple[int, float, bytes, dict[str, str]]] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                verified = None
                for secret in receiver.secrets:
                    try:
                        verified = Webhook(secret).verify(body, headers)
                        break
                    except Exception:  # noqa: S112 (try the next secret)
                        continue
                with receiver.lock:
                    receiver.deliveries.append(Delivery(headers, body, verified))
                    status, wait, answer, extra = (receiver.answers.pop(0) if receiver.answers
                                                   else (200, 0.0, b"ok", {}))
                if wait:
                    time.sleep(wait)
                try:
                    self.send_response(status)
                    for name, value in extra.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                except OSError:  # the sender gave up waiting
                    pass

            def log_message(self, *args: object) -> None:
                """Quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def received(self) -> list[Delivery]:
        with self.lock:
            return list(self.deliveries)

    def wait_for(self, count: int, timeout: float = 15) -> list[Delivery]:
        return wait_until(lambda: len(self.received()) >= count and self.received(), timeout,
                          f"{count} deliveries")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver().start()
    yield running
    running.stop()


HOOK_SETTINGS = {"WEBHOOK_ALLOW_HTTP_LOOPBACK": True, "WEBHOOK_RETRY_SCHEDULE": "0.2,0.2",
                 "WEBHOOK_TIMEOUT_SECONDS": 2}


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Flask:
    return make_app(database_url, tmp_path, **HOOK_SETTINGS)


def jobs_of(app: Flask) -> Tasks:
    tasks: Tasks = app.extensions["courseware.jobs"]
    return tasks


# --- programs, staff, rosters (built directly: tests/factories.py gains them at merge) --------

@dataclass
class Staff:
    program_id: int
    user: User
    contact: str
    client: FlaskClient


class Programs:
    def __init__(self, app: Flask) -> None:
        self.app = app
        self.factory = Factory(app)
        self.count = 0

    def __call__(self, name: str | None = None) -> Staff:
        self.count += 1
        n = self.count
        contact = f"hooks{n}@program{n}.example"
        with self.factory.session() as s:
            program = Program(name=name or f"Program {n}", contact_email=contact, country="US",
                              status=ProgramStatus.ACTIVE, decided_at=clock.utcnow())
            s.add(program)
            s.flush()
            program_id = program.id
        user = self.factory.user(email=f"staff{n}@program{n}.example", name=f"Staff {n}")
        with self.factory.session() as s:
            account = s.get(User, user.id)
            assert account is not None
            account.role, account.program_id = Role.PROGRAM, program_id
        client = self.app.test_client()
        assert Auth(client).login(user.email, PASSWORD).status_code == 302
        return Staff(program_id, user, contact, client)

    def follow(self, staff: Staff, cert: Certificate) -> None:
        with self.factory.session() as s:
            s.add(RosterEntry(program_id=staff.program_id, certificate_id=cert.id))


@pytest.fixture
def programs(app: Flask) -> Programs:
    return Programs(app)


SECRET = re.compile(r'<code id="secret">(whsec_[A-Za-z0-9+/=]+)</code>')


def add_endpoint(staff: Staff, url: str, events: list[str] | None = None,
                 description: str = "") -> tuple[int, str]:
    """Add an endpoint through the page; its id and the secret shown (once)."""
    response = staff.client.post("/program/webhooks/new", data={
        "url": url, "events": events or ALL_EVENTS, "description": description})
    page = response.get_data(as_text=True)
    assert response.status_code == 200, page
    assert response.headers["Cache-Control"] == "no-store"
    found = SECRET.search(page)
    assert found, page
    ids = re.findall(r'/program/webhooks/(\d+)"', page)
    return int(ids[0]), found.group(1)


def change(app: Flask, cert: Certificate, what: CertificateChange, note: str = "Internal note",
           public_reason: PublicReason | None = None) -> None:
    with Factory(app).session() as s:
        held = s.get(Certificate, cert.id)
        assert held is not None
        certificates.change_state(s, COMMAND_LINE, held, what, note, clock.utcnow(),
                                  public_reason=public_reason)


def messages(app: Flask, endpoint_id: int | None = None) -> list[OutboxMessage]:
    with app.app_context(), app.extensions["courseware.db"].session(write=False) as s:
        statement = select(OutboxMessage).order_by(OutboxMessage.id)
        if endpoint_id is not None:
            statement = statement.where(OutboxMessage.recipient == f"webhook:{endpoint_id}")
        rows = list(s.scalars(statement))
        s.expunge_all()
        return rows


def attempts(app: Flask, endpoint_id: int) -> list[WebhookAttempt]:
    with app.app_context(), app.extensions["courseware.db"].session(write=False) as s:
        rows = list(s.scalars(select(WebhookAttempt).where(WebhookAttempt.endpoint_id ==
                                                           endpoint_id)
                              .order_by(WebhookAttempt.id)))
        s.expunge_all()
        return rows


def endpoint_row(app: Flask, endpoint_id: int) -> WebhookEndpoint:
    with app.app_context(), app.extensions["courseware.db"].session(write=False) as s:
        row = s.get(WebhookEndpoint, endpoint_id)
        assert row is not None
        s.expunge(row)
        return row


def status_of(app: Flask, message_id: int) -> DeliveryStatus:
    [row] = [m for m in messages(app) if m.id == message_id]
    return row.status


# --- end to end ---------------------------------------------------------------------------------

def test_revoking_a_rostered_certificate_delivers_exactly_one_signed_revoked_event(
        app: Flask, programs: Programs, receiver: Receiver) -> None:
    factory = Factory(app)
    cert = factory.manual_certificate(factory.user(email="mentor@x.org"))
    following, other_events, not_following = programs(), programs(), programs()
    endpoint_id, secret = add_endpoint(following, receiver.url, ["certificate.revoked"])
    receiver.secrets.append(secret)
    add_endpoint(other_events, receiver.url, ["certificate.suspended"])
    add_endpoint(not_following, receiver.url)
    programs.follow(following, cert)
    programs.follow(other_events, cert)
    with consumer(app):
        change(app, cert, CertificateChange.REVOKE, "Complaint from a named mentee",
               PublicReason.CONDUCT_REVIEW)
        [delivery] = receiver.wait_for(1)
        wait_until(lambda: attempts(app, endpoint_id), what="the attempt recorded")
        # a duplicate job for the same message sends nothing more
        jobs_of(app).deliver(messages(app, endpoint_id)[0].id)
        time.sleep(0.5)
    assert len(receiver.received()) == 1
    assert delivery.verified is not None, "the signature did not verify"
    assert delivery.verified == json.loads(delivery.body)
    body = delivery.verified
    assert body["type"] == "certificate.revoked"
    assert body["data"] == {"code": cert.code, "status": "revoked", "eligible": False,
                            "reason": "conduct_review", "occurred_at": body["timestamp"]}
    assert b"Complaint" not in delivery.body and b"mentor@x.org" not in delivery.body
    [message] = messages(app, endpoint_id)
    assert delivery.headers["webhook-id"] == message.subject_key
    assert delivery.headers["webhook-id"].startswith("msg_")
    assert delivery.headers["content-type"] == "application/json"
    assert message.status is DeliveryStatus.SENT and message.attempts == 1
    [attempt] = attempts(app, endpoint_id)
    assert attempt.response_status == 200 and attempt.response_excerpt == "ok"
    assert attempt.event_id == message.subject_key and attempt.duration_ms >= 0
    # revoked once, told once: nothing for the program subscribed to other events or not
    # following the certificate
    assert [m.recipient for m in messages(app) if m.kind is MessageKind.WEBHOOK_REVOKED] == [
        f"webhook:{endpoint_id}"]


def test_a_receiver_answering_500_then_200_gets_the_event_once_retried(
        app: Flask, programs: Programs, receiver: Receiver) -> None:
    factory = Factory(app)
    cert = factory.manual_certificate(factory.user())
    staff = programs()
    endpoint_id, secret = add_endpoint(staff, receiver.url)
    receiver.secrets.append(secret)
    receiver.answers.append((500, 0, b"database down", {}))
    programs.follow(staff, cert)
    with consumer(app):
        change(app, cert, CertificateChange.SUSPEND, public_reason=PublicReason.ADMINISTRATIVE_HOLD)
        first, second = receiver.wait_for(2)
        wait_until(lambda: len(attempts(app, endpoint_id)) == 2, what="two attempts")
        wait_until(lambda: messages(app, endpoint_id)[0].status is DeliveryStatus.SENT,
                   what="sent")
    assert first.headers["webhook-id"] == second.headers["webhook-id"]  # the same event
    assert first.body == second.body and second.verified is not None
    assert second.verified["data"]["status"] == "suspended"
    assert second.verified["data"]["reason"] == "administrative_hold"
    assert [(a.attempt, a.response_status) for a in attempts(app, endpoint_id)] == [
        (1, 500), (2, 200)]
    assert attempts(app, endpoint_id)[0].response_excerpt == "database down"
    assert endpoint_row(app, endpoint_id).failing_since is None  # delivered: not failing
    assert len(receiver.received()) == 2


def test_a_redirect_is_not_followed_and_counts_as_a_failure(
        app: Flask, programs: Programs, receiver: Receiver) -> None:
    elsewhere = Receiver().start()
    try:
        factory = Factory(app)
        cert = factory.manual_certificate(factory.user())
        staff = programs()
        endpoint_id, secret = add_endpoint(staff, receiver.url)
        for _ in range(3):
            receiver.answers.append((307, 0, b"", {"Location": elsewhere.url}))
        programs.follow(staff, cert)
        with consumer(app):
            change(app, cert, CertificateChange.SUSPEND)
            wait_until(lambda: messages(app, endpoint_id)[0].status is DeliveryStatus.FAILED,
                       what="failed after the schedule")
        assert elsewhere.received() == []
        tried = attempts(app, endpoint_id)
        assert [a.response_status for a in tried] == [307, 307, 307]  # 1 + the 2 retries
        assert "not followed" in (tried[0].error or "")
        assert endpoint_row(app, endpoint_id).failing_since is not None
    finally:
        elsewhere.stop()


def test_a_slow_receiver_times_out_and_a_long_answer_is_kept_to_1_kb(
        database_url: str, tmp_path: Path, receiver: Receiver) -> None:
    app = make_app(database_url, tmp_path, **{**HOOK_SETTINGS, "WEBHOOK_TIMEOUT_SECONDS": 0.3,
                                              "WEBHOOK_RETRY_SCHEDULE": "0.1"})
    programs = Programs(app)
    factory = Factory(app)
    cert = factory.manual_certificate(factory.user())
    staff = programs()
    endpoint_id, secret = add_endpoint(staff, receiver.url)
    receiver.secrets.append(secret)
    receiver.answers.append((200, 1.5, b"late", {}))
    receiver.answers.append((200, 0, b"x" * 5000, {}))
    programs.follow(staff, cert)
    started = time.monotonic()
    with consumer(app):
        change(app, cert, CertificateChange.SUSPEND)
        wait_until(lambda: messages(app, endpoint_id)[0].status is DeliveryStatus.SENT,
                   what="sent on the second attempt")
    slow, fast = attempts(app, endpoint_id)
    assert slow.response_status is None and "no answer within 0.3 s" in (slow.error or "")
    assert 250 <= slow.duration_ms < 1400
    assert fast.response_status == 200 and fast.response_excerpt == "x" * 1024
    assert time.monotonic() - started < 10


def test_expiring_expired_and_renewed_are_each_sent_once(
        app: Flask, programs: Programs, receiver: Receiver, frozen: Any) -> None:
    factory = Factory(app)
    holder, renewer = factory.user(email="h@x.org"), factory.user(email="s@x.org")
    cert = factory.manual_certificate(holder)
    second = factory.manual_certificate(renewer)
    staff = programs()
    endpoint_id, secret = add_endpoint(staff, receiver.url)
    receiver.secrets.append(secret)
    programs.follow(staff, cert)
    programs.follow(staff, second)

    def run_sweep() -> None:
        jobs_of(app).certificate_reminders.call_local()
        jobs_of(app).certificate_reminders.call_local()  # twice: a second worker, a rerun

    def kinds() -> list[MessageKind]:
        return [m.kind for m in messages(app, endpoint_id)]

    expires = cert.expires_at
    assert second.expires_at == expires  # issued at the same (frozen) moment
    for moment, expiring, expired in [
        (expires - timedelta(days=40), 0, 0),
        (expires - timedelta(days=30), 2, 0),
        (expires - timedelta(days=7), 2, 0),
        (expires + timedelta(hours=1), 2, 2),
        (expires + timedelta(days=3), 2, 2),
    ]:
        clock.freeze(moment)
        run_sweep()
        assert (kinds().count(MessageKind.WEBHOOK_EXPIRING),
                kinds().count(MessageKind.WEBHOOK_EXPIRED)) == (expiring, expired), moment
        assert len(kinds()) == expiring + expired

    # a renewal in the window: the roster follows the new code; renewed is sent once
    clock.freeze(None)
    other = factory.user(email="o@x.org")
    held = factory.manual_certificate(other)
    programs.follow(staff, held)
    renewed = factory.renewal(other)
    with Factory(app).session() as s:
        followed = set(s.scalars(select(RosterEntry.certificate_id)
                                 .where(RosterEntry.program_id == staff.program_id)))
    assert renewed.id in followed and held.id not in followed
    clock.freeze(None)
    jobs_of(app).certificate_reminders.call_local()
    renewed_rows = [m for m in messages(app, endpoint_id)
                    if m.kind is MessageKind.WEBHOOK_RENEWED]
    assert len(renewed_rows) == 1
    # everything recorded reaches the receiver, signed (the attempts happen now, unfrozen)
    with consumer(app):
        deliveries = receiver.wait_for(len(messages(app, endpoint_id)))
        time.sleep(0.3)
    assert len(receiver.received()) == len(messages(app, endpoint_id)) == 5
    assert all(d.verified is not None for d in deliveries)
    by_type: dict[str, list[dict[str, Any]]] = {}
    for d in deliveries:
        assert d.verified is not None
        by_type.setdefault(d.verified["type"], []).append(d.verified["data"])
    [renewal] = by_type["certificate.renewed"]
    assert renewal["code"] == renewed.code and renewal["previous_code"] == held.code
    assert renewal["status"] == "valid" and renewal["eligible"] is True
    assert {d["code"] for d in by_type["certificate.expiring"]} == {cert.code, second.code}
    assert all(d["status"] == "valid" for d in by_type["certificate.expiring"])
    assert all(d["status"] == "expired" and d["eligible"] is False
               for d in by_type["certificate.expired"])


def test_an_endpoint_failing_for_three_days_is_turned_off_and_its_program_mailed(
        app: Flask, programs: Programs, receiver: Receiver, frozen: Any) -> None:
    factory = Factory(app)
    cert = factory.manual_certificate(factory.user())
    staff = programs("Eastside Mentors")
    endpoint_id, _secret = add_endpoint(staff, receiver.url)
    programs.follow(staff, cert)
    receiver.answers.extend([(503, 0, b"", {})] * 10)
    start = clock.utcnow()

    def deliver_latest() -> None:
        with pytest.raises(RetryTask):
            jobs_of(app).deliver.call_local(messages(app, endpoint_id)[-1].id)

    change(app, cert, CertificateChange.SUSPEND)
    deliver_latest()
    assert endpoint_row(app, endpoint_id).failing_since == start
    clock.freeze(start + timedelta(days=2))
    change(app, cert, CertificateChange.REINSTATE)
    deliver_latest()
    assert endpoint_row(app, endpoint_id).enabled
    assert recorded(app, staff.contact) == []
    clock.freeze(start + timedelta(days=3, minutes=1))
    change(app, cert, CertificateChange.SUSPEND)
    suspended_again = messages(app, endpoint_id)[-1].id
    jobs_of(app).deliver.call_local(suspended_again)  # failed for good: no retry
    row = endpoint_row(app, endpoint_id)
    assert not row.enabled and row.disabled_at == clock.utcnow()
    assert "3 days" in (row.disabled_reason or "")
    assert status_of(app, suspended_again) is DeliveryStatus.FAILED
    [mail] = recorded(app, staff.contact, MessageKind.WEBHOOK_DISABLED)
    assert mail.payload["url"] == receiver.url and mail.link == f"/program/webhooks/{endpoint_id}"
    # the mail renders, with its one link, to a page of the site
    env = jobs_of(app).env
    with app.app_context(), app.extensions["courseware.db"].session() as s:
        claimed = outbox.claim(s, mail.id, clock.utcnow(), timedelta(minutes=1))
        assert claimed is not None
        rendered = compose(env, claimed)
    assert rendered.subject == "Your webhook endpoint was turned off"
    assert rendered.text.startswith("Hello Eastside Mentors,")
    assert f"http://localhost/program/webhooks/{endpoint_id}" in rendered.text
    try:
        app.url_map.bind("localhost").match(mail.link, method="GET")
    except NotFound:  # pragma: no cover
        pytest.fail(f"{mail.link} is no page of the site")
    # off: new events are not recorded for it, and an old retry is not sent
    first = messages(app, endpoint_id)[0].id
    count = len(messages(app, endpoint_id))
    change(app, cert, CertificateChange.REINSTATE)
    assert len(messages(app, endpoint_id)) == count
    jobs_of(app).deliver.call_local(first)
    assert status_of(app, first) is DeliveryStatus.FAILED
    assert len(receiver.received()) == 3
    # turned on again by its staff (logged in again: days have passed): it starts afresh
    Auth(staff.client).login(staff.user.email, PASSWORD)
    assert staff.client.post(f"/program/webhooks/{endpoint_id}/enable").status_code == 302
    row = endpoint_row(app, endpoint_id)
    assert row.enabled and row.failing_since is None and row.disabled_at is None


def test_send_a_test_event_then_send_it_again_with_the_same_id(
        app: Flask, programs: Programs, receiver: Receiver) -> None:
    staff = programs()
    endpoint_id, secret = add_endpoint(staff, receiver.url, ["certificate.revoked"],
                                       description="Our HR system")
    receiver.secrets.append(secret)
    page = f"/program/webhooks/{endpoint_id}"
    with consumer(app):
        response = staff.client.post(f"{page}/test")
        assert response.status_code == 302 and response.location.endswith(page)
        [test] = receiver.wait_for(1)
        wait_until(lambda: messages(app, endpoint_id)[0].status is DeliveryStatus.SENT,
                   what="sent")
        [message] = messages(app, endpoint_id)
        html = staff.client.get(page).get_data(as_text=True)
        assert "webhook.test" in html and message.subject_key in html and "Send again" in html
        assert "Our HR system" in html
        resend = f"{page}/deliveries/{message.id}/resend"
        assert staff.client.post(resend).status_code == 302
        first, again = receiver.wait_for(2)
        wait_until(lambda: len(attempts(app, endpoint_id)) == 2, what="two attempts")
    assert test.verified is not None and test.verified["type"] == "webhook.test"
    assert again.verified is not None
    assert again.headers["webhook-id"] == first.headers["webhook-id"] == message.subject_key
    assert again.body == first.body
    assert [a.response_status for a in attempts(app, endpoint_id)] == [200, 200]
    # still waiting: "send again" says so instead of doubling it
    with Factory(app).session() as s:
        waiting = s.get(OutboxMessage, message.id)
        assert waiting is not None
        waiting.status, waiting.sent_at = DeliveryStatus.PENDING, None
    response = staff.client.post(resend, follow_redirects=True)
    assert "already waiting" in response.get_data(as_text=True)


def test_a_rotated_secret_signs_beside_the_old_one_for_a_day(
        app: Flask, programs: Programs, receiver: Receiver) -> None:
    staff = programs()
    endpoint_id, old = add_endpoint(staff, receiver.url)
    response = staff.client.post(f"/program/webhooks/{endpoint_id}/rotate")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    found = SECRET.search(response.get_data(as_text=True))
    assert found
    new = found.group(1)
    assert new != old
    with consumer(app):
        staff.client.post(f"/program/webhooks/{endpoint_id}/test")
        [delivery] = receiver.wait_for(1)
    signatures = delivery.headers["webhook-signature"].split(" ")
    assert len(signatures) == 2
    for secret in (old, new):
        assert Webhook(secret).verify(delivery.body, delivery.headers)["type"] == "webhook.test"
    # a day later only the new one signs
    clock.freeze(clock.utcnow() + timedelta(hours=25))
    with app.app_context(), app.extensions["courseware.db"].session(write=False) as s:
        from courseware.services import webhooks

        row = s.get(WebhookEndpoint, endpoint_id)
        assert row is not None
        assert webhooks.signing_secrets(s, row, clock.utcnow()) == [new]


def test_the_readmes_lines_verify_a_real_delivery_and_drop_its_repeat(
        app: Flask, programs: Programs, receiver: Receiver) -> None:
    from courseware.infra.config import PROJECT_ROOT

    readme = (PROJECT_ROOT / "README.md").read_text()
    [block] = [b for b in re.findall(r"```python\n(.*?)```", readme, flags=re.S)
               if "def handle(body" in b]
    staff = programs()
    endpoint_id, secret = add_endpoint(staff, receiver.url)
    with consumer(app):
        staff.client.post(f"/program/webhooks/{endpoint_id}/test")
        [delivery] = receiver.wait_for(1)
    namespace: dict[str, Any] = {}
    exec(block.replace('"whsec_..."', repr(secret)), namespace)  # noqa: S102 (the README's own lines)
    event = namespace["handle"](delivery.body, delivery.headers)
    assert event["type"] == "webhook.test"
    assert namespace["handle"](delivery.body, delivery.headers) is None  # the same id again
    from standardwebhooks.webhooks import WebhookVerificationError

    with pytest.raises(WebhookVerificationError):
        namespace["handle"](delivery.body.replace(b"test", b"tost"), delivery.headers)


# --- SSRF --------------------------------------------------------------------------------------

def loopback_name() -> str:
    """A host name (not "localhost") that resolves only to loopback here, e.g. the machine's."""
    for name in (socket.gethostname(), "vm", "runsc"):
        try:
            found = webhook_http.resolve(name, 443)
        except Exception:  # noqa: S112 (try the next name)
            continue
        if name != "localhost" and found and all(a.is_loopback for a in found):
            return name
    pytest.skip("no host name resolves to loopback here")


@pytest.mark.parametrize("url, words", [
    ("http://127.0.0.1:9/hooks", "https://"),
    ("https://127.0.0.1/hooks", "loopback"),
    ("https://localhost/hooks", "local name"),
    ("https://10.0.0.8/hooks", "private"),
    ("https://192.168.1.20/hooks", "private"),
    ("https://169.254.169.254/latest/meta-data/", "link-local"),
    ("https://[fd00:ec2::254]/", "private"),
    ("https://[::ffff:127.0.0.1]/hooks", "127.0.0.1"),
    ("https://user:pw@example.org/hooks", "user name"),
])
def test_the_add_form_refuses_private_and_local_targets_and_keeps_what_was_typed(
        strict: Flask, url: str, words: str) -> None:
    staff = Programs(strict)()
    response = staff.client.post("/program/webhooks/new", data={
        "url": url, "events": ["certificate.revoked"], "description": "Intake"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert words in page.replace("&#39;", "'").replace("&amp;", "&")
    assert 'aria-invalid="true"' in page and "Intake" in page
    assert f'value="{url}"'.replace("&", "&amp;") in page
    assert re.search(r'value="certificate.revoked" checked', page)
    assert 'value="certificate.expired" checked' not in page


@pytest.fixture
def strict(database_url: str, tmp_path: Path) -> Flask:
    """An app as production runs it: no loopback, https only."""
    return make_app(database_url, tmp_path)  # the same instance folder: the same KEK


def test_with_the_test_setting_off_loopback_is_refused_even_by_name(
        strict: Flask, receiver: Receiver) -> None:
    staff = Programs(strict)()
    for url, words in (("http://127.0.0.1:9/hooks", "must start with https://"),
                       (f"https://{loopback_name()}/hooks", "public addresses only"),
                       ("https://no-such-host.invalid/hooks", "could not find the host")):
        response = staff.client.post("/program/webhooks/new", data={
            "url": url, "events": ["certificate.revoked"]})
        assert response.status_code == 422, url
        assert words in response.get_data(as_text=True), url
    target = rules.check_url(f"https://{loopback_name()}:{receiver.port}/hooks")
    with pytest.raises(Exception, match="loopback"):
        webhook_http.checked_addresses(target, allow_loopback=False)


def test_a_delivery_rechecks_the_address_and_never_reaches_a_refused_one(
        app: Flask, strict: Flask, programs: Programs, receiver: Receiver) -> None:
    """An endpoint recorded while loopback was allowed, delivered by a worker where it is not
    (as if its name had been re-pointed at a private address since): refused, nothing sent."""
    factory = Factory(app)
    cert = factory.manual_certificate(factory.user())
    staff = programs()
    name = loopback_name()
    endpoint_id, _ = add_endpoint(staff, receiver.url)
    with Factory(app).session() as s:
        row = s.get(WebhookEndpoint, endpoint_id)
        assert row is not None
        row.url = f"https://{name}:{receiver.port}/hooks"
    programs.follow(staff, cert)
    change(app, cert, CertificateChange.REVOKE)
    [message] = messages(app, endpoint_id)
    with pytest.raises(RetryTask):
        jobs_of(strict).deliver.call_local(message.id)
    [attempt] = attempts(strict, endpoint_id)
    assert attempt.response_status is None
    assert (attempt.error or "").startswith("refused:") and "loopback" in (attempt.error or "")
    assert receiver.received() == []


def test_a_production_configuration_refuses_the_loopback_test_setting(tmp_path: Path) -> None:
    with pytest.raises(UnsafeSetting, match="WEBHOOK_ALLOW_HTTP_LOOPBACK"):
        build_config(tmp_path, {"BASE_URL": "https://mentors.example.org",
                                "WEBHOOK_ALLOW_HTTP_LOOPBACK": True, "SECRET_KEY": "x"})
    with pytest.raises(UnsafeSetting):
        build_config(tmp_path, {"COURSEWARE_ENV": "production",
                                "WEBHOOK_ALLOW_HTTP_LOOPBACK": True, "SECRET_KEY": "x"})
    assert build_config(tmp_path, {"SECRET_KEY": "x"})["WEBHOOK_ALLOW_HTTP_LOOPBACK"] is False


# --- one program never sees another's ----------------------------------------------------------

def test_another_programs_staff_cannot_see_or_touch_an_endpoint(
        app: Flask, programs: Programs, receiver: Receiver) -> None:
    owner, stranger = programs("Owner"), programs("Stranger")
    endpoint_id, _ = add_endpoint(owner, receiver.url, description="Owner's intake")
    staff_test = owner.client.post(f"/program/webhooks/{endpoint_id}/test")
    assert staff_test.status_code == 302
    [message] = messages(app, endpoint_id)
    before = endpoint_row(app, endpoint_id)
    base = f"/program/webhooks/{endpoint_id}"
    for method, url in [("GET", base), ("POST", f"{base}/rotate"), ("POST", f"{base}/disable"),
                        ("POST", f"{base}/enable"), ("POST", f"{base}/test"),
                        ("POST", f"{base}/deliveries/{message.id}/resend"),
                        ("POST", f"{base}/delete")]:
        assert stranger.client.open(url, method=method).status_code == 404, url
    listing = stranger.client.get("/program/webhooks").get_data(as_text=True)
    assert receiver.url not in listing and "Owner's intake" not in listing
    after = endpoint_row(app, endpoint_id)
    assert (after.secret, after.enabled, after.deleted_at) == (before.secret, True, None)
    assert len(messages(app, endpoint_id)) == 1
    # and the owner's own message, through another endpoint of the stranger: not found either
    other_id, _ = add_endpoint(stranger, receiver.url)
    assert stranger.client.post(
        f"/program/webhooks/{other_id}/deliveries/{message.id}/resend").status_code == 404
    # the owner sees it, turns it off, deletes it; then it is gone for them too
    assert receiver.url in owner.client.get("/program/webhooks").get_data(as_text=True)
    assert owner.client.post(f"{base}/disable").status_code == 302
    assert not endpoint_row(app, endpoint_id).enabled
    assert owner.client.post(f"{base}/delete").status_code == 302
    assert owner.client.get(base).status_code == 404
    assert "Owner's intake" not in owner.client.get("/program/webhooks").get_data(as_text=True)


def test_only_program_staff_reach_the_pages(client: FlaskClient, make_user: Any) -> None:
    assert client.get("/program/webhooks").status_code == 302  # to the login page
    admin = make_user("admin")
    Auth(client).login(admin)
    assert client.get("/program/webhooks").status_code == 403
    assert client.post("/program/webhooks/new", data={}).status_code == 403


def test_an_empty_form_says_what_is_missing(app: Flask, programs: Programs) -> None:
    staff = programs()
    response = staff.client.post("/program/webhooks/new", data={"url": "https://8.8.8.8/h"})
    assert response.status_code == 422
    assert "Choose at least one event" in response.get_data(as_text=True)
    assert staff.client.get("/program/webhooks/new").status_code == 200
    assert "No endpoints yet" in staff.client.get("/program/webhooks").get_data(as_text=True)


def test_a_webhooks_key_manages_endpoints_through_the_api(
        app: Flask, receiver: Receiver) -> None:
    """The API under scope `webhooks`: make an endpoint (its secret once), list and read it, a
    test event the receiver verifies with that secret, a rotation, deletion; a key without
    the scope is refused and nothing changes."""
    factory = Factory(app)
    program = factory.program("Hooks by API")
    _row, key = factory.api_key(program, "webhooks")
    _row, roster_only = factory.api_key(program, "roster", name="roster only")
    api = app.test_client()
    bearer = {"Authorization": f"Bearer {key}"}

    refused = api.post("/api/v1/webhooks", headers={"Authorization": f"Bearer {roster_only}"},
                       json={"url": receiver.url, "events": ["certificate.revoked"]})
    assert refused.status_code == 403
    assert refused.get_json()["error"]["code"] == "insufficient_scope"
    for body in ({"url": receiver.url}, {"url": 5, "events": []}, ["x"],
                 {"url": receiver.url, "events": ["certificate.revoked"], "extra": 1}):
        assert api.post("/api/v1/webhooks", headers=bearer, json=body).status_code == 400
    bad = api.post("/api/v1/webhooks", headers=bearer,
                   json={"url": receiver.url, "events": ["certificate.eaten"]})
    assert bad.status_code == 422 and bad.get_json()["error"]["code"] == "invalid_endpoint"
    assert api.get("/api/v1/webhooks", headers=bearer).get_json() == {"items": []}

    made = api.post("/api/v1/webhooks", headers=bearer, json={
        "url": receiver.url, "events": ["certificate.revoked", "certificate.suspended"],
        "description": "HR system"})
    assert made.status_code == 201 and made.headers["Cache-Control"] == "no-store"
    endpoint = made.get_json()
    secret = endpoint.pop("secret")
    assert secret.startswith("whsec_") and endpoint["enabled"] is True
    assert sorted(endpoint["events"]) == ["certificate.revoked", "certificate.suspended"]
    assert api.get("/api/v1/webhooks", headers=bearer).get_json() == {"items": [endpoint]}
    path = f"/api/v1/webhooks/{endpoint['id']}"
    assert api.get(path, headers=bearer).get_json() == endpoint

    receiver.secrets.append(secret)
    with consumer(app):
        assert api.post(f"{path}/test", headers=bearer).status_code == 202
        [test] = receiver.wait_for(1)
    assert test.verified is not None and test.verified["type"] == "webhook.test"

    rotated = api.post(f"{path}/rotate", headers=bearer).get_json()
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != secret
    assert api.delete(path, headers=bearer).status_code == 204
    assert api.get(path, headers=bearer).status_code == 404
    assert api.delete(path, headers=bearer).status_code == 404
    assert api.get("/api/v1/webhooks", headers=bearer).get_json() == {"items": []}
    with app.app_context(), app.extensions["courseware.db"].session(write=False) as s:
        labels = list(s.scalars(select(AuditEvent.actor_label).where(
            AuditEvent.action.like("webhook.%")).order_by(AuditEvent.id)))
    assert len(labels) == 3 and all(label.startswith("API key cwk_") for label in labels)
