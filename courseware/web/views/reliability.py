"""The reliability report for trainers and admins: agreement, kappa, alpha, severity; CSV."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue

from courseware.domain.exports import Cell
from courseware.domain.statuses import STAFF_ROLES
from courseware.services import reliability
from courseware.web import db
from courseware.web.security import role_required
from courseware.web.views.common import csv_response

bp = Blueprint("reliability", __name__, url_prefix="/grade/reports/reliability")
staff = role_required(*STAFF_ROLES)


@bp.route("")
@staff
def report() -> ResponseReturnValue:
    found = reliability.build(db.session())
    return render_template(
        "grade/reliability.html", report=found,
        trainer_bars=[(r.trainer.name, r.exact, r.adjacent) for r in found.trainers],
        severity=[(r.trainer.name, r.severity_vs_others, r.severity_vs_reference)
                  for r in found.trainers],
        criterion_bars=[(r.title, r.exact, r.adjacent) for r in found.criteria])


def _percent(value: float | None) -> Cell:
    return "" if value is None else round(100 * value, 1)


def _number(value: float | None, places: int = 3) -> Cell:
    return "" if value is None else round(value, places)


@bp.route("/<any(trainers, criteria, pairs):table>.csv")
@staff
def csv(table: str) -> ResponseReturnValue:
    found = reliability.build(db.session())
    if table == "trainers":
        return csv_response("reliability-trainers.csv", [
            "trainer", "blind_grades", "paired_levels", "exact_percent", "adjacent_percent",
            "severity_vs_other_grader", "calibration_levels", "calibration_exact_percent",
            "severity_vs_reference"], (
            [r.trainer.name, r.grades, len(r.pairs), _percent(r.exact), _percent(r.adjacent),
             _number(r.severity_vs_others), len(r.reference), _percent(r.reference_exact),
             _number(r.severity_vs_reference)] for r in found.trainers))
    if table == "criteria":
        return csv_response("reliability-criteria.csv", [
            "roleplay", "criterion", "title", "paired_levels", "exact_percent",
            "adjacent_percent"], (
            [r.roleplay, r.criterion, r.title, len(r.pairs), _percent(r.exact),
             _percent(r.adjacent)] for r in found.criteria))
    return csv_response("reliability-pairs.csv", [
        "trainer", "other_trainer", "paired_levels", "exact_percent",
        "quadratic_weighted_kappa"], (
        [p.first.name, p.second.name, len(p.pairs), _percent(p.exact), _number(p.kappa)]
        for p in found.pairs))
