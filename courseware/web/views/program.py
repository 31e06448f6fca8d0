"""What a program's staff see (`/program/`): the watch list of their mentors' certificates, and
their API keys. And the public form that asks for a program account (`/programs/request`).

Every page reads and changes only the logged-in login's own program: ids and codes in URLs
are looked up within it, so another program's key or entry is simply not found.
"""

from __future__ import annotations

from datetime import UTC, datetime, time

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from courseware.domain import watchlist as rules
from courseware.domain.codes import MalformedCode, format_code, parse_code
from courseware.domain.statuses import ApiScope, Role, WatchFilter
from courseware.models import Program
from courseware.services import api_keys, programs, watchlist
from courseware.web import db
from courseware.web.forms import (
    ActionForm,
    ApiKeyForm,
    ProgramRequestForm,
    WatchAddForm,
    add_error,
)
from courseware.web.security import role_required
from courseware.web.views.common import csv_response, me, my_program_id, now

bp = Blueprint("program", __name__)
staff_only = role_required(Role.PROGRAM)


def _program() -> Program:
    program = programs.find(db.session(), my_program_id())
    if program is None:  # the CHECK on user.program_id makes this unreachable in practice
        abort(404)
    return program


def _filter() -> WatchFilter | None:
    try:
        return WatchFilter(request.args.get("status", ""))
    except ValueError:
        return None


# --- the watch list ------------------------------------------------------------------------------

def _list_page(form: WatchAddForm | None = None, report: list[rules.CodeRow] | None = None,
               status: int = 200) -> ResponseReturnValue:
    program = _program()
    which = _filter()
    found = watchlist.page(db.session(), program.id, now(), which=which,
                           after=request.args.get("after"))
    return render_template(
        "program/watchlist.html", program=program, page=found, which=which,
        form=form or WatchAddForm(), report=report,
        tally=rules.counts(report) if report is not None else None,
        action=ActionForm()), status


@bp.route("/program/")
@staff_only
def watchlist_page() -> ResponseReturnValue:
    return _list_page()


@bp.route("/program/watchlist", methods=["POST"])
@staff_only
def add_codes() -> ResponseReturnValue:
    form = WatchAddForm()
    if not form.validate_on_submit():
        return _list_page(form, status=422)
    upload = request.files.get(form.file.name)
    pasted = (form.codes.data or "").strip()
    try:
        if upload is not None and upload.filename:
            if pasted:
                add_error(form.file, "Paste codes or upload a file, not both.")
                return _list_page(form, status=422)
            rows = rules.parse_csv(upload.stream.read(rules.MAX_UPLOAD_BYTES + 1))
        elif pasted:
            rows = rules.parse_pasted(pasted)
        else:
            add_error(form.codes, "Paste at least one code, or upload a CSV file.")
            return _list_page(form, status=422)
    except (rules.TooManyCodes, rules.UnreadableUpload) as exc:
        add_error(form.file if upload is not None and upload.filename else form.codes, str(exc))
        return _list_page(form, status=422)
    if not rows:
        add_error(form.file, "The file holds no codes.")
        return _list_page(form, status=422)
    s = db.session()
    report = watchlist.add(s, _program(), rows, actor=me(), now=now())
    s.commit()
    return _list_page(WatchAddForm(formdata=None), report)


@bp.route("/program/watchlist/<code>/remove", methods=["POST"])
@staff_only
def remove_code(code: str) -> ResponseReturnValue:
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        canonical = parse_code(code)
    except MalformedCode:
        abort(404)
    s = db.session()
    if not watchlist.remove(s, _program(), canonical, actor=me()):
        abort(404)
    s.commit()
    flash(f"{format_code(canonical)} is no longer on your list.", "success")
    return redirect(url_for("program.watchlist_page"))


@bp.route("/program/watchlist.csv")
@staff_only
def watchlist_csv() -> ResponseReturnValue:
    program_id, which, moment = my_program_id(), _filter(), now()
    rows = db.read_stream(lambda s: (
        (format_code(i.code), i.holder, i.track_title, i.status.value,
         "yes" if i.eligible else "no", i.expires_at.date().isoformat(), i.days_left,
         i.added_at.date().isoformat())
        for i in watchlist.export(s, program_id, moment, which)))
    name = f"roster-{which.value}.csv" if which else "roster.csv"
    return csv_response(name, ("code", "holder", "track", "status", "eligible", "expires",
                               "days_left", "added"), rows)


# --- API keys ---------------------------------------------------------------------------------

def _keys_page(form: ApiKeyForm | None = None, chosen: list[str] | None = None,
               status: int = 200) -> ResponseReturnValue:
    program = _program()
    return render_template("program/keys.html", program=program,
                           keys=api_keys.of_program(db.session(), program.id),
                           form=form or ApiKeyForm(), chosen=chosen or [ApiScope.VERIFY.value],
                           scopes=list(ApiScope), action=ActionForm(), now=now()), status


@bp.route("/program/keys")
@staff_only
def keys() -> ResponseReturnValue:
    return _keys_page()


@bp.route("/program/keys", methods=["POST"])
@staff_only
def create_key() -> ResponseReturnValue:
    form = ApiKeyForm()
    chosen = request.form.getlist("scopes")
    if not form.validate_on_submit():
        return _keys_page(form, chosen, 422)
    expires_at = (datetime.combine(form.expires_on.data, time(0), UTC)
                  if form.expires_on.data else None)
    s = db.session()
    try:
        key, plaintext = api_keys.create(s, _program(), name=form.name.data or "",
                                         scopes=chosen, expires_at=expires_at, actor=me(),
                                         now=now())
    except api_keys.ApiKeyError as exc:
        s.rollback()
        target = {"name": form.name, "expires_on": form.expires_on}.get(exc.field or "")
        if target is not None:
            add_error(target, str(exc))
        else:
            form.form_errors.append(str(exc))
        return _keys_page(form, chosen, 422)
    s.commit()
    page = render_template("program/key_created.html", key=key, plaintext=plaintext)
    # shown once: no cache, no back button, no referrer may keep it
    return page, 201, {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


@bp.route("/program/keys/<id:key_id>/revoke", methods=["POST"])
@staff_only
def revoke_key(key_id: int) -> ResponseReturnValue:
    if not ActionForm().validate_on_submit():
        abort(400)
    s = db.session()
    key = api_keys.find(s, my_program_id(), key_id)
    if key is None:
        abort(404)
    if api_keys.revoke(s, key, actor=me(), now=now()):
        s.commit()
        flash(f"The key {key.prefix} ({key.name}) is revoked: it no longer works.", "success")
    else:
        flash(f"The key {key.prefix} was revoked already.", "info")
    return redirect(url_for("program.keys"))


# --- the public request ----------------------------------------------------------------------

@bp.route("/programs/request", methods=["GET", "POST"])
def request_form() -> ResponseReturnValue:
    form = ProgramRequestForm()
    if request.method == "GET":
        return render_template("program/request.html", form=form)
    if not form.validate_on_submit():
        return render_template("program/request.html", form=form), 422
    s = db.session()
    try:
        programs.request(s, name=form.name.data or "", contact_email=form.contact_email.data or "",
                         country=form.country.data or "",
                         requester_name=form.requester_name.data or "",
                         note=form.note.data or "", now=now())
    except programs.ProgramError as exc:
        s.rollback()
        field = getattr(form, exc.field or "", None)
        if field is not None:
            add_error(field, str(exc))
        else:
            form.form_errors.append(str(exc))
        return render_template("program/request.html", form=form), 422
    s.commit()
    # the same answer whether a request was recorded or the name was known already
    return render_template("program/request_sent.html")
