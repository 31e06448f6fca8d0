"""Who may do what: sessions, roles, and the headers every response carries."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

from flask import Flask, Response, abort, redirect, request, url_for
from flask_login import LoginManager, current_user
from werkzeug.exceptions import BadRequest

from courseware.domain.statuses import Role
from courseware.models import User
from courseware.web import db

F = TypeVar("F", bound=Callable[..., Any])

CSP = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])

HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


def init_app(app: Flask, login_manager: LoginManager) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in to continue."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"
    login_manager.user_loader(_load_user)
    app.before_request(_refuse_nul)
    app.after_request(_security_headers)


def _load_user(user_id: str) -> User | None:
    """Sessions name "id:version"; a bumped version (new password, deactivation) ends them."""
    ident, _, version = user_id.partition(":")
    if not ident.isdigit() or not version.isdigit():
        return None
    user = db.session().get(User, int(ident))
    if user is None or not user.active or user.session_version != int(version):
        return None
    return user


class UnusableCharacter(BadRequest):
    description = ("The request contains a character that cannot be used (a NUL byte). "
                   "Remove it and try again.")


def _refuse_nul() -> None:
    """No person types NUL, and PostgreSQL cannot store it: refuse it once, for every route."""
    values = [value for _key, listed in request.args.lists() for value in listed]
    values.extend(str(value) for value in (request.view_args or {}).values())
    if request.method in ("POST", "PUT", "PATCH") and request.mimetype in (
            "application/x-www-form-urlencoded", "multipart/form-data"):
        values.extend(value for _key, listed in request.form.lists() for value in listed)
    if any("\x00" in value for value in values):
        raise UnusableCharacter()


def _security_headers(response: Response) -> Response:
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if request.path.startswith(("/api/", "/.well-known/", "/status/")):
        # public, read-only JSON that programs call from their own sites
        response.headers.setdefault("Access-Control-Allow-Origin", "*")
    if current_user.is_authenticated:
        # pages behind a login must not be kept by shared caches or the back button after logout
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def role_required(*roles: Role) -> Callable[[F], F]:
    """Log in first (redirect), then the role (403)."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
            if not current_user.has_role(*roles):
                abort(403)
            return view(*args, **kwargs)

        # functools.wraps keeps the view's signature; mypy cannot see that through Any
        return cast(F, wrapped)

    return decorator


login_required = role_required(*Role)


def safe_next(target: str | None, default: str) -> str:
    """Only same-site paths: "/x", never "//evil", "https://evil" or "/\\\\evil"."""
    if not target:
        return default
    target = target.strip()
    parts = urlsplit(target)
    if (
        parts.scheme
        or parts.netloc
        or not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
        or any(ord(c) < 32 for c in target)
    ):
        return default
    return target
