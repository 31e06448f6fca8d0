"""Flask extensions. CSRF and login are app-independent; the rate limits are made per app
(courseware.web.ratelimit)."""

from __future__ import annotations

import hashlib
import unicodedata

from flask import Flask, Response, request
from flask_login import current_user
from flask_wtf import CSRFProtect

from courseware.web.ratelimit import RateLimiter, Rule, client_address
from courseware.web.security import Logins

csrf = CSRFProtect()
login_manager = Logins()

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
)

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

        limiter.add([endpoint], Rule(limit=value, scope=scope or endpoint, key=client_address,
                                     methods=frozenset(methods) if methods else None))
    limiter.add(ADDRESS_LIMITS, Rule(limit=lambda: str(app.config["MAIL_ADDRESS_LIMIT"]),
                                     scope="mail-address", key=_address_key,
                                     methods=frozenset({"POST"}), deduct_when=_asked_for_mail))
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

