"""Trainer calibration: grade a role-play's anchor responses blind, then see the reference."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from courseware.domain.rubric import comment_required
from courseware.domain.statuses import STAFF_ROLES, CalibrationStatus
from courseware.models import CalibrationRun
from courseware.services import calibration
from courseware.web import db
from courseware.web.forms import ActionForm
from courseware.web.security import role_required
from courseware.web.views.common import me, now, rubric_marks

bp = Blueprint("calibrate", __name__, url_prefix="/grade/calibration")
staff = role_required(*STAFF_ROLES)


@bp.route("/")
@staff
def index() -> ResponseReturnValue:
    return render_template("calibrate/index.html",
                           standings=calibration.standings(db.session(), me()),
                           action=ActionForm())


@bp.route("/<slug>/start", methods=["POST"])
@staff
def start(slug: str) -> ResponseReturnValue:
    if not ActionForm().validate_on_submit():
        abort(400)
    s = db.session()
    try:
        run = calibration.start(s, me(), slug, now())
    except calibration.CalibrationError as exc:
        s.rollback()
        flash(str(exc), "error")
        return redirect(url_for("calibrate.index"))
    s.commit()
    return redirect(url_for("calibrate.run", run_id=run.id))


def _run_or_404(run_id: int) -> CalibrationRun:
    try:
        return calibration.run_for(db.session(), me(), run_id)
    except calibration.RunNotVisible:
        abort(404)


def _run_view(run: CalibrationRun, *, levels: dict[str, int] | None = None,
              comments: dict[str, str] | None = None, errors: list[str] | None = None,
              status: int = 200) -> ResponseReturnValue:
    roleplay = calibration.roleplay_spec_of(run)
    if run.status is not CalibrationStatus.IN_PROGRESS:
        spec = calibration.spec_of(run)
        anchors = {a.id: a for a in spec.anchors}
        answers = {a.anchor_id: a for a in run.answers}
        return render_template(
            "calibrate/result.html", run=run, roleplay=roleplay, result=calibration.result(run),
            shown=[(anchors[anchor_id], answers[anchor_id]) for anchor_id in run.order],
            slug=spec.roleplay,
            mine=run.trainer_id == me().id, action=ActionForm()), status
    upcoming = calibration.next_anchor(run)
    assert upcoming is not None
    position, anchor = upcoming
    return render_template(
        "calibrate/anchor.html", run=run, roleplay=roleplay, anchor=anchor, position=position,
        total=len(run.order), levels=levels or {}, comments=comments or {},
        errors=errors or [], action=ActionForm(),
        comment_required=lambda score: comment_required(roleplay.rubric, score)), status


@bp.route("/runs/<id:run_id>")
@staff
def run(run_id: int) -> ResponseReturnValue:
    return _run_view(_run_or_404(run_id))


@bp.route("/runs/<id:run_id>", methods=["POST"])
@staff
def answer(run_id: int) -> ResponseReturnValue:
    found = _run_or_404(run_id)
    if found.trainer_id != me().id:
        abort(404)
    if not ActionForm().validate_on_submit():
        abort(400)
    if found.status is not CalibrationStatus.IN_PROGRESS:
        flash("This calibration is complete: start a new one to try again.", "info")
        return redirect(url_for("calibrate.run", run_id=found.id))
    levels, comments = rubric_marks(calibration.roleplay_spec_of(found))
    s = db.session()
    try:
        calibration.answer(s, me(), found, request.form.get("anchor", "")[:100], levels,
                           comments, now())
    except calibration.StaleAnchor as exc:  # what was typed was for another response
        s.rollback()
        return _run_view(_run_or_404(run_id), errors=[str(exc)], status=422)
    except calibration.CalibrationError as exc:
        s.rollback()
        return _run_view(_run_or_404(run_id), levels=levels, comments=comments,
                         errors=[str(exc)], status=422)
    s.commit()
    finished = CalibrationStatus(found.status)  # answering the last anchor completes the run
    if finished is CalibrationStatus.PASSED:
        flash("Calibration passed: this role-play's work is now in your grading queue.",
              "success")
    elif finished is CalibrationStatus.FAILED:
        flash("Calibration not passed this time: compare your levels with the reference below, "
              "then try again.", "error")
    return redirect(url_for("calibrate.run", run_id=found.id))
