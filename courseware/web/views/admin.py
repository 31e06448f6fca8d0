"""What admins see: users, content, feedback, audit log, certificates, mentor roster."""

from __future__ import annotations

from datetime import datetime, time

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue

from courseware.domain.codes import format_code
from courseware.domain.content import ContentError, load_catalogue
from courseware.domain.statuses import (
    CertificateChange,
    ContentKind,
    DeliveryStatus,
    MessageKind,
    Role,
    Standing,
)
from courseware.models import Certificate, User
from courseware.services import (
    account_email,
    accounts,
    audit,
    catalogue,
    certificates,
    learning,
    outbox,
)
from courseware.services.content_sync import sync_catalogue
from courseware.web import db
from courseware.web.forms import (
    ActionForm,
    ActiveForm,
    DeliveryFilterForm,
    ManualIssueForm,
    ReasonForm,
    RoleForm,
    add_error,
    choices,
)
from courseware.web.security import role_required
from courseware.web.views.common import (
    certificate_or_404,
    csv_response,
    form_int,
    issue_context,
    me,
    now,
    text_arg,
)

bp = Blueprint("admin", __name__, url_prefix="/admin")
admin_only = role_required(Role.ADMIN)


def _page() -> int:
    return form_int(request.args.get("page")) or 1


@bp.route("/")
@admin_only
def index() -> ResponseReturnValue:
    from courseware.services.reports import completion_summary

    return render_template("admin/index.html", summary=completion_summary(db.session()))


# --- users ---------------------------------------------------------------------------------------

@bp.route("/users")
@admin_only
def users() -> ResponseReturnValue:
    q = text_arg("q")
    found = accounts.search(db.session(), q, _page())
    return render_template("admin/users.html", users=found.items, q=q, page=found.number,
                           more=found.more, role_form=RoleForm(), active_form=ActiveForm())


def _user_or_404(user_id: int) -> User:
    user = db.session().get(User, user_id)
    if user is None:
        abort(404)
    return user


@bp.route("/users/<id:user_id>/role", methods=["POST"])
@admin_only
def set_role(user_id: int) -> ResponseReturnValue:
    user = _user_or_404(user_id)
    form = RoleForm()
    if not form.validate_on_submit():
        flash("Choose one of the listed roles.", "error")
        return redirect(url_for("admin.users"))
    s = db.session()
    try:
        accounts.set_role(s, me(), user, form.role.data or "")
    except accounts.AccountError as exc:
        s.rollback()
        flash(str(exc), "error")
        return redirect(url_for("admin.users"))
    s.commit()
    flash(f"{user.name} is now {user.role}.", "success")
    return redirect(url_for("admin.users"))


@bp.route("/users/<id:user_id>/active", methods=["POST"])
@admin_only
def set_active(user_id: int) -> ResponseReturnValue:
    user = _user_or_404(user_id)
    form = ActiveForm()
    if not form.validate_on_submit():
        abort(400)
    s = db.session()
    activate = request.form.get("active") == "1"
    try:
        accounts.set_active(s, me(), user, activate, form.reason.data or "")
    except accounts.AccountError as exc:
        s.rollback()
        flash(str(exc), "error")
        return redirect(url_for("admin.users"))
    s.commit()
    flash(f"{user.name} is {'active' if activate else 'deactivated'}.", "success")
    return redirect(url_for("admin.users"))


@bp.route("/users/<id:user_id>/reset", methods=["POST"])
@admin_only
def send_reset(user_id: int) -> ResponseReturnValue:
    user = _user_or_404(user_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    if not user.active:
        flash(f"{user.name}'s account is deactivated: reactivate it first.", "error")
        return redirect(url_for("admin.users"))
    s = db.session()
    account_email.send_reset(s, user, now(), actor=me())
    s.commit()
    flash(f"A link to choose a new password is on its way to {user.email} (valid one hour).",
          "success")
    return redirect(url_for("admin.users"))


# --- mail ----------------------------------------------------------------------------------------

@bp.route("/mail")
@admin_only
def mail_log() -> ResponseReturnValue:
    """Every outbound message: to whom, what kind, where it stands. Never the body."""
    s = db.session()
    form = DeliveryFilterForm(request.args)
    form.status.choices = choices([("", "Any status"), *((st.value, st.value)
                                                         for st in DeliveryStatus)])
    form.kind.choices = choices([("", "Any kind"), *((k.value, k.value.replace("_", " "))
                                                     for k in MessageKind)])
    status = request.args.get("status") or None
    kind = request.args.get("kind") or None
    found = outbox.search(
        s, _page(),
        status=DeliveryStatus(status) if status in set(DeliveryStatus) else None,
        kind=MessageKind(kind) if kind in set(MessageKind) else None,
        recipient=text_arg("recipient"))
    return render_template("admin/mail.html", messages=found.items, page=found.number,
                           more=found.more, form=form, counts=outbox.status_counts(s))


# --- content -----------------------------------------------------------------------------------

@bp.route("/content")
@admin_only
def content() -> ResponseReturnValue:
    rows = catalogue.version_counts(db.session())
    return render_template("admin/content.html", rows=rows, action=ActionForm())


@bp.route("/content/sync", methods=["POST"])
@admin_only
def sync() -> ResponseReturnValue:
    if not ActionForm().validate_on_submit():
        abort(400)
    s = db.session()
    try:
        catalogue_ = load_catalogue(current_app.config["CONTENT_ROOT"])
    except ContentError as exc:
        return render_template("admin/content_problems.html", problems=exc.problems), 422
    report = sync_catalogue(s, catalogue_, actor=me())
    s.commit()
    flash(f"Content synced: {report.summary()}.", "success")
    return redirect(url_for("admin.content"))


@bp.route("/feedback")
@admin_only
def feedback() -> ResponseReturnValue:
    return render_template("admin/feedback.html", summary=learning.feedback_summary(db.session()))


# --- audit log ---------------------------------------------------------------------------------

def _date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.combine(datetime.strptime(value, "%Y-%m-%d").date(), time.min,
                                tzinfo=now().tzinfo)
    except ValueError:
        return None


@bp.route("/audit")
@admin_only
def audit_log() -> ResponseReturnValue:
    s = db.session()
    filters = {k: text_arg(k) for k in ("action", "actor", "target_type", "since", "until")}
    found = audit.search(s, _page(), action=filters["action"] or None,
                         actor=filters["actor"] or None,
                         target_type=filters["target_type"] or None,
                         since=_date(filters["since"]), until=_date(filters["until"]))
    actions, types = audit.facets(s)
    return render_template("admin/audit.html", events=found.items, filters=filters,
                           page=found.number, more=found.more, actions=actions, types=types)


# --- certificates ------------------------------------------------------------------------------

@bp.route("/certificates")
@admin_only
def certificates_list() -> ResponseReturnValue:
    q = text_arg("q")
    found = certificates.search(db.session(), q, _page())
    moment = now()
    return render_template("admin/certificates.html", q=q, page=found.number, more=found.more,
                           rows=[(c, certificates.cert_status(c, moment)) for c in found.items])




def _cert_view(cert: Certificate, form: ReasonForm | None = None, which: str = "",
               status: int = 200) -> ResponseReturnValue:
    events = audit.history(db.session(), "certificate", cert.code)
    forms = {change.value: ReasonForm(prefix=change.value) for change in CertificateChange}
    if form is not None:
        forms[which] = form
    return render_template("admin/certificate.html", cert=cert,
                           status=certificates.cert_status(cert, now()), events=events,
                           forms=forms), status


@bp.route("/certificates/<code>")
@admin_only
def certificate(code: str) -> ResponseReturnValue:
    return _cert_view(certificate_or_404(code))


@bp.route("/certificates/<code>/<any(revoke, suspend, reinstate):change>", methods=["POST"])
@admin_only
def change_certificate(code: str, change: str) -> ResponseReturnValue:
    cert = certificate_or_404(code)
    form = ReasonForm(prefix=change)
    if not form.validate_on_submit():
        return _cert_view(cert, form, change, 422)
    s = db.session()
    what = CertificateChange(change)
    try:
        certificates.change_state(s, me(), cert, what, form.reason.data or "", now())
    except certificates.CertificateError as exc:
        s.rollback()
        form.reason.errors = [str(exc)]
        return _cert_view(cert, form, change, 409)
    s.commit()
    flash(f"Certificate {format_code(cert.code)} is {what.past}.", "success")
    return redirect(url_for("admin.certificate", code=cert.code))


@bp.route("/certificates/issue", methods=["GET", "POST"])
@admin_only
def manual_issue() -> ResponseReturnValue:
    s = db.session()
    form = ManualIssueForm()
    form.track.choices = choices([(t.item.slug, t.item.title)
                                  for t in catalogue.items(s, ContentKind.TRACK)])
    if form.validate_on_submit():
        user = accounts.find_by_email(s, form.email.data or "")
        if user is None:
            add_error(form.email, "No account has this email address.")
        else:
            try:
                cert = certificates.manual_issue(s, me(), user, form.track.data or "",
                                                 form.reason.data or "", now(), issue_context())
            except certificates.CertificateError as exc:
                s.rollback()
                form.form_errors.append(str(exc))
            else:
                s.commit()
                flash(f"Issued {format_code(cert.code)} to {user.name}.", "success")
                return redirect(url_for("admin.certificate", code=cert.code))
    return render_template("admin/issue.html", form=form), 422 if form.errors else 200


@bp.route("/roster")
@admin_only
def roster() -> ResponseReturnValue:
    entries = certificates.mentor_roster(db.session(), now())
    counts = {standing: sum(1 for e in entries if e.standing is standing) for standing in Standing}
    return render_template("admin/roster.html", entries=entries, counts=counts)


ROSTER_COLUMNS = ["name", "email", "standing", "status", "code", "track", "track_title",
                  "issued_at", "expires_at"]


@bp.route("/roster.csv")
@admin_only
def roster_csv() -> ResponseReturnValue:
    entries = certificates.mentor_roster(db.session(), now())
    return csv_response("mentor-roster.csv", ROSTER_COLUMNS, (
        [e.certificate.holder.name, e.certificate.holder.email, e.standing, e.status,
         format_code(e.certificate.code), e.certificate.track.slug, e.certificate.track.title,
         certificates.iso(e.certificate.issued_at), certificates.iso(e.certificate.expires_at)]
        for e in entries))


@bp.app_template_filter("reject_page")
def reject_page(args: dict[str, str]) -> dict[str, str]:
    """Query arguments without `page`, for pager links."""
    return {k: v for k, v in args.items() if k != "page"}
