"""Who may do what: sessions, roles, and the headers every response carries."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from functools import wraps
from typing import TYPE_CHECKING, Any, TypeVar, cast
from urllib.parse import urlsplit

from flask import Flask, Response, abort, current_app, g, redirect, request, session, url_for
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask.typing import ResponseReturnValue
from flask_login import LoginManager, current_user
from flask_wtf.csrf import generate_csrf
from itsdangerous import BadSignature
from werkzeug.exceptions import BadRequest

from courseware.domain import clock
from courseware.domain.statuses import Role
from courseware.infra.remembered import Remembered
from courseware.models import User
from courseware.services import second_factor, sessions
from courseware.web import db
from courseware.web.current import current_request

if TYPE_CHECKING:
    from _typeshed import OptExcInfo
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

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


# public, read-only JSON that programs call from their own sites: any origin may read it
PUBLIC_JSON = ("/api/", "/.well-known/", "/status/")
HSTS = "max-age=63072000; includeSubDomains"


class ResponseHeaders:
    """WSGI middleware: the headers every response carries (HEADERS; Strict-Transport-Security
    when served over https, so browsers refuse plain http for this host from then on;
    Access-Control-Allow-Origin on PUBLIC_JSON), each added when the response does not set it
    itself, as the response starts. At this level they are appended to WSGI's plain list of
    pairs: added to the response's Headers in an after_request hook, each constant was checked
    and converted again on every request, about a twentieth of an anonymous API call's cost."""

    def __init__(self, app: WSGIApplication, https: bool) -> None:
        self.app = app
        always = [*HEADERS.items(), *([("Strict-Transport-Security", HSTS)] if https else [])]
        self._always = [(name.lower(), (name, value)) for name, value in always]
        self._public = [*self._always,
                        ("access-control-allow-origin", ("Access-Control-Allow-Origin", "*"))]

    def __call__(self, environ: WSGIEnvironment,
                 start_response: StartResponse) -> Iterable[bytes]:
        wanted = self._public if environ.get("PATH_INFO", "").startswith(PUBLIC_JSON) \
            else self._always

        def start(status: str, headers: list[tuple[str, str]],
                  exc_info: OptExcInfo | None = None) -> Callable[[bytes], object]:
            present = {name.lower() for name, _value in headers}
            headers.extend(pair for lowered, pair in wanted if lowered not in present)
            return start_response(status, headers, exc_info)

        return self.app(environ, start)


def init_app(app: Flask, login_manager: LoginManager) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in to continue."
    login_manager.login_message_category = "info"
    # sessions live on the server (user_session): nothing to gain from Flask-Login's guess at
    # a client's identity from its address, which changes on every mobile network
    login_manager.session_protection = None
    login_manager.user_loader(_load_user)
    # after CSRFProtect.init_app, whose generate_csrf this wraps for the templates (it offers
    # its own as a global and from a context processor: this one runs after, and wins)
    app.extensions[_SIGNED_TOKENS] = Remembered(4096)
    app.jinja_env.globals["csrf_token"] = csrf_token
    app.context_processor(lambda: {"csrf_token": csrf_token})
    app.session_interface = CookieSessions()
    app.before_request(_refuse_nul)
    app.before_request(_account_steps_first)
    app.after_request(_no_store_behind_login)
    # Flask's documented way to add middleware; mypy sees a method being replaced
    app.wsgi_app = ResponseHeaders(  # type: ignore[method-assign]
        app.wsgi_app, https=bool(app.config["HTTPS"]))


# what an account with a step to take first may still open: the step itself, and the way out
STEP_ENDPOINTS = {"static", "auth.logout", "auth.change_password"}


STAFF_BLUEPRINTS = {"grade", "admin"}


def _account_steps_first() -> ResponseReturnValue | None:
    """A password found weak or breached at login must be changed before anything else; a
    trainer or admin without a second factor enrols one before any staff page (when
    SECOND_FACTOR_REQUIRED_FOR_STAFF, the default)."""
    if (request.endpoint in STEP_ENDPOINTS or surely_anonymous()
            or not current_user.is_authenticated):
        return None
    if current_user.must_change_password:
        return redirect(url_for("auth.change_password"))
    user = current_user._get_current_object()
    assert isinstance(user, User)
    if request.blueprint in STAFF_BLUEPRINTS and second_factor.must_enrol(
            db.session(), user,
            required_for_staff=current_app.config["SECOND_FACTOR_REQUIRED_FOR_STAFF"]):
        return redirect(url_for("account.second_factor_page"))
    return None


_SIGNED_TOKENS = "courseware.signed_csrf_tokens"


def csrf_token() -> str:
    """The CSRF token for this page's forms (the templates' `csrf_token()`, on every page for
    the logout button): Flask-WTF's, whose signature (two HMACs, zlib and base64) it makes anew
    on every page (and still does on a page with a WTForms form, which asks it first). Tokens
    here do not expire (WTF_CSRF_TIME_LIMIT is None: a form lives as long as the session), so
    one signature of a session's secret token serves every page of it: remembered per
    process."""
    if "csrf_token" in g:  # this page has one already (Flask-WTF keeps it there too)
        token: str = g.csrf_token
        return token
    if current_app.config["WTF_CSRF_TIME_LIMIT"] is not None:
        return generate_csrf()
    signed: Remembered[tuple[Any, str], str] = current_app.extensions[_SIGNED_TOKENS]
    signing_key = current_app.config.get("WTF_CSRF_SECRET_KEY") or current_app.secret_key
    secret = session.get("csrf_token")
    remembered = signed.get((signing_key, secret)) if isinstance(secret, str) else None
    if remembered is not None:
        g.csrf_token = remembered  # where Flask-WTF looks first: a form uses this one too
        return remembered
    token = generate_csrf()  # which gives the session its secret token if it had none
    secret = session.get("csrf_token")
    if isinstance(secret, str):
        signed.keep((signing_key, secret), token)
    return token


def surely_anonymous() -> bool:
    """No session cookie came: nobody is logged in, and finding that out through Flask-Login
    (or even reading the session, which answers `Vary: Cookie`) is skipped: an anonymous API
    call, the verify pages, a first visit. Only the session cookie names a user here (no
    remember-me cookie, no request loader), and a login itself always arrives with one: the
    form's CSRF token, or the pending second step, lives in it."""
    req = current_request()
    return ("HTTP_COOKIE" not in req.environ
            or current_app.config["SESSION_COOKIE_NAME"] not in req.cookies)


class Logins(LoginManager):
    """Flask-Login, minus its remember-me bookkeeping after a request that brought no session
    cookie (it read the session on every response, which alone answers `Vary: Cookie`). This
    app sets no remember-me cookie; a logout, the one thing that asks for it to be cleared,
    always comes with a session."""

    def _update_remember_cookie(self, response: Response) -> Response:
        if surely_anonymous():
            return response
        return super()._update_remember_cookie(response)

    def _session_protection_failed(self) -> bool:
        """Never: its guess at a client from address and browser is off here (init_app says
        why), and Flask-Login hashes them on every load of the user before looking."""
        return False


_SCALARS = (str, int, float, bool, type(None))  # what a remembered session may hold


class CookieSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, minus two costs of Flask's own way, which builds a
    signing serializer and checks the signature (two HMACs, base64, tagged JSON) on every
    request: a request that brought no cookie (most anonymous ones) gets an empty session at
    once, as Flask would answer; and a cookie already opened by this process is not opened
    again. A logged-in browser sends the same cookie on every request (it changes only when
    the session does), so its content is remembered, keyed by the exact signed text with the
    keys that checked it, with the time it was signed: its age is still checked each time."""

    def __init__(self) -> None:
        self._opened: Remembered[tuple[str, tuple[Any, ...]], tuple[dict[str, Any], float]] = (
            Remembered(2048))

    def open_session(self, app: Flask, request: Any) -> SecureCookieSession | None:
        # Flask has pushed the request context by now (it says so, for this method's sake)
        if not app.secret_key:
            return None
        if surely_anonymous():
            return self.session_class()
        text = request.cookies.get(self.get_cookie_name(app))
        if not text:
            return self.session_class()
        max_age = app.permanent_session_lifetime.total_seconds()
        key = (text, (app.secret_key, *(app.config["SECRET_KEY_FALLBACKS"] or ())))
        known = self._opened.get(key)
        if known is not None and time.time() - known[1] <= max_age:
            return self.session_class(known[0])
        signing = self.get_signing_serializer(app)
        assert signing is not None
        try:
            data, signed_at = signing.loads(text, max_age=int(max_age), return_timestamp=True)
        except BadSignature:
            return self.session_class()
        # only flat sessions are kept: a list (flashed messages) is changed in place, and a
        # page must never see another request's changes
        if all(isinstance(value, _SCALARS) for value in data.values()):
            self._opened.keep(key, (data, signed_at.timestamp()))
        return self.session_class(data)


def _load_user(token: str) -> User | None:
    """The cookie names a server-side session by its random id: live, or nobody."""
    moment = clock.utcnow()
    found = sessions.resolve(db.session(), token, moment,
                             sessions.SessionPolicy.from_config(current_app.config))
    if found is None:
        return None
    row, user = found
    g.user_session_id = row.id
    if sessions.needs_touch(row, moment):
        if request.method in ("GET", "HEAD", "OPTIONS"):
            # a reading request has no write transaction: one short one of its own
            writer = db.write_session()
            try:
                sessions.touch(writer, row.id, moment)
                writer.commit()
            finally:
                writer.close()
        else:  # lands with the request's own commit (or next time)
            sessions.touch(db.session(), row.id, moment)
    return user


def current_session_id() -> int | None:
    """The id of the logged-in request's user_session row."""
    if not current_user.is_authenticated:
        return None
    ident: int | None = g.get("user_session_id")
    return ident


class UnusableCharacter(BadRequest):
    description = ("The request contains a character that cannot be used (a NUL byte). "
                   "Remove it and try again.")


def _refuse_nul() -> None:
    """No person types NUL, and PostgreSQL cannot store it: refuse it once, for every route.
    Read from the raw path and query string (a NUL there arrives as %00 or as the byte)
    rather than by parsing every argument of every request."""
    req = current_request()
    query = req.query_string
    if "\x00" in req.path or b"%00" in query or b"\x00" in query:
        raise UnusableCharacter()
    if req.method in ("POST", "PUT", "PATCH") and req.mimetype in (
            "application/x-www-form-urlencoded", "multipart/form-data") and any(
            "\x00" in value for _key, listed in req.form.lists() for value in listed):
        raise UnusableCharacter()


def _no_store_behind_login(response: Response) -> Response:
    """Pages behind a login are not kept by shared caches, nor by the back button after a
    logout (unless the view said how its response may be kept)."""
    if not surely_anonymous() and current_user.is_authenticated \
            and "Cache-Control" not in response.headers:
        response.headers.add("Cache-Control", "no-store")
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
