"""Every route, as every role: one table, and a test that fails when a route has no entry."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from flask import Flask

from courseware.domain.clock import utcnow
from courseware.infra.config import PROJECT_ROOT
from courseware.services import certificates
from courseware.services.audit import COMMAND_LINE
from courseware.services.certificates import IssueContext
from courseware.web.security import HEADERS
from tests import helpers
from tests.conftest import Auth, UserFactory, make_app
from tests.factories import Factory

ROLES = ("anonymous", "learner", "trainer", "admin", "program")
R = 302  # redirect (to the login page for anonymous users)

# (endpoint, method): expected status for anonymous, learner, trainer, admin, program staff
TABLE: dict[tuple[str, str], tuple[int, int, int, int, int]] = {
    ("learn.home", "GET"): (200, 200, 200, 200, 200),
    ("learn.module", "GET"): (R, 200, 200, 200, 200),
    ("learn.mark_read", "POST"): (R, R, R, R, R),
    ("learn.feedback", "GET"): (R, 200, 200, 200, 200),
    ("learn.feedback", "POST"): (R, 422, 422, 422, 422),
    ("learn.profile", "GET"): (R, 200, 200, 200, 200),
    ("learn.quiz", "GET"): (R, 200, 200, 200, 200),
    # by then every role has marked the module read (mark_read is walked first)
    ("learn.start_quiz", "POST"): (R, R, R, R, R),
    ("learn.attempt", "GET"): (R, 200, 404, 404, 404),
    ("learn.submit_attempt", "POST"): (R, 200, 404, 404, 404),
    ("learn.roleplay", "GET"): (R, 200, 200, 200, 200),
    ("learn.start_roleplay", "POST"): (R, R, R, R, R),
    ("learn.submission", "GET"): (R, 200, R, 200, 404),
    ("learn.save_submission", "POST"): (R, 422, 403, 403, 404),
    ("auth.register", "GET"): (200, R, R, R, R),
    ("auth.register", "POST"): (422, R, R, R, R),
    ("auth.login", "GET"): (200, R, R, R, R),
    ("auth.login", "POST"): (422, R, R, R, R),
    ("auth.logout", "POST"): (R, R, R, R, R),
    ("auth.change_password", "GET"): (R, 200, 200, 200, 200),
    ("account.index", "GET"): (R, 200, 200, 200, 200),
    # the second step of a login opens only while a password check waits for it
    ("auth.second_factor_page", "GET"): (R, R, R, R, R),
    ("auth.second_factor_page", "POST"): (R, R, R, R, R),
    ("auth.passkey_options", "POST"): (401, 401, 401, 401, 401),
    ("auth.passkey_login", "POST"): (401, 401, 401, 401, 401),
    ("account.second_factor_page", "GET"): (R, 200, 200, 200, 200),
    ("account.totp", "GET"): (R, 200, 200, 200, 200),
    ("account.totp", "POST"): (R, 422, 422, 422, 422),
    ("account.remove_totp", "POST"): (R, R, R, R, R),
    ("account.passkey_options", "POST"): (R, 200, 200, 200, 200),
    ("account.add_passkey", "POST"): (R, 415, 415, 415, 415),  # JSON only
    ("account.remove_passkey", "POST"): (R, R, R, R, R),
    ("account.recovery_codes", "GET"): (R, 200, 200, 200, 200),
    ("account.recovery_codes", "POST"): (R, R, R, R, R),
    # another person's session: nothing to sign out, back to the account page
    ("account.revoke_session", "POST"): (R, R, R, R, R),
    ("account.revoke_others", "POST"): (R, R, R, R, R),
    ("auth.change_password", "POST"): (R, 422, 422, 422, 422),
    ("account.reset_request", "GET"): (200, 200, 200, 200, 200),
    ("account.reset_request", "POST"): (422, 422, 422, 422, 422),
    # an unknown link: gone, whoever follows it
    ("account.reset", "GET"): (410, 410, 410, 410, 410),
    ("account.reset", "POST"): (410, 410, 410, 410, 410),
    ("account.confirm", "GET"): (410, 410, 410, 410, 410),
    ("account.confirm", "POST"): (410, 410, 410, 410, 410),
    ("account.resend_confirmation", "POST"): (R, R, R, R, R),
    ("account.change_email", "GET"): (R, 200, 200, 200, 200),
    ("account.change_email", "POST"): (R, 422, 422, 422, 422),
    ("account.preferences", "POST"): (R, R, R, R, R),
    ("account.unsubscribe", "GET"): (404, 404, 404, 404, 404),
    ("account.unsubscribe", "POST"): (404, 404, 404, 404, 404),
    ("grade.queue", "GET"): (R, 403, 200, 200, 403),
    ("grade.claim", "POST"): (R, 403, R, R, 403),
    ("grade.release", "POST"): (R, 403, R, R, 403),
    ("grade.grade", "GET"): (R, 403, 200, 200, 403),
    ("grade.save_grade", "POST"): (R, 403, 422, 422, 403),
    ("grade.live", "GET"): (R, 403, 200, 200, 403),
    ("grade.live", "POST"): (R, 403, 422, 422, 403),
    ("grade.reports_index", "GET"): (R, 403, R, R, 403),
    ("grade.reports", "GET"): (R, 403, 200, 200, 403),
    ("grade.results_csv", "GET"): (R, 403, 200, 200, 403),
    ("grade.items_csv", "GET"): (R, 403, 200, 200, 403),
    ("ops.healthz", "GET"): (200, 200, 200, 200, 200),
    ("ops.readyz", "GET"): (200, 200, 200, 200, 200),
    # loopback; 404 elsewhere without a token
    ("ops.metrics_page", "GET"): (200, 200, 200, 200, 200),
    # nothing waits for a decision in the world: a flash and a redirect
    ("grade.decide", "POST"): (R, 403, R, R, 403),
    ("calibrate.index", "GET"): (R, 403, 200, 200, 403),
    # the slug is a module's, not a role-play's: refused with a flash and a redirect
    ("calibrate.start", "POST"): (R, 403, R, R, 403),
    # the world's run is the trainer's, completed: an admin may read it, not answer it
    ("calibrate.run", "GET"): (R, 403, 200, 200, 403),
    ("calibrate.answer", "POST"): (R, 403, R, 404, 403),
    ("reliability.report", "GET"): (R, 403, 200, 200, 403),
    ("reliability.csv", "GET"): (R, 403, 200, 200, 403),
    ("verify.form", "GET"): (200, 200, 200, 200, 200),
    # nothing pasted, nothing chosen: the form again with what is missing
    ("verify.check", "POST"): (422, 422, 422, 422, 422),
    ("verify.result", "GET"): (200, 200, 200, 200, 200),
    ("verify.pdf", "GET"): (200, 200, 200, 200, 200),
    ("verify.credential", "GET"): (200, 200, 200, 200, 200),
    ("verify.jwks", "GET"): (200, 200, 200, 200, 200),
    ("verify.key", "GET"): (200, 200, 200, 200, 200),
    ("verify.status_list", "GET"): (200, 200, 200, 200, 200),
    ("verify.issuer_profile", "GET"): (200, 200, 200, 200, 200),
    ("verify.track", "GET"): (200, 200, 200, 200, 200),
    ("api.certificate", "GET"): (200, 200, 200, 200, 200),
    ("api.eligibility", "POST"): (415, 415, 415, 415, 415),
    ("api.openapi", "GET"): (200, 200, 200, 200, 200),
    ("admin.index", "GET"): (R, 403, 403, 200, 403),
    ("admin.users", "GET"): (R, 403, 403, 200, 403),
    ("admin.set_role", "POST"): (R, 403, 403, R, 403),
    ("admin.set_active", "POST"): (R, 403, 403, R, 403),
    ("admin.reset_second_factor", "POST"): (R, 403, 403, R, 403),
    ("admin.send_reset", "POST"): (R, 403, 403, R, 403),
    ("admin.mail_log", "GET"): (R, 403, 403, 200, 403),
    ("admin.content", "GET"): (R, 403, 403, 200, 403),
    ("admin.sync", "POST"): (R, 403, 403, R, 403),
    ("admin.feedback", "GET"): (R, 403, 403, 200, 403),
    ("admin.audit_log", "GET"): (R, 403, 403, 200, 403),
    ("admin.certificates_list", "GET"): (R, 403, 403, 200, 403),
    ("admin.certificate", "GET"): (R, 403, 403, 200, 403),
    ("admin.change_certificate", "POST"): (R, 403, 403, 422, 403),
    ("admin.manual_issue", "GET"): (R, 403, 403, 200, 403),
    ("admin.manual_issue", "POST"): (R, 403, 403, 422, 403),
    ("admin.roster", "GET"): (R, 403, 403, 200, 403),
    ("admin.calibration_status", "GET"): (R, 403, 403, 200, 403),
    ("admin.roster_csv", "GET"): (R, 403, 403, 200, 403),
    ("admin.programs_list", "GET"): (R, 403, 403, 200, 403),
    ("admin.create_program", "POST"): (R, 403, 403, 422, 403),
    ("admin.program_detail", "GET"): (R, 403, 403, 200, 403),
    # the world's program is active already: nothing to decide (a flash and a redirect)
    ("admin.decide_program", "POST"): (R, 403, 403, R, 403),
    ("admin.add_program_staff", "POST"): (R, 403, 403, 422, 403),
    ("program.watchlist_page", "GET"): (R, 403, 403, 403, 200),
    ("program.add_codes", "POST"): (R, 403, 403, 403, 422),
    # the world's certificate is not on the program's list
    ("program.remove_code", "POST"): (R, 403, 403, 403, 404),
    ("program.watchlist_csv", "GET"): (R, 403, 403, 403, 200),
    ("program.keys", "GET"): (R, 403, 403, 403, 200),
    ("program.create_key", "POST"): (R, 403, 403, 403, 422),
    ("program.revoke_key", "POST"): (R, 403, 403, 403, R),
    ("program.request_form", "GET"): (200, 200, 200, 200, 200),
    ("program.request_form", "POST"): (422, 422, 422, 422, 422),
    # no key presented: the roster is a program's integration's, never a browser session's
    ("api.roster", "GET"): (401, 401, 401, 401, 401),
    ("api.roster_add", "POST"): (401, 401, 401, 401, 401),
    ("api.roster_remove", "DELETE"): (401, 401, 401, 401, 401),
    ("api.webhook_endpoints", "GET"): (401, 401, 401, 401, 401),
    ("api.webhook_create", "POST"): (401, 401, 401, 401, 401),
    ("api.webhook_endpoint", "GET"): (401, 401, 401, 401, 401),
    ("api.webhook_delete", "DELETE"): (401, 401, 401, 401, 401),
    ("api.webhook_rotate", "POST"): (401, 401, 401, 401, 401),
    ("api.webhook_test", "POST"): (401, 401, 401, 401, 401),
    # program staff's webhook endpoints (the world has no endpoint 1: 404 within the program)
    ("webhooks.index", "GET"): (R, 403, 403, 403, 200),
    ("webhooks.new", "GET"): (R, 403, 403, 403, 200),
    ("webhooks.new", "POST"): (R, 403, 403, 403, 422),
    ("webhooks.endpoint", "GET"): (R, 403, 403, 403, 404),
    ("webhooks.rotate", "POST"): (R, 403, 403, 403, 404),
    ("webhooks.enable", "POST"): (R, 403, 403, 403, 404),
    ("webhooks.disable", "POST"): (R, 403, 403, 403, 404),
    ("webhooks.delete", "POST"): (R, 403, 403, 403, 404),
    ("webhooks.send_test", "POST"): (R, 403, 403, 403, 404),
    ("webhooks.resend", "POST"): (R, 403, 403, 403, 404),
}


@dataclass
class World:
    learner: object
    target: object
    code: str
    attempt_id: int
    submission_id: int
    run_id: int
    thumbprint: str
    program_id: int
    key_id: int


def build_world(app: Flask, make_user: UserFactory) -> tuple[World, dict[str, object]]:
    learner = make_user("learner")
    factory = Factory(app)
    program = factory.program("World Mentoring")
    key, _plaintext = factory.api_key(program)
    users = {"learner": learner, "trainer": make_user("trainer"), "admin": make_user("admin"),
             "program": factory.program_staff(program)}
    target = make_user("learner", name="Target Person")
    client = app.test_client()
    Auth(client).login(learner)
    helpers.read_module(client, "foundations")
    helpers.read_module(client, "active-listening")
    attempt_id = helpers.start_quiz(client, "foundations")
    submission_id = helpers.submit_roleplay(client, "active-listening")
    with app.app_context(), app.extensions["courseware.db"].session() as s:
        from courseware.models import User

        holder = s.get(User, target.id)
        ctx = IssueContext("http://localhost", "Test issuer", PROJECT_ROOT / "certificates")
        cert = certificates.manual_issue(s, COMMAND_LINE, holder, "certified-peer-mentor",
                                         "Prior learning", utcnow(), ctx)
        s.commit()
        code = cert.code
    # the staff are calibrated on the world's role-play (calibration has its own tests)
    [run] = factory.calibrate(users["trainer"], "active-listening")
    factory.calibrate(users["admin"], "active-listening")
    kid = app.test_client().get("/.well-known/jwks.json").get_json()["keys"][0]["kid"]
    return World(learner, target, code, attempt_id, submission_id, run.id,
                 kid.rsplit("/", 1)[1], program.id, key.id), users


def url_values(world: World) -> dict[str, object]:
    return {"slug": "foundations", "code": world.code, "attempt_id": world.attempt_id,
            "submission_id": world.submission_id, "user_id": world.target.id,  # type: ignore[attr-defined]
            "change": "revoke", "filename": "site.css", "run_id": world.run_id,
            "table": "trainers", "thumbprint": world.thumbprint, "purpose": "revocation",
            "session_id": 1, "passkey_id": 1, "token": "not-a-token", "endpoint_id": 1,
            "message_id": 1, "program_id": world.program_id, "key_id": world.key_id,
            "decision": "approve"}


def test_every_route_has_an_entry(app: Flask) -> None:
    routes = {(rule.endpoint, method) for rule in app.url_map.iter_rules()
              for method in rule.methods - {"HEAD", "OPTIONS"} if rule.endpoint != "static"}
    assert routes - set(TABLE) == set(), "add these routes to the access table"
    assert set(TABLE) - routes == set(), "these table entries name routes that no longer exist"


@pytest.mark.parametrize("role", ROLES)
def test_route_role_table(app: Flask, make_user: UserFactory, role: str) -> None:
    world, users = build_world(app, make_user)
    client = app.test_client()
    if role != "anonymous":
        Auth(client).login(users[role])  # type: ignore[arg-type]
    values = url_values(world)
    failures = []
    # logging out (and logging in) changes who the client is: those go last
    rules = sorted((r for r in app.url_map.iter_rules() if r.endpoint != "static"),
                   key=lambda r: r.endpoint in ("auth.logout", "auth.login", "auth.register"))
    for rule in rules:
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            expected = TABLE[(rule.endpoint, method)][ROLES.index(role)]
            route_values = dict(values)
            if rule.endpoint == "verify.track":
                route_values["slug"] = "certified-peer-mentor"
            elif rule.endpoint in ("learn.roleplay", "learn.start_roleplay"):
                route_values["slug"] = "active-listening"
            url = rule.build({k: v for k, v in route_values.items() if k in rule.arguments})[1]
            if rule.endpoint == "grade.items_csv":
                url += "?quiz=foundations"
            response = client.open(url, method=method)
            if response.status_code != expected:
                failures.append(f"{method} {url}: {response.status_code}, expected {expected}")
            assert response.status_code < 500
    assert not failures, "\n".join(failures)


# RFC 8058: a mail client posts a one-click unsubscribe with no cookie, so no CSRF token; the
# link's own signature is what authorises it (tests/test_confirmation.py)
CSRF_EXEMPT = {"account.unsubscribe"}


def test_csrf_refused_on_every_form(database_url: str, tmp_path, make_user: UserFactory) -> None:  # type: ignore[no-untyped-def]
    """With CSRF on, every state-changing route without a token is refused (the API is exempt)."""
    app = make_app(database_url, tmp_path, WTF_CSRF_ENABLED=True)
    world, users = build_world(make_app(database_url, tmp_path / "setup"), make_user)
    values = url_values(world)
    for role in ("anonymous", "admin"):
        client = app.test_client()
        if role == "admin":
            with app.test_request_context():
                pass
            client.get("/login")
            # log in with a real token taken from the form, as a browser would
            page = client.get("/login").get_data(as_text=True)
            import re

            token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
            assert token
            response = client.post("/login", data={"email": users["admin"].email,  # type: ignore[attr-defined]
                                                   "password": "correct horse battery staple",
                                                   "csrf_token": token.group(1)})
            assert response.status_code == 302
        for rule in app.url_map.iter_rules():
            if "POST" not in rule.methods or rule.endpoint.startswith("api.") \
                    or rule.endpoint in CSRF_EXEMPT:
                continue
            url = rule.build({k: v for k, v in values.items() if k in rule.arguments})[1]
            response = client.post(url, data={})
            assert response.status_code == 400, f"{role} POST {url}: {response.status_code}"
            assert "expired" in response.get_data(as_text=True)
    app.extensions["courseware.db"].engine.dispose()


def test_security_headers_on_every_page(client) -> None:  # type: ignore[no-untyped-def]
    for url in ("/", "/login", "/register", "/verify", "/nope", "/api/v1/openapi.json",
                "/api/v1/certificates/x", "/.well-known/jwks.json", "/status/revocation",
                "/issuer"):
        response = client.get(url)
        csp = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
        public = url.startswith(("/api/", "/.well-known/", "/status/"))
        assert response.headers.getlist("Access-Control-Allow-Origin") == (["*"] if public else [])
        # each once, also where the view set one itself (the status list sets CORS)
        assert all(len(response.headers.getlist(name)) == 1 for name in HEADERS), url


def test_no_inline_script_in_templates() -> None:
    """JavaScript only from a static file (the CSP refuses anything else)."""
    for template in (PROJECT_ROOT / "templates").rglob("*.html"):
        text = template.read_text()
        for tag in re.findall(r"<script[^>]*>.*?</script>", text, re.S):
            assert re.fullmatch(r"<script src=\"\{\{ url_for\('static', filename='[a-z]+\.js'\) "
                                r"\}\}\" defer></script>", tag), (template, tag)
        assert text.count("<script") == len(re.findall(r"<script[^>]*>.*?</script>", text, re.S))
        assert " onclick=" not in text and " onload=" not in text, template
        assert 'style="' not in text, template
