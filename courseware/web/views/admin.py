"""What admins see: users, content, feedback, audit log, certificates, mentor roster."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

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

from courseware.domain import cursors
from courseware.domain.codes import format_code, grouped
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
    calibration,
    catalogue,
    certificates,
    learning,
    outbox,
    second_factor,
)
from courseware.services import roster as mentor_roster
from courseware.services.content_sync import sync_catalogue
from courseware.web import db
from courseware.web.forms import (
    ActionForm,
    ActiveForm,
    CertificateChangeForm,
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

    summary = completion_summary(db.session(), current_app.config["SUMMARY_MAX_AGE_SECONDS"])
    return render_template("admin/index.html", summary=summary)


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
        accounts.set_role(s, me(), user, form.role.data or "", now=now())
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
        accounts.set_active(s, me(), user, activate, form.reason.data or "", now=now())
    except accounts.AccountError as exc:
        s.rollback()
        flash(str(exc), "error")
        return redirect(url_for("admin.users"))
    s.commit()
    flash(f"{user.name} is {'active' if activate else 'deactivated'}.", "success")
    return redirect(url_for("admin.users"))


@bp.route("/users/<id:user_id>/second-factor/reset", methods=["POST"])
@admin_only
def reset_second_factor(user_id: int) -> ResponseReturnValue:
    user = _user_or_404(user_id)
    form = ActiveForm()
    if not form.validate_on_submit():
        abort(400)
    s = db.session()
    try:
        second_factor.reset(s, me(), user, form.reason.data or "", now())
    except second_factor.SecondFactorError as exc:
        s.rollback()
        flash(str(exc), "error")
        return redirect(url_for("admin.users"))
    s.commit()
    flash(f"{user.name}'s second factor is reset and their sessions ended: they set up a new one "
          "at their next login.", "success")
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
    filters = {k: text_arg(k) for k in ("action", "actor", "target_type", "since", "until",
                                        "about", "client", "security")}
    found = audit.search(s, _page(), action=filters["action"] or None,
                         actor=filters["actor"] or None,
                         target_type=filters["target_type"] or None,
                         since=_date(filters["since"]), until=_date(filters["until"]),
                         about=filters["about"] or None, client=filters["client"] or None,
                         security=filters["security"] == "1")
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




KIND_WORDS = {"module": "Module read", "quiz": "Quiz passed", "roleplay": "Role-play passed"}


def _when(value: object) -> str:
    try:
        return datetime.fromisoformat(str(value)).strftime("%d %b %Y %H:%M UTC")
    except ValueError:
        return str(value)


def evidence_rows(evidence: dict[str, Any],
                  titles: dict[tuple[str, str], str]) -> list[tuple[str, str, str, str]]:
    """A certificate's evidence as table rows: (what, which, when, on what record)."""
    rows = []
    for key, facts in evidence.items():
        facts = facts if isinstance(facts, dict) else {"value": facts}
        if key == "manual":
            rows.append(("Issued by hand", "", "", f"Reason: {facts.get('reason', '')}"))
            continue
        kind, _, slug = key.partition(":")
        when = facts.get("at") or facts.get("read_at") or ""
        record = []
        if "attempt_id" in facts:
            percent = facts.get("percent")
            record.append(f"attempt #{facts['attempt_id']}"
                          + (f", {float(percent):.0f}%" if percent is not None else ""))
        if "submission_id" in facts:
            record.append(f"submission #{facts['submission_id']}, grade #{facts.get('grade_id')}")
        extra = {k: v for k, v in facts.items()
                 if k not in {"at", "read_at", "attempt_id", "percent", "submission_id",
                              "grade_id", "quiz_version_id", "roleplay_version_id"}}
        record.extend(f"{k.replace('_', ' ')}: {v}" for k, v in extra.items())
        rows.append((KIND_WORDS.get(kind, kind), titles.get((kind, slug), slug),
                     _when(when) if when else "", "; ".join(record)))
    return rows


CertForm = CertificateChangeForm | ReasonForm


def _cert_view(cert: Certificate, form: CertForm | None = None, which: str = "",
               status: int = 200) -> ResponseReturnValue:
    events = audit.history(db.session(), "certificate", cert.code)
    forms: dict[str, CertForm] = {
        CertificateChange.SUSPEND.value: CertificateChangeForm(prefix="suspend"),
        CertificateChange.REVOKE.value: CertificateChangeForm(prefix="revoke"),
        CertificateChange.REINSTATE.value: ReasonForm(prefix="reinstate"),
    }
    if form is not None:
        forms[which] = form
    moment = now()
    return render_template("admin/certificate.html", cert=cert,
                           status=certificates.cert_status(cert, moment), events=events,
                           evidence=evidence_rows(cert.evidence,
                                                  catalogue.titles(db.session())),
                           forms=forms, published=certificates.publication(
                               cert, certificates.cert_status(cert, moment))), status


@bp.route("/certificates/<code>")
@admin_only
def certificate(code: str) -> ResponseReturnValue:
    return _cert_view(certificate_or_404(code))


@bp.route("/certificates/<code>/<any(revoke, suspend, reinstate):change>", methods=["POST"])
@admin_only
def change_certificate(code: str, change: str) -> ResponseReturnValue:
    cert = certificate_or_404(code)
    what = CertificateChange(change)
    form: CertForm = (ReasonForm(prefix=change) if what is CertificateChange.REINSTATE
                      else CertificateChangeForm(prefix=change))
    if not form.validate_on_submit():
        return _cert_view(cert, form, change, 422)
    s = db.session()
    if isinstance(form, ReasonForm):
        note, public_reason, public_text = form.reason.data or "", None, ""
    else:
        note, public_reason = form.note.data or "", form.public_reason.data or None
        public_text = form.public_text.data or ""
        try:
            public = certificates.Publication.of(public_reason, public_text)
        except certificates.CertificateError as exc:
            form.public_text.errors = [str(exc)]
            return _cert_view(cert, form, change, 422)
        if form.confirm.data == "edit":
            return _cert_view(cert, form, change)
        if form.confirm.data != "yes":
            # what will be published, shown before anything is saved
            return render_template("admin/certificate_confirm.html", cert=cert, change=what,
                                   form=form, sentence=public.sentence(), note=note.strip())
    try:
        certificates.change_state(s, me(), cert, what, note, now(),
                                  public_reason=public_reason, public_text=public_text)
    except certificates.CertificateError as exc:
        s.rollback()
        (form.reason if isinstance(form, ReasonForm) else form.note).errors = [str(exc)]
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


@bp.route("/calibration")
@admin_only
def calibration_status() -> ResponseReturnValue:
    rows = calibration.overview(db.session())
    roleplays = catalogue.items(db.session(), ContentKind.ROLEPLAY)
    return render_template("admin/calibration.html", rows=rows, roleplays=roleplays)


def _standing() -> Standing | None:
    """The roster filter from the URL; anything unknown shows everyone."""
    value = request.args.get("standing", "")
    return Standing(value) if value in set(Standing) else None


@bp.route("/roster")
@admin_only
def roster() -> ResponseReturnValue:
    shown = mentor_roster.page(db.session(), now(), standing=_standing(),
                               after=text_arg("after", cursors.MAX_LENGTH) or None,
                               counts_max_age=current_app.config["SUMMARY_MAX_AGE_SECONDS"])
    return render_template("admin/roster.html", roster=shown)


ROSTER_COLUMNS = ["name", "email", "standing", "status", "code", "track", "track_title",
                  "issued_at", "expires_at"]


@bp.route("/roster.csv")
@admin_only
def roster_csv() -> ResponseReturnValue:
    moment, standing = now(), _standing()
    rows = db.read_stream(lambda session: (
        [e.holder_name, e.email, e.standing, e.status, grouped(e.code), e.track_slug,
         e.track_title, certificates.iso(e.issued_at), certificates.iso(e.expires_at)]
        for e in mentor_roster.export(session, moment, standing)))
    return csv_response("mentor-roster.csv", ROSTER_COLUMNS, rows)


@bp.app_template_filter("reject_page")
def reject_page(args: dict[str, str]) -> dict[str, str]:
    """Query arguments without `page`, for pager links."""
    return {k: v for k, v in args.items() if k != "page"}
