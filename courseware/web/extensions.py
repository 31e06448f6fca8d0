"""Flask extensions. CSRF and login are app-independent; the rate limiter is made per app."""

from __future__ import annotations

import hashlib
import unicodedata
from typing import cast

from flask import Flask, Response, current_app, request
from flask.typing import RouteCallable
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, current_user
from flask_wtf import CSRFProtect

from courseware.web.apikeys import keyed_request, limit_key

csrf = CSRFProtect()
login_manager = LoginManager()

# (endpoint, config key holding the limit, methods, shared scope); limits are per client IP.
# Every way of looking up a certificate draws on one "verify" budget, page or API alike, so
# guessing codes costs the same whichever door is used.
RATE_LIMITS = (
    ("auth.login", "LOGIN_LIMIT", ["POST"], None),
    ("auth.register", "REGISTER_LIMIT", ["POST"], None),
    ("verify.form", "VERIFY_LIMIT", None, "verify"),
    ("verify.check", "VERIFY_LIMIT", None, "verify"),
    ("verify.result", "VERIFY_LIMIT", None, "verify"),
    ("verify.pdf", "VERIFY_LIMIT", None, "verify"),
    ("verify.credential", "VERIFY_LIMIT", None, "verify"),
    ("api.certificate", "VERIFY_LIMIT", None, "verify"),
    ("api.eligibility", "VERIFY_LIMIT", None, "verify"),
    ("account.reset_request", "RESET_LIMIT", ["POST"], "reset"),
    ("account.reset", "RESET_LIMIT", ["POST"], "reset"),
    ("program.request_form", "PROGRAM_REQUEST_LIMIT", ["POST"], None),
)

# Routes a program's API key may be presented to: a keyed request counts against the key's
# limits (API_KEY_RATE_LIMIT and API_KEY_DAILY_QUOTA), not against the per-IP ones.
KEYED_ENDPOINTS = ("api.certificate", "api.eligibility", "api.roster", "api.roster_add",
                   "api.roster_remove", "api.webhook_endpoints", "api.webhook_create",
                   "api.webhook_endpoint", "api.webhook_delete", "api.webhook_rotate",
                   "api.webhook_test")

# Forms that mail an address a visitor names, limited per address too (whatever the IP), so
# nobody can flood one mailbox; counted only when a message was asked for (a redirect).
ADDRESS_LIMITS = ("auth.register", "account.reset_request", "account.change_email",
                  "account.resend_confirmation")


def init_limiter(app: Flask) -> Limiter:
    """A limiter bound to this app alone, so two apps in one process never share settings."""
    limiter = Limiter(key_func=get_remote_address, app=app, default_limits=[])
    for endpoint, key, methods, scope in RATE_LIMITS:
        view = app.view_functions[endpoint]
        def value(key: str = key) -> str:
            return str(app.config[key])

        # a keyed API request draws on its key's limits instead (below)
        exempt = keyed_request if endpoint in KEYED_ENDPOINTS else None
        decorator = (limiter.shared_limit(value, scope=scope, methods=methods,
                                          exempt_when=exempt) if scope
                     else limiter.limit(value, methods=methods))
        # the limiter's decorator is typed for async views too; ours are plain functions
        app.view_functions[endpoint] = cast(RouteCallable, decorator(view))
    per_address = limiter.shared_limit(lambda: str(app.config["MAIL_ADDRESS_LIMIT"]),
                                       scope="mail-address", key_func=_address_key,
                                       methods=["POST"], deduct_when=_asked_for_mail)
    for endpoint in ADDRESS_LIMITS:
        app.view_functions[endpoint] = cast(RouteCallable,
                                            per_address(app.view_functions[endpoint]))
    per_key = limiter.shared_limit(
        lambda: f"{app.config['API_KEY_RATE_LIMIT']};{app.config['API_KEY_DAILY_QUOTA']}",
        scope="api-key", key_func=limit_key, exempt_when=lambda: not keyed_request())
    for endpoint in KEYED_ENDPOINTS:
        app.view_functions[endpoint] = cast(RouteCallable,
                                            per_key(app.view_functions[endpoint]))
    app.extensions["courseware.limiter"] = limiter
    return limiter


def _address_key() -> str:
    """The address a form would mail (the typed one, else the account's), hashed: the limit
    store never holds addresses."""
    typed = request.form.get("email", "")
    if not typed and current_user.is_authenticated:
        typed = current_user.email
    normalized = unicodedata.normalize("NFKC", typed).strip().casefold()
    return "address:" + hashlib.sha256(normalized.encode()).hexdigest()


def _asked_for_mail(response: Response) -> bool:
    return response.status_code == 302


def current_limiter() -> Limiter:
    limiter: Limiter = current_app.extensions["courseware.limiter"]
    return limiter
