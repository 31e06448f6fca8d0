"""Two web servers and a job worker sharing one PostgreSQL and one Redis, and nothing else.

Two gunicorn servers (A and B), each with an instance folder of its own, and a third process,
`flask --app app jobs worker`, consuming the Redis queue, all with the same DATABASE_URL,
REDIS_URL, SECRET_KEY and KEY_ENCRYPTION_KEY (as a load balancer's pool would be). Proven over
real HTTP: a session made on A works on B; a certificate revoked through A's admin page reads
revoked on B at once (page, API, status list, credential check); a credential signed on A
verifies against B's published keys; a rate limit of N is reached after N requests spread over
both; a job queued by A runs exactly once. And afterwards no instance folder holds anything.

Runs on the PostgreSQL pass of `make test` (TEST_DATABASE_URL) where Debian's redis-server is
installed; the servers start once for the module (a few seconds).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import jwt
import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from courseware.domain import statuslist
from courseware.domain.statuses import DeliveryStatus, MessageKind
from courseware.infra.config import PROJECT_ROOT
from courseware.infra.db import Database
from courseware.infra.kek import new_kek
from courseware.models import OutboxMessage
from courseware.services import accounts
from tests.conftest import PASSWORD, Template, _admin, assert_audit_events_name_their_actor
from tests.mailing import REDIS_SERVER, SmtpSink, free_port, link_in, redis_server, wait_until

pytestmark = [
    pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"),
                       reason="two instances share a PostgreSQL server: runs on the PostgreSQL "
                              "pass of make test (TEST_DATABASE_URL)"),
    pytest.mark.skipif(not os.access(REDIS_SERVER, os.X_OK),
                       reason="two instances share a Redis: apt-get install -y redis-server"),
]

BIN = Path(sys.executable).parent
BASE_URL = "http://mentors.localhost"  # the public address behind the load balancer
LIMIT = 8  # VERIFY_LIMIT per client address, shared by the verify pages and the API
TRACK = "certified-peer-mentor"
ADMIN, LEARNER, RESETTER = "admin@example.org", "learner@example.org", "reset@example.org"
HOLDERS = [f"holder{n}@example.org" for n in range(1, 6)]  # one certificate per track each
# a form's token, however the template writes the input (any form's is valid for the session)
CSRF = re.compile(r'<input[^>]*name="[\w-]*csrf_token"[^>]*value="([^"]+)"')


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> object:
        return json.loads(self.body)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return None


_opener = urllib.request.build_opener(NoRedirect())


@dataclass
class Client:
    """One visitor: its own cookies, and the address a trusted proxy reports for it."""

    address: str
    cookies: dict[str, str] = field(default_factory=dict)

    def request(self, url: str, data: dict[str, str] | None = None,
                headers: dict[str, str] | None = None) -> Answer:
        sent = {"X-Forwarded-For": self.address, **(headers or {})}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(url, data=body, headers=sent)
        try:
            with _opener.open(request, timeout=20) as response:
                answer = Answer(response.status, dict(response.headers), response.read())
                raw = response.headers.get_all("Set-Cookie") or []
        except urllib.error.HTTPError as exc:
            answer = Answer(exc.code, dict(exc.headers), exc.read())
            raw = exc.headers.get_all("Set-Cookie") or []
        for line in raw:
            name, _, rest = line.partition("=")
            value = rest.split(";", 1)[0]
            if "max-age=0" in line.lower() or not value:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        return answer

    def submit(self, url: str, form_page: str, **fields: str) -> Answer:
        """Fetch the page holding the form (for its CSRF token), then post the fields."""
        page = self.request(form_page)
        assert page.status == 200, page.text[:500]
        found = CSRF.search(page.text)
        assert found, page.text[:500]
        name = next((f.split("-", 1)[0] + "-csrf_token" for f in fields if "-" in f),
                    "csrf_token")
        return self.request(url, data={name: found.group(1), **fields})

    def login(self, server: str, email: str, password: str = PASSWORD) -> None:
        answer = self.submit(f"{server}/login", f"{server}/login", email=email,
                             password=password)
        assert answer.status == 302, answer.text[:500]


@dataclass
class Cluster:
    a: str
    b: str
    smtp: SmtpSink
    database_url: str
    instances: list[Path]
    logs: list[Path]
    addresses: Iterator[int] = field(default_factory=lambda: iter(range(10, 250)))
    holders: Iterator[str] = field(default_factory=lambda: iter(HOLDERS))

    def client(self) -> Client:
        """A visitor with an address of its own: no test spends another's rate limit."""
        return Client(f"198.51.100.{next(self.addresses)}")

    def admin(self) -> Client:
        admin = self.client()
        admin.login(self.a, ADMIN)
        return admin

    def issue(self, admin: Client) -> str:
        """A certificate issued to a new holder through A's admin page; its code."""
        answer = admin.submit(f"{self.a}/admin/certificates/issue",
                              f"{self.a}/admin/certificates/issue",
                              email=next(self.holders), track=TRACK,
                              reason="Recognition of prior learning")
        assert answer.status == 302, answer.text[:800]
        return answer.headers["Location"].rstrip("/").rsplit("/", 1)[1]

    def metrics(self, server: str) -> str:
        with urllib.request.urlopen(f"{server}/metrics", timeout=10) as response:  # noqa: S310
            return str(response.read().decode())


def _start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT)


def _ready(url: str, processes: list[tuple[subprocess.Popen[bytes], signal.Signals]]) -> bool:
    """Ready, or one of the processes has died (the caller then says which)."""
    if any(process.poll() is not None for process, _ in processes):
        return True
    try:
        with urllib.request.urlopen(url + "/readyz", timeout=2) as response:  # noqa: S310
            return bool(response.status == 200)
    except OSError:
        return False


@pytest.fixture(scope="module")
def cluster(template: Template, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    tmp = tmp_path_factory.mktemp("two-instances")
    name = f"cw_two_{os.getpid()}"
    with _admin() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE cw_template')
    database_url = make_url(os.environ["TEST_DATABASE_URL"]).set(database=name) \
        .render_as_string(hide_password=False)
    database = Database(database_url)
    with database.session() as s:
        for email, role in ((ADMIN, "admin"), (LEARNER, "learner"), (RESETTER, "learner"),
                            *((holder, "learner") for holder in HOLDERS)):
            accounts.create_user(s, email=email, name=email.split("@")[0].title(),
                                 password=PASSWORD, role=role, fast_hash=True)
        s.commit()
    database.engine.dispose()
    processes: list[tuple[subprocess.Popen[bytes], signal.Signals]] = []
    with ExitStack() as stack:
        redis_url = stack.enter_context(redis_server(tmp))
        assert redis_url is not None
        smtp = SmtpSink().start()
        stack.callback(smtp.stop)
        shared = {
            **os.environ, "PYTHONPATH": str(PROJECT_ROOT), "PYTHONUNBUFFERED": "1",
            "DATABASE_URL": database_url, "REDIS_URL": redis_url,
            "SECRET_KEY": "two-instances-secret-key", "KEY_ENCRYPTION_KEY": new_kek(),
            "BASE_URL": BASE_URL, "TRUSTED_PROXIES": "1", "VERIFY_LIMIT": f"{LIMIT} per hour",
            "SECOND_FACTOR_REQUIRED_FOR_STAFF": "false", "DOUBLE_MARK_PERCENT": "0",
            "MAIL_BACKEND": "smtp", "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(smtp.port),
            "MAIL_DEFAULT_SENDER": "Courseware <no-reply@example.org>",
            "WEB_CONCURRENCY": "1", "GUNICORN_THREADS": "4",
        }
        for key in ("JOBS_QUEUE", "RATELIMIT_STORAGE_URI", "PROMETHEUS_MULTIPROC_DIR"):
            shared.pop(key, None)
        instances = [tmp / "instance-a", tmp / "instance-b", tmp / "instance-worker"]
        logs = [tmp / "a.log", tmp / "b.log", tmp / "worker.log"]
        bases = []
        for instance, log, metrics in zip(instances[:2], logs[:2], ("metrics-a", "metrics-b"),
                                          strict=True):
            port = free_port()
            bases.append(f"http://127.0.0.1:{port}")
            env = {**shared, "COURSEWARE_INSTANCE": str(instance), "BIND": f"127.0.0.1:{port}",
                   "PROMETHEUS_MULTIPROC_DIR": str(tmp / metrics)}
            processes.append((_start([str(BIN / "gunicorn"), "-c", "gunicorn.conf.py",
                                      "app:app"], env, log), signal.SIGTERM))
        # the worker runs on A's host: it counts into A's metrics folder
        worker_env = {**shared, "COURSEWARE_INSTANCE": str(instances[2]),
                      "PROMETHEUS_MULTIPROC_DIR": str(tmp / "metrics-a")}
        processes.append((_start([str(BIN / "flask"), "--app", "app", "jobs", "worker",
                                  "--workers", "2"], worker_env, logs[2]), signal.SIGINT))
        try:
            for base in bases:
                wait_until(lambda: _ready(base, processes), 60, f"{base}/readyz")  # noqa: B023
            for (process, _), log in zip(processes, logs, strict=True):
                assert process.poll() is None, log.read_text()[-3000:]
            wait_until(lambda: "jobs worker: Redis" in logs[2].read_text(), 60, "the worker")
            yield Cluster(bases[0], bases[1], smtp, database_url, instances, logs)
        finally:
            for process, stop in processes:
                process.send_signal(stop)  # the worker's SIGINT lets a running job finish
            for process, _ in processes:
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=10)
            try:
                for log in logs:
                    text = log.read_text(errors="replace")
                    assert "Traceback" not in text, f"{log.name}:\n{text[-5000:]}"
                # nothing two instances must share was kept on a host
                for instance in instances:
                    assert not instance.exists() or not any(instance.iterdir()), \
                        f"{instance.name} holds {sorted(p.name for p in instance.iterdir())}"
                assert_audit_events_name_their_actor(database_url)
            finally:
                with _admin() as conn:
                    conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- sessions ---------------------------------------------------------------------------------

def test_a_session_made_on_a_works_on_b_and_ends_on_both(cluster: Cluster) -> None:
    on_a = cluster.client()
    on_a.login(cluster.a, LEARNER)
    on_b = Client(on_a.address, {"courseware_session": on_a.cookies["courseware_session"]})
    page = on_b.request(f"{cluster.b}/account")
    assert page.status == 200 and "Learner" in page.text
    stranger = cluster.client().request(f"{cluster.b}/account")
    assert stranger.status == 302 and "/login" in stranger.headers["Location"]
    # logging out on B ends the session A made
    out = on_b.submit(f"{cluster.b}/logout", f"{cluster.b}/account")
    assert out.status == 302
    again = on_a.request(f"{cluster.a}/account")
    assert again.status == 302 and "/login" in again.headers["Location"]


# --- certificates -------------------------------------------------------------------------------

def claims(token: str, server: str) -> dict[str, object]:
    """A JWT's claims, its signature checked with the key `server` publishes for its kid."""
    kid = jwt.get_unverified_header(token)["kid"]
    assert kid.startswith(f"{BASE_URL}/.well-known/keys/")
    with urllib.request.urlopen(server + kid[len(BASE_URL):], timeout=10) as response:  # noqa: S310
        key = jwt.PyJWK(json.load(response))
    decoded: dict[str, object] = jwt.decode(token, key, algorithms=["RS256"],
                                            issuer=f"{BASE_URL}/issuer",
                                            options={"verify_aud": False})
    return decoded


def revoked_bit(cluster: Cluster, server: str, index: int) -> bool:
    answer = cluster.client().request(f"{server}/status/revocation")
    assert answer.status == 200
    subject = claims(answer.text, server)["credentialSubject"]
    assert isinstance(subject, dict)
    return statuslist.is_set(statuslist.decode(subject["encodedList"]), index)


def check_on(cluster: Cluster, server: str, token: str) -> str:
    """The verdict of `server`'s credential check (POST /verify) on a pasted credential."""
    answer = cluster.client().submit(f"{server}/verify", f"{server}/verify", credential=token)
    assert answer.status == 200, answer.text[:500]
    verdict = re.search(r'big-status" role="status">([^<]+)<', answer.text)
    assert verdict, answer.text[:2000]
    return verdict.group(1)


def test_a_certificate_revoked_through_a_reads_revoked_on_b_at_once(cluster: Cluster) -> None:
    admin = cluster.admin()
    code = cluster.issue(admin)
    reader = cluster.client()
    token = reader.request(f"{cluster.a}/certificates/{code}/credential.jwt").text
    index = int(jwt.decode(token, options={"verify_signature": False})
                ["credentialStatus"]["statusListIndex"])  # type: ignore[index]
    # B has answered before the change (anything it might keep is warm)
    assert reader.request(f"{cluster.b}/api/v1/certificates/{code}").json()["status"] == "valid"  # type: ignore[index]
    assert "status-valid big-status" in reader.request(f"{cluster.b}/verify/{code}").text
    assert not revoked_bit(cluster, cluster.b, index)
    assert check_on(cluster, cluster.b, token).startswith("Valid")

    answer = admin.submit(f"{cluster.a}/admin/certificates/{code}/revoke",
                          f"{cluster.a}/admin/certificates/{code}",
                          **{"revoke-public_reason": "conduct_review", "revoke-public_text": "",
                             "revoke-note": "Two-instance test", "revoke-confirm": "yes"})
    assert answer.status == 302, answer.text[:800]

    # at once, on B: the API, the public page, the status list and the credential check
    record = reader.request(f"{cluster.b}/api/v1/certificates/{code}").json()
    assert isinstance(record, dict)
    assert (record["status"], record["eligible"]) == ("revoked", False)
    assert record["revocation_reason"] == "Conduct review"
    assert "status-revoked big-status" in reader.request(f"{cluster.b}/verify/{code}").text
    assert revoked_bit(cluster, cluster.b, index)
    assert check_on(cluster, cluster.b, token).startswith("Not valid")
    assert reader.request(f"{cluster.b}/certificates/{code}/credential.jwt",
                          headers={"Accept": "application/json"}).status == 410


def test_a_credential_signed_on_a_verifies_against_bs_published_keys(cluster: Cluster) -> None:
    code = cluster.issue(cluster.admin())
    reader = cluster.client()
    answer = reader.request(f"{cluster.a}/certificates/{code}/credential.jwt")
    assert answer.status == 200 and answer.headers["Content-Type"] == "application/jwt"
    token = answer.text
    kid = jwt.get_unverified_header(token)["kid"]
    published = reader.request(f"{cluster.b}/.well-known/jwks.json").json()
    assert isinstance(published, dict)
    assert kid in [key["kid"] for key in published["keys"]]
    verified = claims(token, cluster.b)  # the signature, with the key B serves at the kid URL
    assert code in str(verified["jti"])
    assert check_on(cluster, cluster.b, token).startswith("Valid")


# --- rate limits --------------------------------------------------------------------------------

def test_a_rate_limit_of_n_is_reached_after_n_requests_spread_over_both(
        cluster: Cluster) -> None:
    code = cluster.issue(cluster.admin())
    program = cluster.client()
    for n in range(LIMIT):
        server = cluster.a if n % 2 == 0 else cluster.b
        answer = program.request(f"{server}/api/v1/certificates/{code}")
        assert answer.status == 200, f"request {n + 1} on {server}: {answer.status}"
    for server in (cluster.a, cluster.b):
        over = program.request(f"{server}/api/v1/certificates/{code}")
        assert over.status == 429 and int(over.headers["Retry-After"]) > 0
    # the limit is this client's: another address is still served
    assert cluster.client().request(f"{cluster.b}/api/v1/certificates/{code}").status == 200


# --- jobs ---------------------------------------------------------------------------------------

def sample(text: str, name: str, **labels: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_a_job_queued_by_a_runs_exactly_once(cluster: Cluster) -> None:
    visitor = cluster.client()
    answer = visitor.submit(f"{cluster.a}/account/reset", f"{cluster.a}/account/reset",
                            email=RESETTER)
    assert answer.status == 302, answer.text[:800]
    [message] = cluster.smtp.wait_for(RESETTER, subject="Choose a new password", timeout=30)
    time.sleep(1.0)  # a second run of the job, or a second delivery, would have arrived by now
    assert len(cluster.smtp.received(RESETTER)) == 1
    engine = create_engine(cluster.database_url, poolclass=NullPool)
    try:
        with Session(engine) as s:
            rows = s.execute(select(OutboxMessage.kind, OutboxMessage.status,
                                    OutboxMessage.attempts)
                             .where(OutboxMessage.recipient == RESETTER)).all()
    finally:
        engine.dispose()
    assert rows == [(MessageKind.PASSWORD_RESET, DeliveryStatus.SENT, 1)]
    # the link works on either server
    assert visitor.request(cluster.b + link_in(message, BASE_URL)).status == 200
    # A queued it (A's counter); the worker, on A's host, ran it once (A's metrics folder)
    on_a = cluster.metrics(cluster.a)
    assert sample(on_a, "courseware_jobs_queued_total", job="request_password_reset") == 1
    wait_until(lambda: sample(cluster.metrics(cluster.a), "courseware_jobs_completed_total",
                              job="request_password_reset") == 1, 10, "the job counted")
    assert sample(cluster.metrics(cluster.b), "courseware_jobs_queued_total",
                  job="request_password_reset") == 0
    assert sample(cluster.metrics(cluster.a), "courseware_outbox_deliveries_total",
                  channel="mail", result="sent") >= 1


def test_the_processes_keep_nothing_in_their_instance_folders(cluster: Cluster) -> None:
    """Queue, limits, sessions, keys and secrets are all in PostgreSQL or Redis or the
    environment: no process wrote a file of its own (checked again when they stop)."""
    for instance in cluster.instances:
        assert not instance.exists() or sorted(p.name for p in instance.iterdir()) == []
