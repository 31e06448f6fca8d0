"""Register, log in, log out, change password."""

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
from flask_login import current_user, login_user, logout_user

from courseware.models import User
from courseware.services import account_email, accounts
from courseware.web import db
from courseware.web.forms import (
    ActionForm,
    ChangePasswordForm,
    LoginForm,
    RegisterForm,
    add_error,
)
from courseware.web.security import login_required, safe_next
from courseware.web.views.common import me, now

bp = Blueprint("auth", __name__)


def _fast_hash() -> bool:
    return bool(current_app.config.get("FAST_PASSWORD_HASH"))



def _start_session(user: User) -> None:
    # a fresh session at login: nothing planted before it (session fixation) survives
    session.clear()
    login_user(user)
    session.permanent = True


@bp.route("/register", methods=["GET", "POST"])
def register() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(url_for("learn.home"))
    form = RegisterForm()
    if form.validate_on_submit():
        s = db.session()
        try:
            # the same answer whether or not the address has an account: the mailbox is told
            account_email.register(
                s, email=form.email.data or "", name=form.name.data or "",
                password=form.password.data or "", now=now(), fast_hash=_fast_hash(),
            )
        except accounts.AccountError as exc:
            s.rollback()
            add_error(getattr(form, exc.field or "email"), str(exc))
        else:
            s.commit()
            flash(f"Check your email: we have sent a message to "
                  f"{accounts.normalize_email(form.email.data or '')}. Follow the link in it to "
                  "confirm your address. You can log in and start the course meanwhile; your "
                  "certificate is issued once the address is confirmed.", "success")
            return redirect(url_for("auth.login"))
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
        config = current_app.config
        result = accounts.authenticate(
            s, form.email.data or "", form.password.data or "",
            max_failures=config["LOGIN_MAX_FAILURES"], lock_minutes=config["LOGIN_LOCK_MINUTES"],
            fast_hash=_fast_hash(),
        )
        s.commit()
        if result.user is not None:
            _start_session(result.user)
            return redirect(safe_next(form.next.data, url_for("learn.home")))
        if result.locked_minutes:
            form.form_errors.append(
                "Too many failed attempts for this email address. "
                f"Try again in {result.locked_minutes} minute"
                f"{'s' if result.locked_minutes != 1 else ''}."
            )
        else:
            form.form_errors.append("Email or password is incorrect.")
        form.password.data = ""
    return render_template("auth/login.html", form=form), 422 if form.errors else 200


@bp.route("/logout", methods=["POST"])
def logout() -> ResponseReturnValue:
    form = ActionForm()
    if form.validate_on_submit():
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
        try:
            accounts.change_password(s, me(), form.current_password.data or "",
                                     form.new_password.data or "", fast_hash=_fast_hash())
        except accounts.AccountError as exc:
            s.rollback()
            add_error(getattr(form, exc.field or "new_password"), str(exc))
        else:
            s.commit()
            _start_session(me())
            flash("Your password is changed. Other sessions of your account are logged out.",
                  "success")
            return redirect(url_for("learn.profile"))
    return render_template("auth/password.html", form=form), 422 if form.errors else 200
