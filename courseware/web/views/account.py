"""The account page: active sessions (sign out one, or every other), password, second factor."""

from __future__ import annotations

import json

import segno
from flask import (
    Blueprint,
    abort,
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
from markupsafe import Markup

from courseware.infra.kek import Sealer
from courseware.services import second_factor, sessions
from courseware.web import db
from courseware.web.forms import ActionForm, TotpEnrolForm, add_error
from courseware.web.jsonbody import json_body
from courseware.web.security import current_session_id, login_required
from courseware.web.views.common import me, now

bp = Blueprint("account", __name__, url_prefix="/account")


def _policy() -> sessions.SessionPolicy:
    return sessions.SessionPolicy.from_config(current_app.config)


@bp.route("")
@login_required
def index() -> ResponseReturnValue:
    user = me()
    active = sessions.active(db.session(), user, now(), _policy())
    return render_template("account/index.html", user=user, active=active,
                           current_id=current_session_id(), action=ActionForm(),
                           idle=_policy().idle(user), lifetime=_policy().lifetime)


@bp.route("/sessions/<id:session_id>/revoke", methods=["POST"])
@login_required
def revoke_session(session_id: int) -> ResponseReturnValue:
    if not ActionForm().validate_on_submit():
        abort(400)
    if session_id == current_session_id():
        flash("To end this session, log out.", "info")
        return redirect(url_for("account.index"))
    s = db.session()
    if sessions.revoke(s, me(), session_id, now()):
        s.commit()
        flash("That session is signed out.", "success")
    else:
        flash("That session had already ended.", "info")
    return redirect(url_for("account.index"))


@bp.route("/sessions/others/revoke", methods=["POST"])
@login_required
def revoke_others() -> ResponseReturnValue:
    if not ActionForm().validate_on_submit():
        abort(400)
    ident = current_session_id()
    assert ident is not None  # a logged-in request always has its session row
    s = db.session()
    count = sessions.revoke_others(s, me(), ident, now())
    s.commit()
    flash(f"Signed out everywhere else ({count} session{'s' if count != 1 else ''}).",
          "success")
    return redirect(url_for("account.index"))


# --- second factor ----------------------------------------------------------------------------

def _sealer() -> Sealer:
    return Sealer(current_app.config["KEY_ENCRYPTION_KEY"])


def _relying_party() -> second_factor.RelyingParty:
    config = current_app.config
    return second_factor.RelyingParty.of(config["BASE_URL"], config["ISSUER_NAME"])


def _required() -> bool:
    return second_factor.must_enrol(db.session(), me(), required_for_staff=current_app.config[
        "SECOND_FACTOR_REQUIRED_FOR_STAFF"])


@bp.route("/second-factor")
@login_required
def second_factor_page() -> ResponseReturnValue:
    return render_template("account/second_factor.html",
                           enrolled=second_factor.enrolment(db.session(), me()),
                           required=_required(), action=ActionForm())


TOTP_SECRET = "totp_enrolment_secret"  # noqa: S105 (a session key, not a secret)


@bp.route("/second-factor/app", methods=["GET", "POST"])
@login_required
def totp() -> ResponseReturnValue:
    user = me()
    # the secret waits in the signed session until the app proves it has it
    secret = session.get(TOTP_SECRET)
    if not isinstance(secret, str) or len(secret) != 32:
        secret = session[TOTP_SECRET] = second_factor.new_totp_secret()
    form = TotpEnrolForm()
    if form.validate_on_submit():
        s = db.session()
        try:
            codes = second_factor.enrol_totp(s, user, secret, form.code.data or "",
                                             sealer=_sealer(), now=now())
        except second_factor.SecondFactorError as exc:
            s.rollback()
            add_error(form.code, str(exc))
        else:
            s.commit()
            session.pop(TOTP_SECRET, None)
            flash("Your authenticator app is set up: login will ask for its code.", "success")
            if codes:
                return render_template("account/recovery_codes.html", codes=codes)
            return redirect(url_for("account.second_factor_page"))
    uri = second_factor.provisioning_uri(secret, user, current_app.config["ISSUER_NAME"])
    qr = Markup(segno.make(uri, error="m").svg_inline(  # noqa: S704 (segno's own SVG markup)
        scale=5, title="QR code to scan with your authenticator app", svgclass="qr-code"))
    grouped = " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))
    return render_template("account/totp.html", form=form, qr=qr, secret=grouped), \
        422 if form.errors else 200


@bp.route("/second-factor/app/remove", methods=["POST"])
@login_required
def remove_totp() -> ResponseReturnValue:
    if not ActionForm().validate_on_submit():
        abort(400)
    s = db.session()
    if second_factor.remove_totp(s, me(), now()):
        s.commit()
        flash("The authenticator app is removed from your account.", "success")
    return redirect(url_for("account.second_factor_page"))


def _json_error(status: int, message: str) -> ResponseReturnValue:
    return jsonify({"error": {"code": "second_factor", "message": message}}), status


@bp.route("/second-factor/passkeys/options", methods=["POST"])
@login_required
def passkey_options() -> ResponseReturnValue:
    options, challenge = second_factor.registration_options(db.session(), me(),
                                                            _relying_party())
    session["passkey_registration"] = challenge.hex()
    return current_app.response_class(options, mimetype="application/json")


@bp.route("/second-factor/passkeys", methods=["POST"])
@login_required
def add_passkey() -> ResponseReturnValue:
    challenge = session.pop("passkey_registration", None)
    body, problem = json_body()
    if problem is not None:
        return problem
    if not isinstance(challenge, str) or not isinstance(body, dict) \
            or not isinstance(body.get("credential"), dict):
        return _json_error(400, "Start again: press the button to create a passkey.")
    name = body.get("name") if isinstance(body.get("name"), str) else ""
    s = db.session()
    try:
        second_factor.register_passkey(s, me(), json.dumps(body["credential"]),
                                       bytes.fromhex(challenge), _relying_party(), str(name),
                                       now())
    except second_factor.SecondFactorError as exc:
        s.rollback()
        return _json_error(400, str(exc))
    s.commit()
    flash("Your passkey is added: login will offer it.", "success")
    # recovery codes are made on a page of their own, by a button: shown once, never in a cookie
    due = second_factor.enrolment(s, me()).recovery_left == 0
    return jsonify({"redirect": url_for("account.recovery_codes" if due
                                        else "account.second_factor_page")})


@bp.route("/second-factor/passkeys/<id:passkey_id>/remove", methods=["POST"])
@login_required
def remove_passkey(passkey_id: int) -> ResponseReturnValue:
    if not ActionForm().validate_on_submit():
        abort(400)
    s = db.session()
    if second_factor.remove_passkey(s, me(), passkey_id, now()):
        s.commit()
        flash("The passkey is removed from your account.", "success")
    return redirect(url_for("account.second_factor_page"))


@bp.route("/second-factor/recovery-codes", methods=["GET", "POST"])
@login_required
def recovery_codes() -> ResponseReturnValue:
    if request.method == "GET":
        return render_template("account/recovery_codes_make.html", action=ActionForm(),
                               enrolled=second_factor.enrolment(db.session(), me()))
    if not ActionForm().validate_on_submit():
        abort(400)
    s = db.session()
    try:
        codes = second_factor.renew_recovery_codes(s, me(), now())
    except second_factor.SecondFactorError as exc:
        s.rollback()
        flash(str(exc), "error")
        return redirect(url_for("account.second_factor_page"))
    s.commit()
    return render_template("account/recovery_codes.html", codes=codes)
