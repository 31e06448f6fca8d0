"""Register, log in (password, then any second factor), log out, change password."""

from __future__ import annotations

import json

from flask import (
    Blueprint,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user, logout_user
from werkzeug.wrappers import Response

from courseware.domain.statuses import SecurityEvent
from courseware.domain.throttle import wait_text
from courseware.infra.kek import Sealer
from courseware.models import User
from courseware.services import account_email, accounts, audit, second_factor, sessions, throttle
from courseware.services.throttle import ThrottleRules
from courseware.web import db, devices
from courseware.web.forms import (
    ActionForm,
    ChangePasswordForm,
    LoginForm,
    RegisterForm,
    SecondFactorLoginForm,
    add_error,
)
from courseware.web.jsonbody import json_body
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
    target = safe_next(next_url, url_for("learn.home"))
    if second_factor.must_enrol(s, user, required_for_staff=current_app.config[
            "SECOND_FACTOR_REQUIRED_FOR_STAFF"]):
        target = url_for("account.second_factor_page")  # its notice says why
    return devices.remember(redirect(target), accounts.account_key(user.email))


# --- the second step of a login -------------------------------------------------------------

PENDING = "pending_login"
PENDING_SECONDS = 300


def _pending_user() -> User | None:
    """The account whose password was just checked, waiting for its second factor."""
    pending = session.get(PENDING)
    if not isinstance(pending, dict):
        return None
    started = pending.get("at")
    if not isinstance(started, (int, float)) or now().timestamp() - started > PENDING_SECONDS:
        return None
    user = accounts.get(db.session(), pending.get("user"))
    return user if user is not None and user.active else None


def _ask_second_factor(user: User, next_url: str | None) -> ResponseReturnValue:
    session.clear()
    session[PENDING] = {"user": user.id, "at": now().timestamp(), "next": next_url or ""}
    return redirect(url_for("auth.second_factor_page"))


def _relying_party() -> second_factor.RelyingParty:
    config = current_app.config
    return second_factor.RelyingParty.of(config["BASE_URL"], config["ISSUER_NAME"])


WRONG_CODE = "That code is not right, or was already used. Try the code your app shows now."
WRONG_PASSKEY = "That passkey was not accepted. Try again, or use another way below."


def _second_factor_failed(user: User, message: str = WRONG_CODE) -> str:
    """Count a wrong code like a wrong password; the message to show."""
    s = db.session()
    scopes = _rules().scopes(accounts.account_key(user.email), db.client_address(),
                             devices.known_device(accounts.account_key(user.email)))
    throttle.fail(s, scopes, now(), _rules())
    audit.record(s, actor=audit.VISITOR, action=SecurityEvent.SECOND_FACTOR_FAILED,
                 target_type="user", target_id=user.id, target_label=user.email)
    s.commit()
    return message


def _second_factor_wait(user: User) -> int:
    account = accounts.account_key(user.email)
    scopes = _rules().scopes(account, db.client_address(), devices.known_device(account))
    return throttle.wait_seconds(db.session(), scopes, now())


@bp.route("/login/verify", methods=["GET", "POST"])
def second_factor_page() -> ResponseReturnValue:
    user = _pending_user()
    if user is None:
        flash("Log in again: the second step waits five minutes at most.", "info")
        return redirect(url_for("auth.login"))
    s = db.session()
    enrolled = second_factor.enrolment(s, user)
    form = SecondFactorLoginForm()
    if form.validate_on_submit():
        wait = _second_factor_wait(user)
        code, recovery = (form.code.data or "").strip(), (form.recovery_code.data or "").strip()
        if wait:
            form.form_errors.append(f"Too many wrong codes. Wait {wait_text(wait)} and try "
                                    "again.")
        elif code and second_factor.verify_totp(
                s, user, code, sealer=Sealer(current_app.config["KEY_ENCRYPTION_KEY"]),
                now=now()):
            s.commit()
            return finish_login(user, method="totp", next_url=session[PENDING].get("next"))
        elif recovery and second_factor.use_recovery_code(s, user, recovery, now()):
            s.commit()
            flash("You used a recovery code. Each works once: make new ones on your account "
                  "page when you run low.", "info")
            return finish_login(user, method="recovery_code",
                                next_url=session[PENDING].get("next"))
        elif code or recovery:
            s.rollback()
            add_error(form.code if code else form.recovery_code, _second_factor_failed(user))
        else:
            form.form_errors.append("Type the code from your app, or a recovery code.")
    return render_template("auth/second_factor.html", form=form, enrolled=enrolled,
                           user=user), 422 if form.errors else 200


def _json_error(status: int, message: str) -> ResponseReturnValue:
    return jsonify({"error": {"code": "second_factor", "message": message}}), status


@bp.route("/login/verify/passkey/options", methods=["POST"])
def passkey_options() -> ResponseReturnValue:
    user = _pending_user()
    if user is None:
        return _json_error(401, "Log in again: the second step waits five minutes at most.")
    options, challenge = second_factor.authentication_options(db.session(), user,
                                                              _relying_party())
    session["passkey_challenge"] = challenge.hex()
    return current_app.response_class(options, mimetype="application/json")


@bp.route("/login/verify/passkey", methods=["POST"])
def passkey_login() -> ResponseReturnValue:
    user = _pending_user()
    challenge = session.pop("passkey_challenge", None)
    if user is None or not isinstance(challenge, str):
        return _json_error(401, "Log in again: the second step waits five minutes at most.")
    if _second_factor_wait(user):
        return _json_error(429, "Too many failed attempts. Wait a few minutes and try again.")
    body, problem = json_body()
    if problem is not None:
        return problem
    credential = body.get("credential") if isinstance(body, dict) else None
    s = db.session()
    if not isinstance(credential, dict) or not second_factor.verify_passkey(
            s, user, json.dumps(credential), bytes.fromhex(challenge), _relying_party(), now()):
        s.rollback()
        return _json_error(400, _second_factor_failed(user, WRONG_PASSKEY))
    s.commit()
    response = finish_login(user, method="passkey", next_url=session[PENDING].get("next"))
    answer = jsonify({"redirect": response.headers["Location"]})
    for cookie in response.headers.getlist("Set-Cookie"):
        answer.headers.add("Set-Cookie", cookie)
    return answer


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
        email = form.email.data or ""
        result = accounts.authenticate(
            s, email, form.password.data or "", client=db.client_address(),
            device=devices.known_device(accounts.account_key(email)), rules=_rules(),
            now=now(), fast_hash=_fast_hash(),
        )
        s.commit()
        if result.user is not None:
            if second_factor.has_any(s, result.user):
                return _ask_second_factor(result.user, form.next.data)
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
