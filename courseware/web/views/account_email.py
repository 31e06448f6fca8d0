"""The account blueprint's routes by email: reset a forgotten password, confirm an address,
change it, choose what mail to receive, and unsubscribe in one click. (Logging in and out stay
in views.auth; the account page itself in views.account.)"""

from __future__ import annotations

import logging

from flask import (
    Response,
    abort,
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

from courseware.domain.statuses import MailTopic, TokenPurpose
from courseware.infra.mail import Unsubscribe
from courseware.services import account_email, accounts
from courseware.web import db
from courseware.web.extensions import csrf
from courseware.web.forms import (
    ActionForm,
    ChangeEmailForm,
    PreferencesForm,
    ResetPasswordForm,
    ResetRequestForm,
    add_error,
)
from courseware.web.jobs import jobs
from courseware.web.security import login_required

# the same blueprint as the account page: one /account, in two modules by concern
from courseware.web.views.account import bp  # noqa: E402
from courseware.web.views.common import announce_certificates, issue_context, me, now

log = logging.getLogger(__name__)

TOPIC_NAMES = {MailTopic.REMINDERS: "reminders about your certificates",
               MailTopic.DIGESTS: "the daily digest of role-plays waiting for grading"}


def _fast_hash() -> bool:
    return bool(current_app.config.get("FAST_PASSWORD_HASH"))


def _private(response: ResponseReturnValue) -> Response:
    """A page reached by a secret link: never cached, never handed on as a referrer."""
    page = current_app.make_response(response)
    page.headers["Cache-Control"] = "no-store"
    page.headers["Referrer-Policy"] = "no-referrer"
    return page


def _link_invalid(purpose: TokenPurpose) -> Response:
    return _private((render_template("account/link_invalid.html", purpose=purpose), 410))


# --- forgotten password -------------------------------------------------------------------

@bp.route("/reset", methods=["GET", "POST"])
def reset_request() -> ResponseReturnValue:
    form = ResetRequestForm()
    if form.validate_on_submit():
        try:
            email = accounts.check_email(form.email.data or "")
        except accounts.AccountError as exc:
            add_error(form.email, str(exc))
        else:
            try:
                # the lookup runs as a job: this request does the same work, in the same time,
                # whether or not the address has an account
                jobs().request_password_reset(email)
            except Exception:
                log.exception("could not queue a password reset")
                form.form_errors.append("We could not send the message just now. Try again in "
                                        "a few minutes.")
                return render_template("account/reset_request.html", form=form), 503
            flash(f"If an account has the address {email}, we have sent it a link to choose a "
                  "new password. The link works for one hour.", "info")
            return redirect(url_for("auth.login"))
    return render_template("account/reset_request.html", form=form), 422 if form.errors else 200


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset(token: str) -> ResponseReturnValue:
    s = db.session()
    if account_email.valid_token(s, token, TokenPurpose.RESET, now()) is None:
        return _link_invalid(TokenPurpose.RESET)
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            account_email.reset_password(s, token, form.password.data or "", now(),
                                         issue_context(), fast_hash=_fast_hash())
        except account_email.LinkInvalid:
            s.rollback()
            return _link_invalid(TokenPurpose.RESET)
        except accounts.AccountError as exc:
            s.rollback()
            add_error(form.password, str(exc))
        else:
            s.commit()
            if current_user.is_authenticated:
                logout_user()
            session.clear()
            flash("Your password is changed, and every session of your account is logged out. "
                  "Log in with your new password.", "success")
            return redirect(url_for("auth.login"))
    return _private((render_template("account/reset.html", form=form, token=token),
                     422 if form.errors else 200))


# --- confirming an address ----------------------------------------------------------------

@bp.route("/confirm/<token>", methods=["GET", "POST"])
def confirm(token: str) -> ResponseReturnValue:
    s = db.session()
    found = account_email.valid_token(s, token, TokenPurpose.CONFIRM, now())
    if found is None:
        return _link_invalid(TokenPurpose.CONFIRM)
    form = ActionForm()
    change = found.email != found.user.email
    error = None
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        try:
            result = account_email.confirm(s, token, now(), issue_context())
        except account_email.LinkInvalid:
            s.rollback()
            return _link_invalid(TokenPurpose.CONFIRM)
        except accounts.AccountError as exc:
            s.rollback()
            error = str(exc)
        else:
            s.commit()
            flash(f"Your email address is now {result.user.email}." if result.previous_email
                  else f"Your email address {result.user.email} is confirmed. Thank you.",
                  "success")
            announce_certificates(result.issued)
            return redirect(url_for("learn.profile") if current_user.is_authenticated
                            else url_for("auth.login"))
    return _private((render_template("account/confirm.html", email=found.email, change=change,
                                     form=form, error=error), 409 if error else 200))


@bp.route("/confirm", methods=["POST"])
@login_required
def resend_confirmation() -> ResponseReturnValue:
    if not ActionForm().validate_on_submit():
        abort(400)
    user = me()
    if user.email_confirmed_at is not None:
        flash("Your email address is already confirmed.", "info")
    else:
        s = db.session()
        account_email.send_confirmation(s, user, now())
        s.commit()
        flash(f"We have sent a new confirmation link to {user.email}.", "success")
    return redirect(url_for("learn.profile") + "#email")


# --- the account's address and mail ---------------------------------------------------------

@bp.route("/email", methods=["GET", "POST"])
@login_required
def change_email() -> ResponseReturnValue:
    form = ChangeEmailForm()
    if form.validate_on_submit():
        s = db.session()
        try:
            account_email.request_email_change(s, me(), form.email.data or "",
                                               form.password.data or "", now(),
                                               fast_hash=_fast_hash())
        except accounts.AccountError as exc:
            s.rollback()
            add_error(getattr(form, exc.field or "email"), str(exc))
        else:
            s.commit()
            new = accounts.normalize_email(form.email.data or "")
            flash(f"We have sent a confirmation link to {new}. Your address changes when you "
                  "follow it.", "success")
            return redirect(url_for("learn.profile") + "#email")
    form.password.data = ""
    return render_template("account/email.html", form=form), 422 if form.errors else 200


@bp.route("/preferences", methods=["POST"])
@login_required
def preferences() -> ResponseReturnValue:
    form = PreferencesForm()
    if not form.validate_on_submit():
        abort(400)
    s = db.session()
    account_email.set_preferences(s, me(), reminders=bool(form.reminders.data),
                                  digests=bool(form.digests.data))
    s.commit()
    flash("Your email preferences are saved.", "success")
    return redirect(url_for("learn.profile") + "#email")


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt  # RFC 8058: a mail client posts "List-Unsubscribe=One-Click", with no cookie
def unsubscribe(token: str) -> ResponseReturnValue:
    found = Unsubscribe(current_app.config["SECRET_KEY"]).read(token)
    if found is None:
        return _private((render_template("account/link_invalid.html", purpose="unsubscribe"),
                         404))
    user_id, topic = found
    if request.method == "GET":  # a link scanner may fetch it: only the button acts
        return _private(render_template("account/unsubscribe.html", topic=TOPIC_NAMES[topic],
                                        token=token, done=False))
    s = db.session()
    if account_email.unsubscribe(s, user_id, topic) is None:
        return _private((render_template("account/link_invalid.html", purpose="unsubscribe"),
                         404))
    s.commit()
    return _private(render_template("account/unsubscribe.html", topic=TOPIC_NAMES[topic],
                                    token=token, done=True))
