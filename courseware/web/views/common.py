"""Small helpers shared by the views."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from flask import Response, abort, current_app, flash, request
from flask_login import current_user

from courseware.domain import clock, sampling
from courseware.domain.codes import MalformedCode, format_code, parse_code
from courseware.domain.content.model import RoleplaySpec
from courseware.domain.exports import Cell, csv_lines
from courseware.models import Certificate, User
from courseware.services import certificates, grading
from courseware.services.certificates import IssueContext
from courseware.web import db


def now() -> datetime:
    return clock.utcnow()


def me() -> User:
    """The logged-in account (views behind role_required only)."""
    user = current_user._get_current_object()
    assert isinstance(user, User)
    return user


def my_program_id() -> int:
    """The program the logged-in staff login acts for (views behind role_required(PROGRAM))."""
    program_id = me().program_id
    if program_id is None:
        abort(403)
    return program_id


def issue_context() -> IssueContext:
    return IssueContext.from_config(current_app.config)


def calibration_required() -> bool:
    return bool(current_app.config["CALIBRATION_REQUIRED"])


def double_marking() -> grading.DoubleMarking:
    """The share of work drawn for a blind second grade, and the key that draws it."""
    return grading.DoubleMarking(sampling.double_mark_key(current_app.config["SECRET_KEY"]),
                                 float(current_app.config["DOUBLE_MARK_PERCENT"]))


def csv_response(filename: str, header: Sequence[str],
                 rows: Iterable[Sequence[Cell]]) -> Response:
    """A CSV download, streamed as it is written (a large export starts at once and never sits
    in memory); every cell of every export goes through the one safe writer."""
    return Response(csv_lines(header, rows), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def form_int(value: str | None) -> int | None:
    """A whole number from a form or query string, or None for anything else."""
    if value is None:
        return None
    value = value.strip()
    if not value.isdecimal() or len(value) > 9:
        return None
    return int(value)


def rubric_marks(spec: RoleplaySpec) -> tuple[dict[str, int], dict[str, str]]:
    """The level chosen and the comment written for each criterion of a rubric form (a grade
    or a calibration answer): levels left unchosen are absent, comments at most 5,000
    characters."""
    levels: dict[str, int] = {}
    comments: dict[str, str] = {}
    for criterion in spec.rubric.criteria:
        value = form_int(request.form.get(f"level-{criterion.id}"))
        if value is not None:
            levels[criterion.id] = value
        comments[criterion.id] = request.form.get(f"comment-{criterion.id}", "")[:5000]
    return levels, comments


def text_arg(name: str, limit: int = 100) -> str:
    """A free-text query argument, trimmed, without control characters (NUL breaks PostgreSQL)."""
    value = request.args.get(name) or ""
    return "".join(c for c in value if c.isprintable()).strip()[:limit]


def certificate_or_404(code: str) -> Certificate:
    """The certificate with this code; a malformed or unknown code is simply not found."""
    try:
        canonical = parse_code(code)
    except MalformedCode:
        abort(404)
    cert = certificates.find(db.session(), canonical)
    if cert is None:
        abort(404)
    return cert


def announce_certificates(issued: Iterable[Certificate]) -> None:
    """Tell the learner, on the next page, about each certificate this request issued."""
    for cert in issued:
        flash(f"Congratulations: you have earned the certificate "
              f"“{cert.track_version.data['title']}”. Its code is {format_code(cert.code)}.",
              "success")
