"""Flask extensions. CSRF and login are app-independent; the rate limits are made per app
(courseware.web.ratelimit)."""

from __future__ import annotations

import hashlib
import unicodedata

from flask import Flask, Response, request
from flask_login import current_user
from flask_wtf import CSRFProtect

from courseware.web.apikeys import limit_key, valid_key_presented
from courseware.web.ratelimit import RateLimiter, Rule, client_address
from courseware.web.security import Logins

csrf = CSRFProtect()
login_manager = Logins()

# The API routes of a program's integration (a key with the route's scope is required).
PROGRAM_API = ("api.roster", "api.roster_add", "api.roster_remove", "api.webhook_endpoints",
               "api.webhook_create", "api.webhook_endpoint", "api.webhook_delete",
               "api.webhook_rotate", "api.webhook_test")

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
    # a program's routes answer only a valid key: without one, trying keys costs as much as
    # trying codes
    *((endpoint, "VERIFY_LIMIT", None, "verify") for endpoint in PROGRAM_API),
)

# Routes a program's API key may be presented to: a request with a valid key counts against
# the key's limits (API_KEY_RATE_LIMIT and API_KEY_DAILY_QUOTA), not against the per-IP ones.
KEYED_ENDPOINTS = ("api.certificate", "api.eligibility", *PROGRAM_API)

# Forms that mail an address a visitor names, limited per address too (whatever the IP), so
# nobody can flood one mailbox; counted only when a message was asked for (a redirect).
ADDRESS_LIMITS = ("auth.register", "account.reset_request", "account.change_email",
                  "account.resend_confirmation")


def init_limiter(app: Flask) -> RateLimiter:
    """The limits bound to this app alone, so two apps in one process never share settings."""
    limiter = RateLimiter(app)
    for endpoint, key, methods, scope in RATE_LIMITS:
        def value(key: str = key) -> str:
            return str(app.config[key])

        # a request with a valid program key draws on that key's limits instead (below);
        # anonymous callers and bad keys draw on the per-IP budget
        anonymous = (lambda: not valid_key_presented()) if endpoint in KEYED_ENDPOINTS else None
        limiter.add([endpoint], Rule(limit=value, scope=scope or endpoint, key=client_address,
                                     methods=frozenset(methods) if methods else None,
                                     applies=anonymous))
    limiter.add(ADDRESS_LIMITS, Rule(limit=lambda: str(app.config["MAIL_ADDRESS_LIMIT"]),
                                     scope="mail-address", key=_address_key,
                                     methods=frozenset({"POST"}), deduct_when=_asked_for_mail))
    for config_key, scope in (("API_KEY_RATE_LIMIT", "api-key"),
                              ("API_KEY_DAILY_QUOTA", "api-key-day")):
        def key_budget(config_key: str = config_key) -> str:
            return str(app.config[config_key])

        limiter.add(KEYED_ENDPOINTS, Rule(limit=key_budget, scope=scope, key=limit_key,
                                          applies=valid_key_presented))
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

