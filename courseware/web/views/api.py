"""The JSON API (v1): verify certificates one by one or in a batch (anonymous, or with a
program's key of scope `verify`), a program's watch list (`/roster`, scope `roster`) and its
webhook endpoints (`/webhooks`, scope `webhooks`)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from flask.typing import ResponseReturnValue

from courseware.domain import watchlist as rules
from courseware.domain.codes import MalformedCode, parse_code
from courseware.domain.statuses import ApiScope, WatchFilter
from courseware.infra import metrics
from courseware.infra.webhook_http import resolve
from courseware.models import WebhookEndpoint
from courseware.services import certificates, watchlist, webhooks
from courseware.web import db
from courseware.web.apikeys import api_key_required, current_key, current_program, key_actor
from courseware.web.errors import api_error
from courseware.web.extensions import csrf
from courseware.web.jsonbody import json_body
from courseware.web.openapi import openapi_document
from courseware.web.views.common import now

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)  # no cookies or sessions are used here: nothing to forge

MAX_BATCH = 100


def _lookup(raw: Any) -> tuple[int, dict[str, Any]]:
    """(status, body) for one code: the certificate object, or an error object."""
    if not isinstance(raw, str):
        return _counted(400, {"code": "malformed_code", "message": "A code must be a string."})
    try:
        code = parse_code(raw)
    except MalformedCode as exc:
        return _counted(400, {"code": "malformed_code", "message": str(exc)})
    record = certificates.public_record_of(db.database().engine, code, now(),
                                          current_app.config["BASE_URL"])
    if record is None:
        return _counted(404, {"code": "not_found", "message": "No certificate has this code."})
    return _counted(200, record)


def _codes_body(most: int, max_bytes: int | None = None) -> tuple[list[Any], Response | None]:
    """The list of a `{"codes": [...]}` body (1 to `most` items), or the 4xx that says what is
    wrong with the body."""
    body, problem = json_body(max_bytes)
    if problem is not None:
        return [], problem
    if not isinstance(body, dict) or set(body) != {"codes"}:
        return [], api_error(400, "invalid_request", 'The body must be {"codes": [...]} and '
                             "nothing else.")
    codes = body["codes"]
    if not isinstance(codes, list) or not codes:
        return [], api_error(400, "invalid_request",
                             '"codes" must be a non-empty list of strings.')
    if len(codes) > most:
        return [], api_error(400, "too_many_codes", f"Send at most {most} codes at a time.")
    return codes, None


def _counted(status: int, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    result = body["status"] if status == 200 else body["code"]
    metrics.count_lookup("api", result)
    return status, body


@bp.route("/certificates/<path:code>")
@api_key_required(ApiScope.VERIFY, optional=True)
def certificate(code: str) -> ResponseReturnValue:
    status, body = _lookup(code)
    if status != 200:
        return api_error(status, body["code"], body["message"])
    return jsonify(body)


@bp.route("/eligibility", methods=["POST"])
@api_key_required(ApiScope.VERIFY, optional=True)
def eligibility() -> ResponseReturnValue:
    codes, problem = _codes_body(MAX_BATCH)
    if problem is not None:
        return problem
    results = []
    for raw in codes:
        status, record = _lookup(raw)
        if status == 200:
            results.append(record)
        else:
            results.append({"code": raw if isinstance(raw, str) else None, "error": record})
    return jsonify({"results": results})


@bp.route("/openapi.json")
def openapi() -> ResponseReturnValue:
    return jsonify(openapi_document(current_app.config["BASE_URL"]))


# --- a program's watch list ("roster") --------------------------------------------------------

def _item(item: watchlist.WatchItem) -> dict[str, Any]:
    base = current_app.config["BASE_URL"]
    return {"code": item.code, "holder": {"name": item.holder},
            "track": {"slug": item.track_slug, "title": item.track_title},
            "status": item.status.value, "eligible": item.eligible,
            "expires_at": certificates.iso(item.expires_at), "days_left": item.days_left,
            "added_at": certificates.iso(item.added_at),
            "verify_url": f"{base}/verify/{item.code}"}


@bp.route("/roster")
@api_key_required(ApiScope.ROSTER)
def roster() -> ResponseReturnValue:
    status = request.args.get("status")
    which = None
    if status:
        try:
            which = WatchFilter(status)
        except ValueError:
            return api_error(400, "invalid_request", "status must be one of "
                             f"{', '.join(f.value for f in WatchFilter)}.")
    raw_limit = request.args.get("limit", str(watchlist.PER_PAGE))
    if not raw_limit.isdecimal() or not 1 <= int(raw_limit) <= watchlist.MAX_PER_PAGE:
        return api_error(400, "invalid_request",
                         f"limit must be a whole number from 1 to {watchlist.MAX_PER_PAGE}.")
    cursor = request.args.get("cursor")
    if cursor is not None and watchlist.decode_cursor(cursor) is None:
        return api_error(400, "invalid_cursor", "cursor must be a next_cursor this API gave.")
    found = watchlist.page(db.session(), current_program().id, now(), which=which,
                           after=cursor, per_page=int(raw_limit))
    return jsonify({"items": [_item(item) for item in found.items],
                    "next_cursor": found.next_cursor, "counts": found.counts})


@bp.route("/roster", methods=["POST"])
@api_key_required(ApiScope.ROSTER)
def roster_add() -> ResponseReturnValue:
    codes, problem = _codes_body(rules.MAX_CODES,
                                 int(current_app.config["API_ROSTER_MAX_BODY_BYTES"]))
    if problem is not None:
        return problem
    s = db.session()
    key = current_key()
    report = watchlist.add(s, current_program(), rules.parse_api_codes(codes),
                           actor=key_actor(), now=now(), key_id=key.id if key else None)
    s.commit()
    return jsonify({
        "results": [{"input": codes[row.line - 1] if isinstance(codes[row.line - 1], str)
                     else None, "code": row.code,
                     "outcome": row.outcome.value if row.outcome else None,
                     "message": row.message} for row in report],
        "counts": {outcome.value: n for outcome, n in rules.counts(report).items()}})


@bp.route("/roster/<path:code>", methods=["DELETE"])
@api_key_required(ApiScope.ROSTER)
def roster_remove(code: str) -> ResponseReturnValue:
    try:
        canonical = parse_code(code)
    except MalformedCode as exc:
        return api_error(400, "malformed_code", str(exc))
    s = db.session()
    if not watchlist.remove(s, current_program(), canonical, actor=key_actor()):
        s.rollback()
        return api_error(404, "not_found", "This certificate is not on your program's roster.")
    s.commit()
    return Response(status=204)


# --- a program's webhook endpoints (scope `webhooks`) -------------------------------------------

def _endpoint(found: WebhookEndpoint) -> dict[str, Any]:
    return {"id": found.id, "url": found.url, "description": found.description,
            "events": found.events.split(), "enabled": found.enabled,
            "disabled_reason": found.disabled_reason,
            "failing_since": certificates.iso(found.failing_since),
            "last_attempt_at": certificates.iso(found.last_attempt_at),
            "last_status": found.last_status,
            "created_at": certificates.iso(found.created_at)}


def _endpoint_or_none(endpoint_id: int) -> WebhookEndpoint | None:
    return webhooks.endpoint(db.session(), current_program().id, endpoint_id)


def _no_endpoint() -> ResponseReturnValue:
    return api_error(404, "not_found", "Your program has no webhook endpoint with this id.")


@bp.route("/webhooks")
@api_key_required(ApiScope.WEBHOOKS)
def webhook_endpoints() -> ResponseReturnValue:
    found = webhooks.endpoints(db.session(), current_program().id)
    return jsonify({"items": [_endpoint(item) for item in found]})


@bp.route("/webhooks", methods=["POST"])
@api_key_required(ApiScope.WEBHOOKS)
def webhook_create() -> ResponseReturnValue:
    body, problem = json_body()
    if problem is not None:
        return problem
    if (not isinstance(body, dict) or not {"url", "events"} <= set(body)
            or not set(body) <= {"url", "events", "description"}):
        return api_error(400, "invalid_request", 'The body must be {"url": ..., "events": '
                         '[...]} with an optional "description".')
    url, events, description = body["url"], body["events"], body.get("description") or ""
    if (not isinstance(url, str) or not isinstance(description, str)
            or not isinstance(events, list) or not all(isinstance(e, str) for e in events)):
        return api_error(400, "invalid_request", '"url" and "description" are strings, '
                         '"events" a list of event names.')
    s = db.session()
    try:
        created = webhooks.create(
            s, current_program().id, key_actor(), url=url, events=events,
            description=description, now=now(),
            allow_http_loopback=bool(current_app.config["WEBHOOK_ALLOW_HTTP_LOOPBACK"]),
            resolver=resolve)
    except webhooks.EndpointError as exc:
        s.rollback()
        return api_error(422, "invalid_endpoint", str(exc))
    s.commit()
    answer = jsonify({**_endpoint(created.endpoint), "secret": created.secret})
    answer.status_code = 201
    answer.headers["Cache-Control"] = "no-store"
    return answer


@bp.route("/webhooks/<id:endpoint_id>")
@api_key_required(ApiScope.WEBHOOKS)
def webhook_endpoint(endpoint_id: int) -> ResponseReturnValue:
    found = _endpoint_or_none(endpoint_id)
    return _no_endpoint() if found is None else jsonify(_endpoint(found))


@bp.route("/webhooks/<id:endpoint_id>", methods=["DELETE"])
@api_key_required(ApiScope.WEBHOOKS)
def webhook_delete(endpoint_id: int) -> ResponseReturnValue:
    found = _endpoint_or_none(endpoint_id)
    if found is None:
        return _no_endpoint()
    s = db.session()
    webhooks.delete(s, found, key_actor(), now())
    s.commit()
    return Response(status=204)


@bp.route("/webhooks/<id:endpoint_id>/rotate", methods=["POST"])
@api_key_required(ApiScope.WEBHOOKS)
def webhook_rotate(endpoint_id: int) -> ResponseReturnValue:
    found = _endpoint_or_none(endpoint_id)
    if found is None:
        return _no_endpoint()
    s = db.session()
    secret = webhooks.rotate_secret(s, found, key_actor(), now())
    s.commit()
    answer = jsonify({**_endpoint(found), "secret": secret})
    answer.headers["Cache-Control"] = "no-store"
    return answer


@bp.route("/webhooks/<id:endpoint_id>/test", methods=["POST"])
@api_key_required(ApiScope.WEBHOOKS)
def webhook_test(endpoint_id: int) -> ResponseReturnValue:
    found = _endpoint_or_none(endpoint_id)
    if found is None:
        return _no_endpoint()
    s = db.session()
    webhooks.send_test(s, found, now())
    s.commit()
    return jsonify({"queued": True}), 202
