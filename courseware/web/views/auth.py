"""Register, log in (password, then any second factor), log out, change password."""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user, logout_user
from werkzeug.wrappers import Response

from courseware.domain.throttle import wait_text
from courseware.models import User
from courseware.services import accounts, sessions
from courseware.services.throttle import ThrottleRules
from courseware.web import db, devices
from courseware.web.forms import (
    ActionForm,
    ChangePasswordForm,
    LoginForm,
    RegisterForm,
    add_error,
)
from courseware.web.security import current_session_id, login_required, safe_next
from courseware.web.views.common import me, now

bp = Blueprint("auth", __name__)


def _fast_hash() -> bool:
    return bool(current_app.config.get("FAST_PASSWORD_HASH"))


def _rules() -> ThrottleRules:
    return ThrottleRules.from_config(current_app.config)


def start_session(user: User) -> None:
    """A fresh server-side session: nothing planted before it (session fixation) survives,
    and the cookie carries only a random id (the server keeps its hash)."""
    flashes = session.get("_flashes")
    session.clear()
    if flashes:
        session["_flashes"] = flashes
    s = db.session()
    token = sessions.start(s, user, user_agent=request.headers.get("User-Agent"), now=now())
    s.commit()
    session["_user_id"] = token
    session["_fresh"] = True
    session.permanent = True


def finish_login(user: User, *, method: str, next_url: str | None) -> Response:
    """The password (and any second factor) checked: audit, start the session, remember this
    device, and go where the account must go first (enrol a second factor, change a weak
    password) or where the person was heading."""
    s = db.session()
    accounts.logged_in(s, user, method=method)
    s.commit()
    start_session(user)
    response = redirect(safe_next(next_url, url_for("learn.home")))
    return devices.remember(response, accounts.account_key(user.email))


@bp.route("/register", methods=["GET", "POST"])
def register() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(url_for("learn.home"))
    form = RegisterForm()
    if form.validate_on_submit():
        s = db.session()
        try:
            user = accounts.create_user(
                s, email=form.email.data or "", name=form.name.data or "",
                password=form.password.data or "", fast_hash=_fast_hash(),
            )
        except accounts.AccountError as exc:
            s.rollback()
            add_error(getattr(form, exc.field or "email"), str(exc))
        else:
            s.commit()
            flash(f"Welcome, {user.name}. Your training starts with the first module.", "success")
            return finish_login(user, method="registration", next_url=None)
    return render_template("auth/register.html", form=form), 422 if form.errors else 200


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    if current_user.is_authenticated:
        return redirect(safe_next(form.next.data, url_for("learn.home")))
    if form.validate_on_submit():
        s = db.session()
        email = form.email.data or ""
        result = accounts.authenticate(
            s, email, form.password.data or "", client=db.client_address(),
            device=devices.known_device(accounts.account_key(email)), rules=_rules(),
            now=now(), fast_hash=_fast_hash(),
        )
        s.commit()
        if result.user is not None:
            return finish_login(result.user, method="password", next_url=form.next.data)
        if result.wait_seconds:
            form.form_errors.append(
                "Too many failed attempts. For your account's safety, wait "
                f"{wait_text(result.wait_seconds)} before trying again, or log in from a "
                "device you have used before.")
        else:
            form.form_errors.append("Email or password is incorrect.")
        form.password.data = ""
    return render_template("auth/login.html", form=form), 422 if form.errors else 200


@bp.route("/logout", methods=["POST"])
def logout() -> ResponseReturnValue:
    form = ActionForm()
    if form.validate_on_submit():
        ident = current_session_id()
        if ident is not None:
            # the session ends on the server: a copy of the cookie is worth nothing now
            s = db.session()
            sessions.end(s, ident, now())
            s.commit()
        logout_user()
        session.clear()
        flash("You are logged out.", "info")
    return redirect(url_for("learn.home"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password() -> ResponseReturnValue:
    form = ChangePasswordForm()
    if form.validate_on_submit():
        s = db.session()
        user = me()
        try:
            accounts.change_password(
                s, user, form.current_password.data or "", form.new_password.data or "",
                client=db.client_address(),
                device=devices.known_device(accounts.account_key(user.email)), rules=_rules(),
                now=now(), fast_hash=_fast_hash())
        except accounts.WrongPassword as exc:
            s.commit()  # the failure counts toward the throttle
            add_error(form.current_password, str(exc))
        except accounts.AccountError as exc:
            s.rollback()
            add_error(getattr(form, exc.field or "new_password"), str(exc))
        else:
            s.commit()
            start_session(user)
            flash("Your password is changed. Every other session of your account is logged out.",
                  "success")
            return redirect(url_for("account.index"))
    return render_template("auth/password.html", form=form), 422 if form.errors else 200
