"""Admins' pages for programs, on the admin blueprint: the list (requests waiting first),
creating a program, deciding a request, adding a staff login."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue

from courseware.models import Program
from courseware.services import programs
from courseware.web import db
from courseware.web.forms import ActionForm, ProgramCreateForm, StaffForm, add_error
from courseware.web.views.admin import admin_only, bp
from courseware.web.views.common import me, now


def _list(form: ProgramCreateForm | None = None, status: int = 200) -> ResponseReturnValue:
    return render_template("admin/programs.html", rows=programs.listing(db.session()),
                           form=form or ProgramCreateForm()), status


@bp.route("/programs")
@admin_only
def programs_list() -> ResponseReturnValue:
    return _list()


def _field_error(form: ProgramCreateForm | StaffForm, exc: programs.ProgramError) -> None:
    names = {"staff_name": "staff_name" if isinstance(form, ProgramCreateForm) else "name"}
    field = getattr(form, names.get(exc.field or "", exc.field or ""), None)
    if field is not None:
        add_error(field, str(exc))
    else:
        form.form_errors.append(str(exc))


@bp.route("/programs", methods=["POST"])
@admin_only
def create_program() -> ResponseReturnValue:
    form = ProgramCreateForm()
    if not form.validate_on_submit():
        return _list(form, 422)
    s = db.session()
    try:
        program, staff = programs.create(
            s, name=form.name.data or "", contact_email=form.contact_email.data or "",
            country=form.country.data or "", staff_name=form.staff_name.data or "",
            actor=me(), now=now())
    except programs.ProgramError as exc:
        s.rollback()
        _field_error(form, exc)
        return _list(form, 422)
    s.commit()
    flash(f"{program.name} is created; {staff.email} was mailed a link to choose a password.",
          "success")
    return redirect(url_for("admin.program_detail", program_id=program.id))


def _program_or_404(program_id: int) -> Program:
    program = programs.find(db.session(), program_id)
    if program is None:
        abort(404)
    return program


def _detail(program: Program, form: StaffForm | None = None,
            status: int = 200) -> ResponseReturnValue:
    return render_template("admin/program.html", program=program,
                           staff=programs.staff_of(db.session(), program.id),
                           form=form or StaffForm(), action=ActionForm()), status


@bp.route("/programs/<id:program_id>")
@admin_only
def program_detail(program_id: int) -> ResponseReturnValue:
    return _detail(_program_or_404(program_id))


@bp.route("/programs/<id:program_id>/<any(approve, decline):decision>", methods=["POST"])
@admin_only
def decide_program(program_id: int, decision: str) -> ResponseReturnValue:
    program = _program_or_404(program_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    s = db.session()
    try:
        staff = programs.decide(s, program, approve=decision == "approve", staff_name="",
                                actor=me(), now=now())
    except programs.ProgramError as exc:
        s.rollback()
        flash(str(exc), "error")
        return redirect(url_for("admin.program_detail", program_id=program_id))
    s.commit()
    if staff is not None:
        flash(f"{program.name} is approved; {staff.email} was mailed a link to choose a "
              "password.", "success")
    else:
        flash(f"The request of {program.name} is declined.", "success")
    return redirect(url_for("admin.program_detail", program_id=program_id))


@bp.route("/programs/<id:program_id>/staff", methods=["POST"])
@admin_only
def add_program_staff(program_id: int) -> ResponseReturnValue:
    program = _program_or_404(program_id)
    form = StaffForm()
    if not form.validate_on_submit():
        return _detail(program, form, 422)
    s = db.session()
    try:
        staff = programs.add_staff(s, program, email=form.email.data or "",
                                   name=form.name.data or "", actor=me(), now=now())
    except programs.ProgramError as exc:
        s.rollback()
        _field_error(form, exc)
        return _detail(program, form, 422)
    s.commit()
    flash(f"{staff.email} was mailed a link to choose a password.", "success")
    return redirect(url_for("admin.program_detail", program_id=program_id))
