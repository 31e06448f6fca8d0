"""One program never reads or changes another's data: programs A and B, each with a staff
login, keys, a watch list and a webhook endpoint; every program route (pages and API) is walked
with A's login and A's key against B's entries, keys, endpoints and ids, and B's data is the
same afterwards."""

from __future__ import annotations

import csv
import io

from flask import Flask
from sqlalchemy import select

from courseware.domain.codes import format_code
from courseware.models import ApiKey, OutboxMessage, Program, RosterEntry, User, WebhookEndpoint
from courseware.services.webhooks import recipient
from tests.conftest import Auth
from tests.factories import Factory


def snapshot(app: Flask, program_id: int) -> tuple[object, ...]:
    """Everything of a program another could touch: its row, staff, keys, entries."""
    with app.app_context(), app.extensions["courseware.db"].session() as s:
        program = s.get(Program, program_id)
        assert program is not None
        return (
            (program.name, program.status, program.contact_email, program.country),
            tuple(s.execute(select(User.id, User.email, User.role, User.active, User.password_hash)
                            .where(User.program_id == program_id).order_by(User.id)).all()),
            tuple(s.execute(select(ApiKey.id, ApiKey.scopes, ApiKey.revoked_at, ApiKey.expires_at,
                                   ApiKey.name).where(ApiKey.program_id == program_id)
                            .order_by(ApiKey.id)).all()),
            tuple(s.execute(select(RosterEntry.id, RosterEntry.certificate_id)
                            .where(RosterEntry.program_id == program_id)
                            .order_by(RosterEntry.id)).all()),
            endpoints := tuple(s.execute(
                select(WebhookEndpoint.id, WebhookEndpoint.url, WebhookEndpoint.events,
                       WebhookEndpoint.enabled, WebhookEndpoint.secret,
                       WebhookEndpoint.previous_secret, WebhookEndpoint.deleted_at)
                .where(WebhookEndpoint.program_id == program_id)
                .order_by(WebhookEndpoint.id)).all()),
            tuple(s.scalars(select(OutboxMessage.id).where(OutboxMessage.recipient.in_(
                [recipient(row.id) for row in endpoints])))),
        )


def test_a_program_cannot_read_or_change_another_programs_data(app: Flask) -> None:
    factory = Factory(app)
    a, b = factory.program("Program A"), factory.program("Program B")
    staff_a, staff_b = factory.program_staff(a), factory.program_staff(b)
    key_a_row, key_a = factory.api_key(a)
    key_b_row, key_b = factory.api_key(b)
    shared = factory.manual_certificate(factory.user(name="Shared Mentor")).code
    only_b = factory.manual_certificate(factory.user(name="Bravo Only Mentor")).code
    factory.follow(b, staff_b, shared, only_b)
    factory.follow(a, staff_a, shared)
    hook_b, _secret = factory.webhook_endpoint(b, staff_b, "https://hooks.b.example/in")
    factory.webhook_endpoint(a, staff_a, "https://hooks.a.example/in")
    before = snapshot(app, b.id)

    page_client = app.test_client()
    Auth(page_client).login(staff_a)
    api = app.test_client()
    bearer = {"Authorization": f"Bearer {key_a}"}
    walked: set[str] = set()

    def page(endpoint: str, method: str, path: str, expected: int, **kwargs: object) -> str:
        walked.add(endpoint)
        response = page_client.open(path, method=method, **kwargs)  # type: ignore[arg-type]
        assert response.status_code == expected, (method, path, response.status_code)
        return response.get_data(as_text=True)

    def call(endpoint: str, method: str, path: str, expected: int, **kwargs: object) -> str:
        walked.add(endpoint)
        response = api.open(path, method=method, headers=bearer, **kwargs)  # type: ignore[arg-type]
        assert response.status_code == expected, (method, path, response.status_code)
        return response.get_data(as_text=True)

    # --- pages, as A's staff
    listing = page("program.watchlist_page", "GET", "/program/", 200)
    assert "Shared Mentor" in listing and "Bravo Only Mentor" not in listing
    for status in ("eligible", "expiring", "not_eligible"):
        assert "Bravo Only" not in page("program.watchlist_page", "GET",
                                        f"/program/?status={status}", 200)
    exported = page("program.watchlist_csv", "GET", "/program/watchlist.csv", 200)
    assert [r[1] for r in csv.reader(io.StringIO(exported))][1:] == ["Shared Mentor"]
    page("program.remove_code", "POST", f"/program/watchlist/{only_b}/remove", 404)
    page("program.remove_code", "POST", f"/program/watchlist/{format_code(only_b)}/remove", 404)
    keys = page("program.keys", "GET", "/program/keys", 200)
    assert key_a_row.prefix in keys and key_b_row.prefix not in keys
    page("program.revoke_key", "POST", f"/program/keys/{key_b_row.id}/revoke", 404)
    page("program.create_key", "POST", "/program/keys", 201,
         data={"name": "A's own", "scopes": ["roster"]})
    page("program.request_form", "GET", "/programs/request", 200)
    # a new request naming B is answered like any other and changes nothing of B
    page("program.request_form", "POST", "/programs/request", 200, data={
        "name": "Program B", "contact_email": "attacker@a.example", "country": "GB",
        "requester_name": "A", "note": "Taking over B."})
    for path, method in ((f"/admin/programs/{b.id}", "GET"), ("/admin/programs", "GET"),
                         (f"/admin/programs/{b.id}/decline", "POST"),
                         (f"/admin/programs/{b.id}/staff", "POST"), ("/admin/programs", "POST")):
        page("admin." + path, method, path, 403,
             data={"email": "mole@a.example", "name": "Mole", "contact_email": "x@a.example",
                   "country": "GB"})

    hooks = page("webhooks.index", "GET", "/program/webhooks", 200)
    assert "hooks.a.example" in hooks and "hooks.b.example" not in hooks
    page("webhooks.new", "GET", "/program/webhooks/new", 200)
    page("webhooks.new", "POST", "/program/webhooks/new", 422, data={"url": "ftp://x"})
    page("webhooks.endpoint", "GET", f"/program/webhooks/{hook_b.id}", 404)
    for action in ("rotate", "enable", "disable", "delete", "test"):
        page(f"webhooks.{'send_test' if action == 'test' else action}", "POST",
             f"/program/webhooks/{hook_b.id}/{action}", 404)
    page("webhooks.resend", "POST", f"/program/webhooks/{hook_b.id}/deliveries/1/resend", 404)

    # --- the API, with A's key
    body = call("api.roster", "GET", "/api/v1/roster", 200)
    assert "Bravo Only" not in body and "Shared Mentor" in body
    call("api.roster_remove", "DELETE", f"/api/v1/roster/{only_b}-nope", 400)
    call("api.roster_remove", "DELETE", f"/api/v1/roster/{only_b}", 404)  # B's, not A's
    # knowing a code, A may follow it too: on A's own list, B's entry untouched
    added = call("api.roster_add", "POST", "/api/v1/roster", 200,
                 json={"codes": [only_b, shared]})
    assert '"outcome":"added"' in added and '"outcome":"already"' in added
    call("api.roster_remove", "DELETE", f"/api/v1/roster/{only_b}", 204)  # A's own entry
    call("api.roster_remove", "DELETE", f"/api/v1/roster/{only_b}", 404)
    body = call("api.roster", "GET", "/api/v1/roster?status=not_eligible", 200)
    assert "Bravo Only" not in body
    page("program.add_codes", "POST", "/program/watchlist", 200, data={"codes": only_b})
    page("program.remove_code", "POST", f"/program/watchlist/{only_b}/remove", 302)
    # B's key and A's key are not interchangeable: B's key sees only B's list
    b_view = app.test_client().get("/api/v1/roster", headers={
        "Authorization": f"Bearer {key_b}"}).get_json()
    assert sorted(i["holder"]["name"] for i in b_view["items"]) == [
        "Bravo Only Mentor", "Shared Mentor"]

    listed = call("api.webhook_endpoints", "GET", "/api/v1/webhooks", 200)
    assert "hooks.a.example" in listed and "hooks.b.example" not in listed
    call("api.webhook_endpoint", "GET", f"/api/v1/webhooks/{hook_b.id}", 404)
    call("api.webhook_delete", "DELETE", f"/api/v1/webhooks/{hook_b.id}", 404)
    call("api.webhook_rotate", "POST", f"/api/v1/webhooks/{hook_b.id}/rotate", 404)
    call("api.webhook_test", "POST", f"/api/v1/webhooks/{hook_b.id}/test", 404)
    call("api.webhook_create", "POST", "/api/v1/webhooks", 422,
         json={"url": "https://10.0.0.8/in", "events": ["certificate.revoked"]})

    assert snapshot(app, b.id) == before
    routes = {rule.endpoint for rule in app.url_map.iter_rules()
              if rule.endpoint.startswith(("program.", "webhooks.", "api.roster", "api.webhook"))}
    assert routes <= walked, f"walk these program routes too: {routes - walked}"
