"""Program staff's webhook endpoints: add, see the secret once, rotate it, turn off and on,
delete, read the delivery log, send an event again, send a test event.

Every endpoint is looked up within the logged-in program (services.webhooks): another
program's endpoint id answers 404, whatever the route."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm
from wtforms import SelectMultipleField, StringField, URLField
from wtforms.validators import Length

from courseware.domain import webhooks as rules
from courseware.domain.statuses import SUBSCRIBABLE_EVENTS, DeliveryStatus, Role
from courseware.infra.webhook_http import resolve
from courseware.models import WebhookEndpoint
from courseware.services import webhooks
from courseware.web import db
from courseware.web.forms import ActionForm, add_error, choices
from courseware.web.security import role_required
from courseware.web.views.common import form_int, me, my_program_id, now

bp = Blueprint("webhooks", __name__, url_prefix="/program/webhooks")
program_only = role_required(Role.PROGRAM)

EVENT_HINTS = {
    "certificate.suspended": "a hold was put on it (with the public reason)",
    "certificate.reinstated": "the hold was lifted",
    "certificate.revoked": "revoked for good (with the public reason)",
    "certificate.expiring": "30 days before it expires",
    "certificate.expired": "the day it expires",
    "certificate.renewed": "a renewal was issued (your roster follows the new code)",
}


class EndpointForm(FlaskForm):
    url = URLField("Endpoint URL", validators=[Length(max=rules.URL_MAX)],
                   description="https:// only, on a public address. Redirects are not followed.")
    events = SelectMultipleField("Events", choices=choices([(e.value, e.value)
                                                            for e in SUBSCRIBABLE_EVENTS]))
    description = StringField("Description (optional)",
                              validators=[Length(max=rules.DESCRIPTION_MAX)],
                              description="For your staff: what listens there.")


def _endpoint_or_404(endpoint_id: int) -> WebhookEndpoint:
    found = webhooks.endpoint(db.session(), my_program_id(), endpoint_id)
    if found is None:
        abort(404)
    return found


def _allow_loopback() -> bool:
    return bool(current_app.config["WEBHOOK_ALLOW_HTTP_LOOPBACK"])


def _secret_page(found: WebhookEndpoint, secret: str, *, rotated: bool) -> ResponseReturnValue:
    """The secret, once: never kept by a cache or the browser's history."""
    response = make_response(render_template("program/webhook_secret.html", endpoint=found,
                                             secret=secret, rotated=rotated))
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.route("")
@program_only
def index() -> ResponseReturnValue:
    found = webhooks.endpoints(db.session(), my_program_id())
    return render_template("program/webhooks.html", endpoints=found)


@bp.route("/new", methods=["GET", "POST"])
@program_only
def new() -> ResponseReturnValue:
    program_id = my_program_id()
    form = EndpointForm()
    if request.method == "GET":
        form.events.data = [e.value for e in SUBSCRIBABLE_EVENTS]
        return render_template("program/webhook_new.html", form=form, hints=EVENT_HINTS)
    if not form.validate_on_submit():
        return render_template("program/webhook_new.html", form=form, hints=EVENT_HINTS), 422
    s = db.session()
    try:
        created = webhooks.create(
            s, program_id, me(), url=form.url.data or "", events=list(form.events.data or []),
            description=form.description.data or "", now=now(),
            allow_http_loopback=_allow_loopback(), resolver=resolve)
    except webhooks.EndpointError as exc:
        s.rollback()
        add_error(form[exc.field or "url"], str(exc))
        return render_template("program/webhook_new.html", form=form, hints=EVENT_HINTS), 422
    s.commit()
    return _secret_page(created.endpoint, created.secret, rotated=False)


@bp.route("/<id:endpoint_id>")
@program_only
def endpoint(endpoint_id: int) -> ResponseReturnValue:
    found = _endpoint_or_404(endpoint_id)
    log = webhooks.delivery_log(db.session(), found, form_int(request.args.get("page")) or 1)
    return render_template("program/webhook.html", endpoint=found, log=log.items,
                           page=log.number, more=log.more, action=ActionForm(),
                           resendable=(DeliveryStatus.SENT, DeliveryStatus.FAILED))


@bp.route("/<id:endpoint_id>/rotate", methods=["POST"])
@program_only
def rotate(endpoint_id: int) -> ResponseReturnValue:
    found = _endpoint_or_404(endpoint_id)
    s = db.session()
    secret = webhooks.rotate_secret(s, found, me(), now())
    s.commit()
    return _secret_page(found, secret, rotated=True)


@bp.route("/<id:endpoint_id>/enable", methods=["POST"])
@program_only
def enable(endpoint_id: int) -> ResponseReturnValue:
    return _set_enabled(endpoint_id, True)


@bp.route("/<id:endpoint_id>/disable", methods=["POST"])
@program_only
def disable(endpoint_id: int) -> ResponseReturnValue:
    return _set_enabled(endpoint_id, False)


def _set_enabled(endpoint_id: int, enabled: bool) -> ResponseReturnValue:
    found = _endpoint_or_404(endpoint_id)
    s = db.session()
    webhooks.set_enabled(s, found, enabled, me(), now())
    s.commit()
    flash("Deliveries to this endpoint are on." if enabled else
          "Deliveries to this endpoint are off: events are not recorded for it until you turn "
          "it on.", "success")
    return redirect(url_for("webhooks.endpoint", endpoint_id=endpoint_id))


@bp.route("/<id:endpoint_id>/delete", methods=["POST"])
@program_only
def delete(endpoint_id: int) -> ResponseReturnValue:
    found = _endpoint_or_404(endpoint_id)
    s = db.session()
    webhooks.delete(s, found, me(), now())
    s.commit()
    flash(f"The endpoint {found.url} is deleted: nothing more is sent to it.", "success")
    return redirect(url_for("webhooks.index"))


@bp.route("/<id:endpoint_id>/test", methods=["POST"])
@program_only
def send_test(endpoint_id: int) -> ResponseReturnValue:
    found = _endpoint_or_404(endpoint_id)
    s = db.session()
    webhooks.send_test(s, found, now())
    s.commit()
    flash("A test event is on its way: its attempt appears in the log below.", "success")
    return redirect(url_for("webhooks.endpoint", endpoint_id=endpoint_id))


@bp.route("/<id:endpoint_id>/deliveries/<id:message_id>/resend", methods=["POST"])
@program_only
def resend(endpoint_id: int, message_id: int) -> ResponseReturnValue:
    found = _endpoint_or_404(endpoint_id)
    s = db.session()
    try:
        webhooks.send_again(s, found, message_id, now())
    except LookupError:
        abort(404)
    except webhooks.EndpointError as exc:
        flash(str(exc), "error")
        return redirect(url_for("webhooks.endpoint", endpoint_id=endpoint_id))
    s.commit()
    flash("The event will be sent again, with the same webhook-id.", "success")
    return redirect(url_for("webhooks.endpoint", endpoint_id=endpoint_id))
