"""The account page: active sessions (sign out one, or every other), password, second factor."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue

from courseware.services import sessions
from courseware.web import db
from courseware.web.forms import ActionForm
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
