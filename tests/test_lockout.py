"""Failed password checks delay the client that fails, never the account's owner elsewhere.

Throttles per (account, client), per client and per account from devices that never logged in,
each with an exponential delay; a device cookie from an earlier login vouches for the owner's
own devices. The current-password check of the password form is throttled the same way.
"""

from __future__ import annotations

import html
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from courseware.domain import clock
from courseware.domain.throttle import delay, wait_text
from courseware.models import AuditEvent, LoginThrottle, User
from tests.conftest import PASSWORD, Auth, UserFactory, make_app
from tests.test_auth import logged_in, run_together

WRONG = "Email or password is incorrect."
WAIT = re.compile(r"wait (\d+ (?:second|minute)s?) before trying again")


def from_ip(app: Flask, ip: str) -> FlaskClient:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = ip
    return client


def page(response: Any) -> str:
    return html.unescape(response.get_data(as_text=True))


def fail(client: FlaskClient, email: str, times: int) -> list[str]:
    return [page(Auth(client).login(email, "not the right password")) for _ in range(times)]


def waiting(response: Any) -> str | None:
    match = WAIT.search(page(response))
    return match.group(1) if match else None


def events(app: Flask, action: str) -> list[AuditEvent]:
    with app.app_context(), app.extensions["courseware.db"].session(write=False) as s:
        found = list(s.scalars(select(AuditEvent).where(AuditEvent.action == action)
                               .order_by(AuditEvent.id)))
        s.expunge_all()
        return found


def test_nobody_can_lock_out_someone_else(app: Flask, learner: User, frozen: Any) -> None:
    """What used to lock the account for everyone for 15 minutes delays only the one failing."""
    attacker = from_ip(app, "203.0.113.9")
    fail(attacker, learner.email, 10)
    owner = from_ip(app, "198.51.100.7")
    assert Auth(owner).login(learner).status_code == 302
    assert logged_in(owner)
    # the attacker waits, even with the right password: it is not checked while delayed
    response = Auth(attacker).login(learner)
    assert response.status_code == 422 and waiting(response)


def test_the_delay_doubles_and_ends(app: Flask, learner: User, frozen: Any) -> None:
    start = clock.utcnow()
    client = from_ip(app, "203.0.113.9")
    pages = fail(client, learner.email, 5)
    assert all(WRONG in p for p in pages)
    response = Auth(client).login(learner)
    assert response.status_code == 422 and waiting(response) == "30 seconds"
    clock.freeze(start + timedelta(seconds=31))
    assert WRONG in fail(client, learner.email, 1)[0]
    assert waiting(Auth(client).login(learner)) == "1 minute"  # 60 s
    clock.freeze(start + timedelta(seconds=31 + 61))
    fail(client, learner.email, 1)
    assert waiting(Auth(client).login(learner)) == "2 minutes"
    clock.freeze(start + timedelta(minutes=5))
    assert Auth(client).login(learner).status_code == 302  # and success clears the count
    with app.app_context(), app.extensions["courseware.db"].session(write=False) as s:
        remaining = s.scalars(select(LoginThrottle)).all()
        assert len(remaining) == 1  # only the client's own count remains


def test_one_client_spraying_many_accounts_is_delayed(app: Flask, make_user: UserFactory,
                                                      frozen: Any) -> None:
    sprayer = from_ip(app, "203.0.113.50")
    for n in range(app.config["LOGIN_CLIENT_FREE_FAILURES"]):
        fail(sprayer, f"person{n}@example.org", 1)
    someone = make_user("learner")
    response = Auth(sprayer).login(someone)
    assert response.status_code == 422 and waiting(response)
    assert Auth(from_ip(app, "198.51.100.7")).login(someone).status_code == 302


def test_a_known_device_is_never_delayed_by_attacks_from_elsewhere(
    app: Flask, learner: User, frozen: Any,
) -> None:
    owner = from_ip(app, "198.51.100.7")
    assert Auth(owner).login(learner).status_code == 302  # this device now has its cookie
    Auth(owner).logout()
    # many clients guess: the account is delayed for every device it never logged in from
    for n in range(app.config["LOGIN_ACCOUNT_FREE_FAILURES"]):
        fail(from_ip(app, f"203.0.113.{n + 1}"), learner.email, 1)
    new_device = from_ip(app, "192.0.2.44")
    assert waiting(Auth(new_device).login(learner))
    # ... but never the owner on a device they have used before, whatever its address
    owner.environ_base["REMOTE_ADDR"] = "192.0.2.45"
    assert Auth(owner).login(learner).status_code == 302
    assert logged_in(owner)


def test_a_known_device_has_its_own_count(app: Flask, learner: User, frozen: Any) -> None:
    device = from_ip(app, "198.51.100.7")
    assert Auth(device).login(learner).status_code == 302
    Auth(device).logout()
    fail(device, learner.email, app.config["LOGIN_FREE_FAILURES"])
    assert waiting(Auth(device).login(learner))  # a stolen laptop cannot guess forever


def test_a_forged_device_cookie_vouches_for_nothing(app: Flask, learner: User,
                                                    frozen: Any) -> None:
    for n in range(app.config["LOGIN_ACCOUNT_FREE_FAILURES"]):
        fail(from_ip(app, f"203.0.113.{n + 1}"), learner.email, 1)
    forger = from_ip(app, "192.0.2.9")
    forger.set_cookie("courseware_device", "eyJkIjoieCIsImEiOltdfQ.forged")
    assert waiting(Auth(forger).login(learner))


def test_unknown_addresses_are_delayed_alike(app: Flask, learner: User, frozen: Any) -> None:
    client = from_ip(app, "203.0.113.9")
    fail(client, "nobody@example.org", 5)
    fail(client, learner.email, 5)
    unknown = Auth(client).login("nobody@example.org", "anything at all")
    known = Auth(client).login(learner)
    assert waiting(unknown) == waiting(known) == "30 seconds"


def test_the_password_form_is_throttled_too(app: Flask, learner: User, frozen: Any) -> None:
    """A stolen session cannot guess the current password to take the account over."""
    client = from_ip(app, "203.0.113.9")
    Auth(client).login(learner)
    for _ in range(app.config["LOGIN_FREE_FAILURES"]):
        response = client.post("/account/password", data={
            "current_password": "a wrong guess", "new_password": "a new passphrase of mine"})
        assert "Your current password is not right." in page(response)
    response = client.post("/account/password", data={
        "current_password": PASSWORD, "new_password": "a new passphrase of mine"})
    assert response.status_code == 422
    assert "Too many wrong passwords. Try again in 30 seconds." in page(response)
    assert len(events(app, "password.check_failed")) == 5


def test_counts_are_shared_by_two_app_instances(database_url: str, tmp_path: Path, app: Flask,
                                                learner: User, frozen: Any) -> None:
    second = make_app(database_url, tmp_path / "b")
    fail(from_ip(app, "203.0.113.9"), learner.email, 3)
    fail(from_ip(second, "203.0.113.9"), learner.email.upper(), 2)
    for instance in (app, second):
        assert waiting(Auth(from_ip(instance, "203.0.113.9")).login(learner))


def test_simultaneous_failures_are_all_counted(app: Flask, learner: User, frozen: Any) -> None:
    clients = [from_ip(app, "203.0.113.9") for _ in range(2)]
    for _ in range(2):
        responses = run_together(*(lambda c=c: Auth(c).login(learner, "not the right password")
                                   for c in clients))
        assert [r.status_code for r in responses] == [422, 422]
    with app.app_context(), app.extensions["courseware.db"].session(write=False) as s:
        counts = sorted(row.failures for row in s.scalars(select(LoginThrottle)))
        assert counts == [4, 4, 4]
    fail(clients[0], learner.email, 1)
    assert waiting(Auth(clients[0]).login(learner))


def test_failures_and_delays_are_security_events(app: Flask, learner: User,
                                                 frozen: Any) -> None:
    client = from_ip(app, "203.0.113.9")
    fail(client, learner.email, 5)
    fail(client, "Not An Email Password123", 1)
    failed = events(app, "login.failed")
    assert len(failed) == 6
    assert failed[0].target_id == str(learner.id) and failed[0].actor_id is None
    assert failed[0].actor_label == "visitor (not logged in)"
    assert failed[0].client_address == "203.0.113.9"
    assert failed[-1].target_label is None  # what was typed is not kept unless an address
    [throttled] = events(app, "login.throttled")
    assert throttled.target_label == learner.email
    assert throttled.details == {"scopes": ["account+client"]}
    Auth(from_ip(app, "198.51.100.7")).login(learner)
    [ok] = events(app, "login.success")
    assert ok.actor_id == learner.id and ok.client_address == "198.51.100.7"


@given(st.integers(min_value=0, max_value=200), st.integers(min_value=1, max_value=10),
       st.integers(min_value=1, max_value=120), st.integers(min_value=1, max_value=240))
def test_delay_is_zero_then_doubles_up_to_the_cap(failures: int, free: int, base_s: int,
                                                  cap_min: int) -> None:
    base, cap = timedelta(seconds=base_s), timedelta(minutes=cap_min)
    wait = delay(failures, free=free, base=base, cap=cap)
    following = delay(failures + 1, free=free, base=base, cap=cap)
    if failures < free:
        assert wait == timedelta(0)
    else:
        assert timedelta(0) < wait <= cap
        assert following == min(cap, wait * 2) or wait == cap
    assert following >= wait


def test_wait_text() -> None:
    assert [wait_text(s) for s in (1, 30, 60, 61, 900)] == [
        "1 second", "30 seconds", "1 minute", "2 minutes", "15 minutes"]
