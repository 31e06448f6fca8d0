"""What trainers see: the grading queue, the grading form, live role-plays, reports."""

from __future__ import annotations

from datetime import timedelta

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
from courseware.domain.rubric import comment_required
from courseware.domain.statuses import (
    STAFF_ROLES,
    ContentKind,
    GradeKind,
    LiveFormat,
    ModerationDecision,
    SubmissionStatus,
)
from courseware.models import Grade, Submission
from courseware.services import accounts, calibration, catalogue, certificates, grading
from courseware.services import reports as report_service
from courseware.web import db
from courseware.web.forms import ActionForm, LiveRoleplayForm, add_error, choices
from courseware.web.security import role_required
from courseware.web.views.common import (
    calibration_required,
    csv_response,
    form_int,
    issue_context,
    me,
    now,
    rubric_marks,
    text_arg,
)

bp = Blueprint("grade", __name__, url_prefix="/grade")
staff = role_required(*STAFF_ROLES)


def _lapse() -> timedelta:
    return timedelta(minutes=current_app.config["CLAIM_LAPSE_MINUTES"])


@bp.route("/")
@staff
def queue() -> ResponseReturnValue:
    s = db.session()
    roleplays = catalogue.items(s, ContentKind.ROLEPLAY)
    slugs = {rp.item.slug for rp in roleplays}
    selected = request.args.get("roleplay") or None
    if selected and selected not in slugs:
        selected = None
    required = calibration_required()
    shown = grading.queue(s, me(), selected, calibration_required=required,
                          after=text_arg("after", cursors.MAX_LENGTH) or None)
    hidden = grading.hidden_for_calibration(s, me()) if required else []
    titles = {rp.item.id: rp.item.title for rp in roleplays}
    return render_template("grade/queue.html", items=shown.items, next_cursor=shown.next_cursor,
                           titles=titles, roleplays=roleplays,
                           selected=selected, now=now(), lapse=_lapse(), hidden=hidden,
                           lapsed=grading.claim_lapsed, stage=grading.stage, action=ActionForm())


def _not_calibrated(sub: Submission, reason: str) -> ResponseReturnValue:
    """403: the trainer must calibrate on this role-play before grading its work."""
    item = sub.roleplay_version.item
    return render_template("grade/not_calibrated.html", reason=reason, slug=item.slug,
                           title=item.title), 403


def _calibration_refusal(sub: Submission) -> str | None:
    try:
        calibration.check_may_grade(db.session(), me(), sub.roleplay_id,
                                    required=calibration_required())
    except calibration.NotCalibrated as exc:
        return str(exc)
    return None


def _for_trainer(submission_id: int) -> Submission:
    try:
        return grading.for_trainer(db.session(), me(), submission_id)
    except grading.NotVisible:
        abort(404)


@bp.route("/submissions/<id:submission_id>/claim", methods=["POST"])
@staff
def claim(submission_id: int) -> ResponseReturnValue:
    sub = _for_trainer(submission_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    s = db.session()
    refused = _calibration_refusal(sub)
    if refused:
        return _not_calibrated(sub, refused)
    try:
        grading.claim(s, me(), sub, now(), _lapse(), calibration_required=calibration_required())
    except grading.GradingError as exc:
        s.rollback()
        flash(str(exc), "error")
        return redirect(url_for("grade.queue"))
    s.commit()
    return redirect(url_for("grade.grade", submission_id=sub.id))


@bp.route("/submissions/<id:submission_id>/release", methods=["POST"])
@staff
def release(submission_id: int) -> ResponseReturnValue:
    sub = _for_trainer(submission_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    s = db.session()
    if grading.release(s, me(), sub):
        s.commit()
        flash("Released: the submission is back in the queue.", "info")
    else:
        flash("You did not hold a claim on this submission.", "error")
    return redirect(url_for("grade.queue"))


def _grade_view(
    sub: Submission, *, levels: dict[str, int] | None = None,
    comments: dict[str, str] | None = None, feedback: str = "", reason: str = "",
    errors: list[str] | None = None, status: int = 200, expected: int | None = None,
) -> ResponseReturnValue:
    spec = grading.spec_of(sub)
    kind = grading.grade_kind(sub)
    work = grading.current_round(sub)
    if kind is GradeKind.MODERATION and work.pending is not None \
            and work.pending.grader_id == me().id:
        return _decision_view(sub, reason=reason, errors=errors, status=status)
    # a second mark and a moderation are blind: nothing of the other grades until one's own
    blind = kind in (GradeKind.DOUBLE_MARK, GradeKind.MODERATION)
    if levels is None and kind is GradeKind.AMENDMENT and sub.grades:
        # start from the grade that stands; the trainer changes what differs
        latest = grading.visible_grade(sub) or sub.grades[-1]
        levels, comments, feedback = dict(latest.levels), dict(latest.comments), latest.feedback
    previous_grade = grading.visible_grade(sub.previous) if sub.previous else None
    claimed_by_other = (sub.claimed_by_id not in (None, me().id)
                        and not grading.claim_lapsed(sub, now(), _lapse()))
    refused = grading.refusal(sub, me()) if sub.status in grading.WAITING else None
    return render_template(
        "grade/grade.html", sub=sub, spec=spec, data=sub.roleplay_version.data, kind=kind,
        levels=levels or {}, comments=comments or {}, feedback=feedback, reason=reason,
        errors=errors or [], expected=expected or grading.next_grade_number(sub),
        previous_grade=previous_grade, claimed_by_other=claimed_by_other, blind=blind,
        refused=refused, grades=[] if blind else sub.grades,
        comment_required=lambda score: comment_required(spec.rubric, score),
        action=ActionForm(),
    ), status


def _decision_view(sub: Submission, *, reason: str = "", decision: str = "",
                   errors: list[str] | None = None, status: int = 200) -> ResponseReturnValue:
    """After the moderator's blind grade: every grade side by side, then confirm or overturn."""
    spec = grading.spec_of(sub)
    work = grading.current_round(sub)
    assert work.reviewed is not None and work.pending is not None
    columns: list[tuple[str, Grade]] = [("Grade under review", work.reviewed)]
    if work.double is not None:
        columns.append(("Blind second mark", work.double))
    columns.append(("Your blind grade", work.pending))
    agreement = grading.agreement(spec, [g for _, g in columns])
    return render_template(
        "grade/decide.html", sub=sub, spec=spec, columns=columns, agreement=agreement,
        reason=reason, decision=decision, errors=errors or [], action=ActionForm(),
        Decision=ModerationDecision,
    ), status


@bp.route("/submissions/<id:submission_id>", methods=["GET"])
@staff
def grade(submission_id: int) -> ResponseReturnValue:
    sub = _for_trainer(submission_id)
    if sub.status is SubmissionStatus.DRAFT:
        abort(404)
    refused = _calibration_refusal(sub)
    if refused:
        return _not_calibrated(sub, refused)
    return _grade_view(sub)


@bp.route("/submissions/<id:submission_id>", methods=["POST"])
@staff
def save_grade(submission_id: int) -> ResponseReturnValue:
    sub = _for_trainer(submission_id)
    if sub.status is SubmissionStatus.DRAFT:
        abort(404)
    if not ActionForm().validate_on_submit():
        abort(400)
    refused = _calibration_refusal(sub)
    if refused:
        return _not_calibrated(sub, refused)
    spec = grading.spec_of(sub)
    levels, comments = rubric_marks(spec)
    feedback = request.form.get("feedback", "")[:10000]
    reason = request.form.get("reason", "")[:2000]
    expected = form_int(request.form.get("expected")) or grading.next_grade_number(sub)
    s = db.session()
    try:
        saved = grading.save_grade(
            s, me(), sub, grading.GradeInput(levels, comments, feedback, expected, reason), now(),
            calibration_required=calibration_required())
    except grading.GradeConflict as exc:
        s.rollback()
        # the form now aims at the next number: sending it again amends, never collides again
        return _grade_view(_for_trainer(submission_id), levels=levels, comments=comments,
                           feedback=feedback, reason=reason, expected=None,
                           status=409, errors=[
            f"{exc} Your grade was not saved; it is shown below so nothing is lost. "
            + ("Read their grade, then amend it if you disagree." if exc.grade is not None
               else "Read the grades so far, then save again if you still disagree.")])
    except grading.GradingError as exc:
        s.rollback()
        return _grade_view(sub, levels=levels, comments=comments, feedback=feedback,
                           reason=reason, expected=expected, status=422, errors=[str(exc)])
    if saved.kind is GradeKind.MODERATION:
        s.commit()
        flash(f"Your blind grade is saved ({saved.total}/{saved.max_total}). Compare it with the "
              "grade under review, then confirm or overturn it.", "success")
        return redirect(url_for("grade.grade", submission_id=sub.id))
    issued = _issue_if_passed(sub, saved)
    s.commit()
    message = {SubmissionStatus.PASSED: "Passed.",
               SubmissionStatus.RETURNED: "Returned for revision.",
               SubmissionStatus.DOUBLE_MARKING: "This submission was drawn for a blind second "
                                                "mark: another trainer grades it before the "
                                                "learner sees the outcome.",
               SubmissionStatus.MODERATION: "A critical criterion failed: a second trainer must "
                                            "now confirm or overturn this grade before the "
                                            "learner sees it."
               if saved.needs_moderation else
               "The two blind grades disagree on pass or fail: a third trainer moderates "
               "before the learner sees the outcome."}[sub.status]
    flash(f"Grade saved ({saved.total}/{saved.max_total}). {message}", "success")
    if issued:
        flash(f"{sub.learner.name} has now earned a certificate.", "success")
    return redirect(url_for("grade.queue"))


def _issue_if_passed(sub: Submission, cause: Grade) -> list[object]:
    """The trainer's action completed the learner's last requirement: they are the actor."""
    if sub.status is not SubmissionStatus.PASSED:
        return []
    issued: list[object] = list(certificates.issue_earned(
        db.session(), sub.learner, now(), issue_context(), actor=me(),
        cause={"grade": cause.id, "submission": sub.id}))
    return issued


@bp.route("/submissions/<id:submission_id>/decide", methods=["POST"])
@staff
def decide(submission_id: int) -> ResponseReturnValue:
    sub = _for_trainer(submission_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    refused = _calibration_refusal(sub)
    if refused:
        return _not_calibrated(sub, refused)
    work = grading.current_round(sub)
    if sub.status is not SubmissionStatus.MODERATION or work.pending is None \
            or work.pending.grader_id != me().id:
        flash("There is no moderation decision of yours waiting on this submission.", "error")
        return redirect(url_for("grade.queue"))
    reason = request.form.get("reason", "")[:2000]
    choice = request.form.get("decision", "")
    if choice not in {d.value for d in ModerationDecision}:
        return _decision_view(sub, reason=reason, status=422,
                              errors=["Choose whether to confirm or overturn the grade."])
    s = db.session()
    try:
        record = grading.decide(s, me(), sub, ModerationDecision(choice), reason, now())
    except grading.GradingError as exc:
        s.rollback()
        return _decision_view(sub, reason=reason, decision=choice, status=422,
                              errors=[str(exc)])
    decided = sub.decided_grade
    assert decided is not None
    issued = _issue_if_passed(sub, decided)
    s.commit()
    flash(f"Moderation recorded: the grade under review is {record.decision}; the learner's "
          f"outcome is {grading.learner_status(sub)}.", "success")
    if issued:
        flash(f"{sub.learner.name} has now earned a certificate.", "success")
    return redirect(url_for("grade.queue"))


@bp.route("/live", methods=["GET", "POST"])
@staff
def live() -> ResponseReturnValue:
    s = db.session()
    roleplays = catalogue.items(s, ContentKind.ROLEPLAY)
    form = LiveRoleplayForm()
    form.roleplay.choices = choices([(rp.item.slug, rp.item.title) for rp in roleplays])
    if form.validate_on_submit():
        learner = accounts.find_by_email(s, form.learner_email.data or "")
        current = catalogue.item(s, ContentKind.ROLEPLAY, form.roleplay.data or "")
        if learner is None:
            add_error(form.learner_email, "No learner has this email address.")
        elif current is None or form.held_on.data is None:
            add_error(form.roleplay, "Choose a role-play.")
        else:
            try:
                sub = grading.record_live(
                    s, me(), learner, current, held_on=form.held_on.data,
                    live_format=LiveFormat(form.live_format.data or LiveFormat.IN_PERSON),
                    duration_minutes=form.duration_minutes.data or 0,
                    notes=form.notes.data or "", now=now(),
                    calibration_required=calibration_required())
            except (grading.GradingError, calibration.NotCalibrated) as exc:
                s.rollback()
                form.form_errors.append(str(exc))
            else:
                s.commit()
                flash("Live role-play recorded. Grade it now.", "success")
                return redirect(url_for("grade.grade", submission_id=sub.id))
    return render_template("grade/live.html", form=form), 422 if form.errors else 200


# --- reports -----------------------------------------------------------------------------------

@bp.route("/reports")
@staff
def reports_index() -> ResponseReturnValue:
    return redirect(url_for("grade.reports"))


@bp.route("/reports/quizzes")
@staff
def reports() -> ResponseReturnValue:
    s = db.session()
    quizzes = catalogue.items(s, ContentKind.QUIZ)
    selected = request.args.get("quiz") or None
    if selected and selected not in {q.item.slug for q in quizzes}:
        selected = None
    rows = report_service.quiz_results(s, selected)
    items = report_service.item_report(s, selected) if selected else []
    return render_template("grade/reports.html", quizzes=quizzes, selected=selected, rows=rows,
                           items=items, summary=report_service.completion_summary(
                               s, current_app.config["SUMMARY_MAX_AGE_SECONDS"]))


@bp.route("/reports/quizzes.csv")
@staff
def results_csv() -> ResponseReturnValue:
    rows = report_service.quiz_results(db.session(), request.args.get("quiz") or None)
    return csv_response("quiz-results.csv", ["learner", "email", "quiz", "attempts", "best_percent",
                                     "passed"],
                [[r.learner.name, r.learner.email, r.quiz.slug, r.attempts,
                  round(r.best_percent or 0, 1), r.passed] for r in rows])


@bp.route("/reports/items.csv")
@staff
def items_csv() -> ResponseReturnValue:
    slug = request.args.get("quiz") or ""
    items = report_service.item_report(db.session(), slug)
    if not items and catalogue.item(db.session(), ContentKind.QUIZ, slug) is None:
        abort(404)
    return csv_response(f"item-statistics-{slug}.csv",
                ["question_id", "question_hash", "versions", "answered", "facility",
                 "discrimination", "flags", "option_pick_rates"],
                [[i.stats.question_id, i.stats.question_hash[:12],
                  " ".join(str(v) for v in i.versions), i.stats.answered,
                  round(i.stats.facility, 3),
                  "" if i.stats.discrimination is None else round(i.stats.discrimination, 3),
                  "; ".join(i.stats.flags),
                  " | ".join(f"{round(rate, 3)}" for _t, _c, rate in i.options)]
                 for i in items])
