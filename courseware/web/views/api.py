"""The public JSON API (v1): verify certificates one by one or in a batch."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue

from courseware.domain.codes import MalformedCode, parse_code
from courseware.infra import metrics
from courseware.services import certificates
from courseware.web import db
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
    record = certificates.public_record_of(db.session(), code, now(),
                                          current_app.config["BASE_URL"])
    if record is None:
        return _counted(404, {"code": "not_found", "message": "No certificate has this code."})
    return _counted(200, record)


def _counted(status: int, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    result = body["status"] if status == 200 else body["code"]
    metrics.VERIFY_LOOKUPS.labels(channel="api", result=result).inc()
    return status, body


@bp.route("/certificates/<path:code>")
def certificate(code: str) -> ResponseReturnValue:
    status, body = _lookup(code)
    if status != 200:
        return api_error(status, body["code"], body["message"])
    return jsonify(body)


@bp.route("/eligibility", methods=["POST"])
def eligibility() -> ResponseReturnValue:
    body, problem = json_body()
    if problem is not None:
        return problem
    if not isinstance(body, dict) or set(body) != {"codes"}:
        return api_error(400, "invalid_request", 'The body must be {"codes": [...]} and '
                         "nothing else.")
    codes = body["codes"]
    if not isinstance(codes, list) or not codes:
        return api_error(400, "invalid_request", '"codes" must be a non-empty list of strings.')
    if len(codes) > MAX_BATCH:
        return api_error(400, "too_many_codes", f"Send at most {MAX_BATCH} codes at a time.")
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
