"""Hostile values thrown at every form field, query parameter and API input.

Never a 5xx, never a script stored and echoed unescaped; refusals are 4xx with a readable page.
"""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests import helpers
from tests.conftest import Auth, UserFactory
from tests.hostile import IMG, JSON_VALUES, SCRIPT, VALUES
from tests.test_access import build_world

RAW_PAYLOADS = (SCRIPT, IMG, "<svg/onload")


def assert_safe(response, where: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code < 500, f"{where}: {response.status_code}"
    if response.mimetype == "text/html":
        body = response.get_data(as_text=True)
        for raw in RAW_PAYLOADS:
            assert raw not in body, f"{where}: unescaped {raw!r}"


def forms(world, app: Flask) -> list[tuple[str, str, list[str]]]:  # type: ignore[no-untyped-def]
    """(who, url, field names) for every form in the application."""
    with app.app_context(), helpers.session(app) as s:
        from courseware.models import Submission
        from courseware.services import catalogue

        sub = s.get(Submission, world.submission_id)
        criteria = [c.id for c in catalogue.roleplay_spec(sub.roleplay_version).rubric.criteria]
    levels = [f"level-{c}" for c in criteria] + [f"comment-{c}" for c in criteria]
    return [
        ("anonymous", "/register", ["name", "email", "password"]),
        ("anonymous", "/login", ["email", "password", "next"]),
        ("anonymous", "/verify", ["credential", "file"]),
        ("learner", "/account/password", ["current_password", "new_password"]),
        ("anonymous", "/account/reset", ["email"]),
        ("learner", "/account/email", ["email", "password"]),
        ("learner", "/account/preferences", ["reminders", "digests"]),
        ("learner", "/modules/foundations/feedback", ["rating", "comment"]),
        ("learner", f"/attempts/{world.attempt_id}", ["q0", "q1", "q99", "confirm_blank"]),
        ("learner", f"/submissions/{world.draft_id}", ["reply0", "reply1", "action"]),
        ("trainer", f"/grade/submissions/{world.submission_id}",
         [*levels, "feedback", "reason", "expected"]),
        ("trainer", "/grade/live", ["learner_email", "roleplay", "held_on", "live_format",
                                    "duration_minutes", "notes"]),
        ("admin", f"/admin/users/{world.target.id}/role", ["role"]),
        ("admin", f"/admin/users/{world.target.id}/active", ["active", "reason"]),
        ("admin", f"/admin/certificates/{world.code}/suspend",
         ["suspend-public_reason", "suspend-public_text", "suspend-note", "suspend-confirm"]),
        ("admin", "/admin/certificates/issue", ["email", "track", "reason"]),
        ("admin", f"/admin/users/{world.target.id}/second-factor/reset", ["reason"]),
        ("learner", "/account/second-factor/app", ["code"]),
        ("anonymous", "/login/verify", ["code", "recovery_code"]),
    ]


QUERIES = [
    ("anonymous", "/verify", "code"),
    ("admin", "/admin/users", "q"),
    ("admin", "/admin/users", "page"),
    ("admin", "/admin/certificates", "q"),
    ("admin", "/admin/audit", "actor"),
    ("admin", "/admin/audit", "since"),
    ("admin", "/admin/audit", "action"),
    ("admin", "/admin/audit", "client"),
    ("admin", "/admin/audit", "about"),
    ("admin", "/admin/audit", "security"),
    ("admin", "/admin/mail", "status"),
    ("admin", "/admin/mail", "kind"),
    ("admin", "/admin/mail", "recipient"),
    ("admin", "/admin/mail", "page"),
    ("trainer", "/grade/", "roleplay"),
    ("trainer", "/grade/reports/quizzes", "quiz"),
    ("trainer", "/grade/reports/items.csv", "quiz"),
    ("learner", "/login", "next"),
]


@pytest.fixture
def world_clients(app: Flask, make_user: UserFactory):  # type: ignore[no-untyped-def]
    world, users = build_world(app, make_user)
    clients: dict[str, FlaskClient] = {"anonymous": app.test_client()}
    for role in ("learner", "trainer", "admin"):
        clients[role] = app.test_client()
        Auth(clients[role]).login(users[role])  # type: ignore[arg-type]
    # a second role-play left in draft, for the reply fields
    helpers.read_module(clients["learner"], "boundaries")
    world.draft_id = helpers.start_roleplay(clients["learner"], "boundaries")
    return world, clients


def test_every_form_field_survives_hostile_values(app: Flask, world_clients) -> None:  # type: ignore[no-untyped-def]
    world, clients = world_clients
    for who, url, fields in forms(world, app):
        for field in fields:
            for value in VALUES:
                response = clients[who].post(url, data={field: value})
                assert_safe(response, f"{who} POST {url} {field}={value[:30]!r}")
            # an array where a scalar is expected
            response = clients[who].post(url, data={field: ["a", "b", "c"]})
            assert_safe(response, f"{who} POST {url} {field}=[...]")


def test_every_query_parameter_survives_hostile_values(world_clients) -> None:  # type: ignore[no-untyped-def]
    _world, clients = world_clients
    for who, url, name in QUERIES:
        for value in VALUES:
            response = clients[who].get(url, query_string={name: value})
            assert_safe(response, f"{who} GET {url}?{name}={value[:30]!r}")


def test_invalid_utf8_and_odd_encodings(world_clients) -> None:  # type: ignore[no-untyped-def]
    _world, clients = world_clients
    for body in (b"email=%FF%FE&password=%C3%28", b"\xff\xfe\x00", b"email=" + b"\xc0" * 50):
        response = clients["anonymous"].post(
            "/login", data=body, content_type="application/x-www-form-urlencoded")
        assert_safe(response, f"login {body[:20]!r}")
        assert response.status_code in (400, 422)
    response = clients["anonymous"].get("/verify/%FF%FE")
    assert response.status_code in (400, 404)
    response = clients["anonymous"].post("/login", data=b"--x\r\nbroken",
                                         content_type="multipart/form-data; boundary=x")
    assert_safe(response, "broken multipart")


@pytest.mark.parametrize("path", [
    "/attempts/-1", "/attempts/0", "/attempts/99999999999999999999999", "/submissions/abc",
    "/grade/submissions/-5", "/admin/users/999999999/role", "/modules/%00", "/quizzes/..%2F..",
    "/certificates/%00.pdf", "/api/v1/certificates/%00", "/tracks/<script>",
    "/status/%00", "/status/<script>", "/.well-known/keys/%00", "/.well-known/keys/..%2F",
    "/certificates/%00/credential.jwt",
])
def test_odd_paths_are_plain_not_found(world_clients, path: str) -> None:  # type: ignore[no-untyped-def]
    _world, clients = world_clients
    for who in ("anonymous", "admin"):
        response = clients[who].get(path)
        assert_safe(response, f"{who} GET {path}")
        assert response.status_code in (302, 400, 404, 405), f"{who} {path}"


def test_api_inputs_survive_hostile_values(client: FlaskClient) -> None:
    for value in VALUES:
        response = client.get(f"/api/v1/certificates/{value[:200]}")
        assert response.status_code in (400, 404, 405), value[:30]
        assert response.is_json and "error" in response.get_json()
    for value in JSON_VALUES:
        for body in ({"codes": value}, {"codes": [value]}, value, {"codes": ["x"], "x": value}):
            response = client.post("/api/v1/eligibility", json=body)
            assert response.status_code < 500, repr(body)[:60]
            payload = response.get_json()
            if response.status_code == 200:
                assert all("code" in r for r in payload["results"])
            else:
                assert response.status_code in (400, 413, 415)
                assert payload["error"]["message"]


def test_stored_payloads_render_escaped(app: Flask, make_user: UserFactory) -> None:
    """A script in a name or comment is stored as text and shown as text everywhere."""
    client = app.test_client()
    response = client.post("/register", data={"name": SCRIPT, "email": "x@example.org",
                                              "password": "a long enough secret"})
    assert response.status_code == 302
    assert Auth(client).login("x@example.org", "a long enough secret").status_code == 302
    helpers.read_module(client, "foundations")
    client.post("/modules/foundations/feedback", data={"rating": "3", "comment": IMG})
    admin = make_user("admin")
    admin_client = app.test_client()
    Auth(admin_client).login(admin)
    for url in ("/admin/users", "/admin/feedback", "/admin/audit"):
        page = admin_client.get(url)
        assert_safe(page, url)
    users = admin_client.get("/admin/users").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in users
    feedback = admin_client.get("/admin/feedback").get_data(as_text=True)
    assert re.search(r"&lt;img src=x onerror=(&#34;|&quot;)alert\(2\)(&#34;|&quot;)&gt;", feedback)


def test_a_nul_in_a_repeated_query_value_is_refused(client: FlaskClient) -> None:
    """Every value of a repeated key is checked, not only the first."""
    response = client.get("/verify", query_string=[("code", "fine"), ("code", "a\x00b")])
    assert response.status_code == 400
    assert "a NUL byte" in response.get_data(as_text=True)
