"""What admins see: users, content, feedback, audit log, certificates, mentor roster."""

from __future__ import annotations

import csv
import io
from datetime import datetime, time

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy import func, or_, select

from courseware.domain.codes import MalformedCode, format_code, parse_code
from courseware.domain.content import ContentError, load_catalogue
from courseware.models import AuditEvent, Certificate, ContentItem, ContentVersion, User
from courseware.services import accounts, audit, catalogue, certificates, learning
from courseware.services.accounts import normalize_email
from courseware.services.content_sync import sync_catalogue
from courseware.web import db
from courseware.web.forms import (
    ActionForm,
    ActiveForm,
    ManualIssueForm,
    ReasonForm,
    RoleForm,
    choices,
)
from courseware.web.security import role_required
from courseware.web.views.common import (
    certificate_or_404,
    form_int,
    issue_context,
    me,
    now,
    text_arg,
)

bp = Blueprint("admin", __name__, url_prefix="/admin")
admin_only = role_required("admin")
PAGE = 50


def _page() -> int:
    return max(1, min(form_int(request.args.get("page")) or 1, 10_000))


@bp.route("/")
@admin_only
def index():  # type: ignore[no-untyped-def]
    from courseware.services.reports import completion_summary

    return render_template("admin/index.html", summary=completion_summary(db.session()))


# --- users ---------------------------------------------------------------------------------------

@bp.route("/users")
@admin_only
def users():  # type: ignore[no-untyped-def]
    s = db.session()
    q = text_arg("q")
    stmt = select(User).order_by(User.created_at.desc(), User.id.desc())
    if q:
        like = f"%{q.replace('%', '').replace('_', '')}%"
        stmt = stmt.where(or_(User.email.ilike(like), User.name.ilike(like)))
    page = _page()
    rows = s.scalars(stmt.limit(PAGE + 1).offset((page - 1) * PAGE)).all()
    return render_template("admin/users.html", users=rows[:PAGE], q=q, page=page,
                           more=len(rows) > PAGE, role_form=RoleForm(), active_form=ActiveForm())


def _user_or_404(user_id: int) -> User:
    user = db.session().get(User, user_id)
    if user is None:
        abort(404)
    return user


@bp.route("/users/<id:user_id>/role", methods=["POST"])
@admin_only
def set_role(user_id: int):  # type: ignore[no-untyped-def]
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
def set_active(user_id: int):  # type: ignore[no-untyped-def]
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


# --- content -----------------------------------------------------------------------------------

@bp.route("/content")
@admin_only
def content():  # type: ignore[no-untyped-def]
    s = db.session()
    rows = s.execute(
        select(ContentItem, func.count(ContentVersion.id))
        .join(ContentVersion, ContentVersion.item_id == ContentItem.id, isouter=True)
        .group_by(ContentItem.id).order_by(ContentItem.kind, ContentItem.position, ContentItem.slug)
    ).all()
    return render_template("admin/content.html", rows=rows, action=ActionForm())


@bp.route("/content/sync", methods=["POST"])
@admin_only
def sync():  # type: ignore[no-untyped-def]
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
def feedback():  # type: ignore[no-untyped-def]
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
def audit_log():  # type: ignore[no-untyped-def]
    s = db.session()
    filters = {k: text_arg(k) for k in ("action", "actor", "target_type", "since", "until")}
    stmt = audit.query(action=filters["action"] or None, actor=filters["actor"] or None,
                       target_type=filters["target_type"] or None,
                       since=_date(filters["since"]), until=_date(filters["until"]))
    page = _page()
    rows = s.scalars(stmt.limit(PAGE + 1).offset((page - 1) * PAGE)).all()
    actions = s.scalars(select(AuditEvent.action).distinct().order_by(AuditEvent.action)).all()
    types = s.scalars(select(AuditEvent.target_type).distinct()
                      .order_by(AuditEvent.target_type)).all()
    return render_template("admin/audit.html", events=rows[:PAGE], filters=filters, page=page,
                           more=len(rows) > PAGE, actions=actions, types=types)


# --- certificates ------------------------------------------------------------------------------

@bp.route("/certificates")
@admin_only
def certificates_list():  # type: ignore[no-untyped-def]
    s = db.session()
    q = text_arg("q")
    stmt = select(Certificate).order_by(Certificate.issued_at.desc(), Certificate.id.desc())
    if q:
        try:
            stmt = stmt.where(Certificate.code == parse_code(q))
        except MalformedCode:
            like = f"%{q.replace('%', '').replace('_', '')}%"
            stmt = stmt.where(Certificate.holder_name.ilike(like))
    page = _page()
    rows = s.scalars(stmt.limit(PAGE + 1).offset((page - 1) * PAGE)).all()
    moment = now()
    return render_template("admin/certificates.html", q=q, page=page, more=len(rows) > PAGE,
                           rows=[(c, certificates.cert_status(c, moment)) for c in rows[:PAGE]])




def _cert_view(cert: Certificate, form: ReasonForm | None = None, which: str = "",
               status: int = 200):  # type: ignore[no-untyped-def]
    s = db.session()
    events = s.scalars(select(AuditEvent).where(AuditEvent.target_type == "certificate",
                                                AuditEvent.target_id == cert.code)
                       .order_by(AuditEvent.at.desc())).all()
    forms = {name: ReasonForm(prefix=name) for name in ("revoke", "suspend", "reinstate")}
    if form is not None:
        forms[which] = form
    return render_template("admin/certificate.html", cert=cert,
                           status=certificates.cert_status(cert, now()), events=events,
                           forms=forms), status


@bp.route("/certificates/<code>")
@admin_only
def certificate(code: str):  # type: ignore[no-untyped-def]
    return _cert_view(certificate_or_404(code))


@bp.route("/certificates/<code>/<any(revoke, suspend, reinstate):change>", methods=["POST"])
@admin_only
def change_certificate(code: str, change: str):  # type: ignore[no-untyped-def]
    cert = certificate_or_404(code)
    form = ReasonForm(prefix=change)
    if not form.validate_on_submit():
        return _cert_view(cert, form, change, 422)
    s = db.session()
    reason = form.reason.data or ""
    try:
        if change == "revoke":
            certificates.revoke(s, me(), cert, reason, now())
        elif change == "suspend":
            certificates.suspend(s, me(), cert, reason, now())
        else:
            certificates.reinstate(s, me(), cert, reason)
    except certificates.CertificateError as exc:
        s.rollback()
        form.reason.errors = [str(exc)]
        return _cert_view(cert, form, change, 409)
    s.commit()
    past = {"revoke": "revoked", "suspend": "suspended", "reinstate": "reinstated"}[change]
    flash(f"Certificate {format_code(cert.code)} is {past}.", "success")
    return redirect(url_for("admin.certificate", code=cert.code))


@bp.route("/certificates/issue", methods=["GET", "POST"])
@admin_only
def manual_issue():  # type: ignore[no-untyped-def]
    s = db.session()
    form = ManualIssueForm()
    form.track.choices = choices([(t.item.slug, t.item.title)
                                  for t in catalogue.items(s, "track")])
    if form.validate_on_submit():
        user = s.scalar(select(User).where(User.email == normalize_email(form.email.data or "")))
        if user is None:
            form.email.errors.append("No account has this email address.")
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


def _roster():  # type: ignore[no-untyped-def]
    from courseware.domain.certify import roster_bucket

    s = db.session()
    moment = now()
    best: dict[int, tuple[Certificate, str, str]] = {}
    rank = {"eligible": 0, "expiring": 1, "lapsed": 2}
    for cert in s.scalars(select(Certificate).order_by(Certificate.issued_at)):
        if not certificates.grants_eligibility(cert):
            continue
        status = certificates.cert_status(cert, moment)
        bucket = roster_bucket(status, cert.expires_at, moment)
        held = best.get(cert.user_id)
        if held is None or rank[bucket] < rank[held[2]] or (
                rank[bucket] == rank[held[2]] and cert.expires_at > held[0].expires_at):
            best[cert.user_id] = (cert, status, bucket)
    rows = sorted(best.values(), key=lambda r: (rank[r[2]], r[0].holder_name.casefold()))
    return rows


@bp.route("/roster")
@admin_only
def roster():  # type: ignore[no-untyped-def]
    rows = _roster()
    counts = {b: sum(1 for r in rows if r[2] == b) for b in ("eligible", "expiring", "lapsed")}
    return render_template("admin/roster.html", rows=rows, counts=counts)


@bp.route("/roster.csv")
@admin_only
def roster_csv():  # type: ignore[no-untyped-def]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["name", "email", "standing", "status", "code", "track", "issued_at",
                     "expires_at"])
    for cert, status, bucket in _roster():
        name = cert.holder.name
        writer.writerow([f"'{name}" if name[:1] in "=+-@" else name, cert.holder.email, bucket,
                         status, format_code(cert.code), cert.track.slug,
                         certificates.iso(cert.issued_at), certificates.iso(cert.expires_at)])
    return Response(buffer.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="mentor-roster.csv"'})


@bp.app_template_filter("reject_page")
def reject_page(args: dict[str, str]) -> dict[str, str]:
    """Query arguments without `page`, for pager links."""
    return {k: v for k, v in args.items() if k != "page"}
