"""Error pages: HTML for people, the JSON error shape under /api/."""

from __future__ import annotations

import logging

from flask import Flask, Response, has_request_context, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from courseware.domain.statuses import SecurityEvent
from courseware.services import audit
from courseware.web import db
from courseware.web.security import UnusableCharacter

log = logging.getLogger(__name__)

MESSAGES = {
    400: ("Bad request", "The request could not be understood. Go back and try again."),
    401: ("Please log in", "You need to log in to see this page."),
    403: ("Not allowed", "Your account does not have access to this page."),
    404: ("Not found", "There is nothing here. Check the address, or start from the home page."),
    405: ("Not allowed", "This address does not accept that kind of request."),
    409: ("Conflict", "Someone else changed this at the same time. Reload and try again."),
    410: ("Gone", "This is no longer available."),
    413: ("Too large", "What you sent is larger than this site accepts."),
    429: ("Too many requests", "You have made too many requests. Wait a moment and try again."),
    500: ("Something went wrong", "An unexpected error happened on our side. It has been logged."),
}

API_CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 409: "conflict", 410: "gone", 413: "payload_too_large",
    415: "unsupported_media_type", 429: "rate_limited", 500: "internal_error",
}


# Addresses only programs read: their errors are JSON whatever the client says it accepts.
MACHINE_PATHS = ("/api/", "/.well-known/", "/status/")


def wants_json() -> bool:
    """JSON errors for machine addresses, for a credential file asked for by anything but a
    browser, and for any client that prefers JSON to HTML: never an HTML page to a program."""
    if request.path.startswith(MACHINE_PATHS):
        return True
    accept = request.accept_mimetypes
    if request.path.endswith("/credential.jwt"):
        return accept.best_match(["application/json", "text/html"]) != "text/html"
    return max(accept["application/json"], accept["application/ld+json"]) > accept["text/html"]


def api_error(status: int, code: str, message: str, **headers: str) -> Response:
    response = jsonify({"error": {"code": code, "message": message}})
    response.status_code = status
    response.headers.update(headers)
    return response


STAFF_PREFIXES = ("/grade", "/admin")


def _record_refusal(status: int) -> None:
    """A 403 or 404 on a staff route is a security event: who, from where, what they asked."""
    path = request.path
    if status not in (403, 404) or not any(
            path == p or path.startswith(p + "/") for p in STAFF_PREFIXES):
        return
    actor = current_user._get_current_object() if current_user.is_authenticated \
        else audit.VISITOR
    # the refused request's own work is abandoned: free its write lock before writing elsewhere
    db.discard_session()
    writer = db.write_session()
    try:
        audit.record(writer, actor=actor, action=SecurityEvent.ACCESS_DENIED, target_type="route",
                     target_label=f"{request.method} {path}"[:300], details={"status": status})
        writer.commit()
    finally:
        writer.close()


def _handle_http(exc: HTTPException) -> ResponseReturnValue:
    status = exc.code or 500
    if has_request_context():
        _record_refusal(status)
    title, message = MESSAGES.get(status, (exc.name, exc.description or ""))
    headers: dict[str, str] = {}
    if status == 429:
        retry = getattr(exc, "retry_after", None)  # the limiter's count (courseware.web.ratelimit)
        if retry:
            headers["Retry-After"] = str(retry)
            message = f"Too many requests. Try again in {retry} seconds."
    valid_methods = getattr(exc, "valid_methods", None)
    if status == 405 and valid_methods:
        headers["Allow"] = ", ".join(valid_methods)
    if isinstance(exc, UnusableCharacter):
        message = exc.description or message
    if isinstance(exc, CSRFError):
        message = "The form had expired or was sent from elsewhere. Reload the page and try again."
    if wants_json():
        return api_error(status, API_CODES.get(status, "error"), message, **headers)
    body = render_template("error.html", status=status, title=title, message=message)
    return body, status, headers


def _handle_unexpected(exc: Exception) -> ResponseReturnValue:
    log.exception("unhandled error on %s %s", request.method, request.path)
    return _handle_http(InternalServerError())


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, _handle_http)
    app.register_error_handler(Exception, _handle_unexpected)
