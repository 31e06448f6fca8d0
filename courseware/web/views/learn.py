"""What learners see: the course, modules, quizzes, role-plays, their progress."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import NamedTuple

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from markupsafe import Markup

from courseware.domain.codes import format_code
from courseware.domain.credential import linkedin_add_url
from courseware.domain.quiz import AnswerError
from courseware.domain.statuses import CertificateStatus
from courseware.infra.remembered import Remembered
from courseware.models import Certificate, QuizAttempt, Submission
from courseware.services import attempts, catalogue, certificates, grading, learning, watchlist
from courseware.web import db
from courseware.web.content_filters import FillKey, fill_key
from courseware.web.forms import ActionForm, FeedbackForm, PreferencesForm
from courseware.web.layout import rendered_once, shared_page
from courseware.web.security import login_required
from courseware.web.views.common import (
    announce_certificates,
    double_marking,
    form_int,
    issue_context,
    me,
    now,
)

bp = Blueprint("learn", __name__)


@bp.route("/")
def home() -> ResponseReturnValue:
    if not current_user.is_authenticated:
        return render_template("learn/welcome.html")
    s = db.session()
    states = learning.module_states(s, me())
    progress = certificates.track_progress(s, me(), now())
    return render_template("learn/home.html", states=states, progress=progress,
                           total_minutes=sum(st.data["minutes"] for st in states))


def _module_or_404(slug: str) -> learning.ModuleState:
    state = learning.module_state(db.session(), me(), slug)
    if state is None:
        abort(404)
    return state


@bp.route("/modules/<slug>")
@login_required
def module(slug: str) -> ResponseReturnValue:
    state = _module_or_404(slug)
    if state.locked:
        return render_template("learn/locked.html", state=state), 403
    return shared_page("learn/module.html", module=ModulePage.of(state), lesson=lesson_html(state))


class ModulePage(NamedTuple):
    """What the module page shows of a learner's state: learners alike share one rendering."""

    slug: str
    title: str
    read: bool
    rating: int | None
    commented: bool
    activities: tuple[learning.Activity, ...]

    @classmethod
    def of(cls, state: learning.ModuleState) -> ModulePage:
        return cls(state.slug, state.title, state.read, state.rating, bool(state.comment),
                   state.activities)


# The module page is the course's busiest, and its lesson (header, objectives, contents, body) is
# the same for every learner: render it once per module version, country and process. A new
# version has a new key; with templates reloading (debug), render every time so edits show.
_LESSONS: Remembered[tuple[int, str, FillKey], Markup] = Remembered(256)  # ~36 KB each


def lesson_html(state: learning.ModuleState) -> Markup:
    # the crisis lines filled into the lesson depend on the country (tests run several apps)
    return rendered_once(
        _LESSONS, (state.version_id, state.content_hash, fill_key()),
        lambda: Markup(render_template("learn/_lesson.html", state=state)))  # noqa: S704 (autoescaped)


@bp.route("/modules/<slug>/read", methods=["POST"])
@login_required
def mark_read(slug: str) -> ResponseReturnValue:
    state = _module_or_404(slug)
    if not ActionForm().validate_on_submit():
        abort(400)
    s = db.session()
    try:
        first = learning.mark_read(s, me(), state)
    except learning.Locked:
        abort(403)
    issued = certificates.issue_earned(
        s, me(), now(), issue_context(), actor=me(),
        cause={"module_read": state.slug}) if first else []
    s.commit()
    flash(f"“{state.title}” is marked as read.", "success")
    announce_certificates(issued)
    return redirect(url_for("learn.module", slug=slug) + "#next-steps")


@bp.route("/modules/<slug>/feedback", methods=["GET", "POST"])
@login_required
def feedback(slug: str) -> ResponseReturnValue:
    state = _module_or_404(slug)
    if state.locked:
        return render_template("learn/locked.html", state=state), 403
    if request.method == "GET":
        form = FeedbackForm(rating=None if state.rating is None else str(state.rating),
                            comment=state.comment)
        return render_template("learn/feedback.html", state=state, form=form)
    form = FeedbackForm()  # only what was sent: an earlier rating must not fill a gap
    if not form.validate_on_submit():
        return render_template("learn/feedback.html", state=state, form=form), 422
    s = db.session()
    learning.save_feedback(s, me(), state.id, int(form.rating.data or 0), form.comment.data)
    s.commit()
    flash("Thank you: your feedback helps us improve this module.", "success")
    return redirect(url_for("learn.module", slug=slug) + "#feedback")


@dataclass(frozen=True)
class HeldCertificate:
    """A certificate as its holder sees it: what they may download and share, or why not."""

    cert: Certificate
    status: CertificateStatus
    linkedin_url: str | None
    why_not: str | None


def _held(cert: Certificate, status: CertificateStatus) -> HeldCertificate:
    if status is CertificateStatus.VALID:
        config = current_app.config
        return HeldCertificate(cert, status, linkedin_add_url(
            name=cert.track_version.data["title"], organization=config["ISSUER_NAME"],
            issued=cert.issued_at, expires=cert.expires_at,
            cert_url=f"{config['BASE_URL']}/verify/{cert.code}", cert_id=format_code(cert.code)),
            None)
    # the holder reads what programs read: the published reason, never the internal note
    published = certificates.publication(cert, status)
    reason = ((published.sentence() if published else None) or "not published").rstrip(". ")
    if status is CertificateStatus.REVOKED and cert.revoked_at is not None:
        why = (f"Revoked on {cert.revoked_at:%d %B %Y} (reason: {reason}). A revoked "
               "certificate no longer counts, so it has no PDF or credential to download.")
    elif status is CertificateStatus.EXPIRED:
        why = (f"Expired on {cert.expires_at:%d %B %Y}. An expired certificate no longer counts, "
               "so it has no PDF or credential to download; a renewed one will.")
    else:
        when = f" since {cert.suspended_at:%d %B %Y}" if cert.suspended_at else ""
        why = (f"Suspended{when} (reason: {reason}). While it is suspended it does not count "
               "and has no PDF or credential to download; both return if it is reinstated.")
    return HeldCertificate(cert, status, None, why)


@bp.route("/profile")
@login_required
def profile() -> ResponseReturnValue:
    s = db.session()
    user, moment = me(), now()
    progress = certificates.track_progress(s, user, moment)
    quizzes = [attempts.quiz_status(s, user, q, moment) for q in catalogue.items(s, "quiz")]
    roleplays = [(rp, grading.history(s, user, rp.item)) for rp in catalogue.items(s, "roleplay")]
    certs = certificates.held_by(s, user)
    eligible = certificates.user_eligible(s, user, moment)
    # not yet eligible: the first requirement still missing of a track that would make them so
    missing = None if eligible else next(
        (p.evaluation.missing[0] for p in progress
         if p.spec.grants_eligibility and p.evaluation.missing), None)
    return render_template(
        "learn/profile.html", progress=progress, quizzes=quizzes, roleplays=roleplays,
        certs=[_held(c, certificates.cert_status(c, moment)) for c in certs],
        eligible=eligible, missing=missing, now=moment,
        renewal_warning=timedelta(days=90), learner_status=grading.learner_status,
        prefs_form=PreferencesForm(reminders=user.mail_reminders, digests=user.mail_digests),
        action=ActionForm(), followers=watchlist.followers(s, [c.id for c in certs]),
    )


# --- quizzes ---------------------------------------------------------------------------------

def _quiz_or_404(slug: str) -> attempts.QuizStatus:
    s = db.session()
    current = catalogue.item(s, "quiz", slug)
    if current is None:
        abort(404)
    return attempts.quiz_status(s, me(), current, now())


@bp.route("/quizzes/<slug>")
@login_required
def quiz(slug: str) -> ResponseReturnValue:
    status = _quiz_or_404(slug)
    return render_template("learn/quiz.html", status=status, action=ActionForm())


@bp.route("/quizzes/<slug>/start", methods=["POST"])
@login_required
def start_quiz(slug: str) -> ResponseReturnValue:
    status = _quiz_or_404(slug)
    if not ActionForm().validate_on_submit():
        abort(400)
    s = db.session()
    try:
        attempt = attempts.start_attempt(s, me(), status)
    except attempts.QuizUnavailable as exc:
        s.rollback()
        flash(str(exc), "error")
        return render_template("learn/quiz.html", status=status, action=ActionForm()), 409
    s.commit()
    return redirect(url_for("learn.attempt", attempt_id=attempt.id))


def _attempt_or_404(attempt_id: int) -> QuizAttempt:
    try:
        return attempts.get_attempt(db.session(), me(), attempt_id)
    except attempts.AttemptNotFound:
        abort(404)


def _attempt_view(attempt: QuizAttempt, answers: dict[int, list[int]] | None = None,
                  unanswered: list[int] | None = None, status: int = 200) -> ResponseReturnValue:
    spec = catalogue.quiz_spec(attempt.quiz_version)
    shown = attempts.presented(attempt)
    items = [(position, p, spec.question(p.question_id)) for position, p in enumerate(shown)]
    return render_template(
        "learn/attempt.html", attempt=attempt, spec=spec, items=items, answers=answers or {},
        unanswered=unanswered or [], action=ActionForm(),
    ), status


def _review_view(attempt: QuizAttempt, status: int = 200,
                 notice: str | None = None) -> ResponseReturnValue:
    spec = catalogue.quiz_spec(attempt.quiz_version)
    answers = {a.question_id: a for a in attempt.answers}
    shown = attempts.presented(attempt)
    items = [(p, spec.question(p.question_id), answers.get(p.question_id)) for p in shown]
    # until the learner has passed (with review = "after_pass"), the page shows the score, which
    # questions were right and the feedback on their own choices: nothing that names the key
    full = attempts.shows_key(db.session(), me(), attempt)
    template = "learn/review.html" if full else "learn/review_limited.html"
    return render_template(template, attempt=attempt, spec=spec, items=items,
                           notice=notice), status


@bp.route("/attempts/<id:attempt_id>")
@login_required
def attempt(attempt_id: int) -> ResponseReturnValue:
    record = _attempt_or_404(attempt_id)
    if record.submitted_at is not None:
        return _review_view(record)
    return _attempt_view(record)


def _read_answers(record: QuizAttempt) -> tuple[dict[str, list[int]], dict[int, list[int]]]:
    """Form fields `q<position>` carry shown option positions; map them to bank indexes."""
    shown = attempts.presented(record)
    by_question: dict[str, list[int]] = {}
    by_position: dict[int, list[int]] = {}
    known = {f"q{i}" for i in range(len(shown))}
    for key in request.form:
        if key.startswith("q") and key not in known:
            raise AnswerError(f"'{key[:20]}' is not a question of this attempt")
    for position, item in enumerate(shown):
        raw = request.form.getlist(f"q{position}")
        if not raw:
            continue
        picks = [form_int(v) for v in raw]
        if any(p is None or p >= len(item.order) for p in picks):
            raise AnswerError(f"question {position + 1} names an option that was not shown")
        by_position[position] = [p for p in picks if p is not None]
        by_question[item.question_id] = [item.order[p] for p in picks if p is not None]
    return by_question, by_position


@bp.route("/attempts/<id:attempt_id>", methods=["POST"])
@login_required
def submit_attempt(attempt_id: int) -> ResponseReturnValue:
    record = _attempt_or_404(attempt_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    if record.submitted_at is not None:
        return _review_view(record, status=409,
                            notice="This attempt was already submitted. Here is its recorded "
                                   "result; nothing was changed.")
    try:
        answers, by_position = _read_answers(record)
    except AnswerError as exc:
        return render_template("error.html", status=400, title="Answers not accepted",
                               message=f"These answers do not fit the quiz: {exc}. "
                                       "Nothing was recorded."), 400
    unanswered = [i + 1 for i in range(len(record.presented)) if i not in by_position]
    if unanswered and request.form.get("confirm_blank") != "yes":
        return _attempt_view(record, answers=by_position, unanswered=unanswered, status=200)
    s = db.session()
    try:
        closed = attempts.submit_attempt(s, me(), record, answers, now())
    except AnswerError as exc:
        s.rollback()
        return render_template("error.html", status=400, title="Answers not accepted",
                               message=f"These answers do not fit the quiz: {exc}. "
                                       "Nothing was recorded."), 400
    if not closed:
        s.rollback()
        return _review_view(_attempt_or_404(attempt_id), status=409,
                            notice="This attempt was already submitted. Here is its recorded "
                                   "result; nothing was changed.")
    issued = certificates.issue_earned(
        s, me(), now(), issue_context(), actor=me(),
        cause={"quiz_attempt": record.id}) if record.passed else []
    s.commit()
    announce_certificates(issued)
    return redirect(url_for("learn.attempt", attempt_id=record.id))


# --- role-plays -------------------------------------------------------------------------------

@bp.route("/roleplays/<slug>")
@login_required
def roleplay(slug: str) -> ResponseReturnValue:
    s = db.session()
    current = catalogue.item(s, "roleplay", slug)
    if current is None:
        abort(404)
    spec = catalogue.roleplay_spec(current.version)
    state = learning.module_state(s, me(), spec.module)
    past = grading.history(s, me(), current.item)
    return render_template("learn/roleplay.html", current=current, spec=spec, state=state,
                           past=past, action=ActionForm(), learner_status=grading.learner_status)


@bp.route("/roleplays/<slug>/start", methods=["POST"])
@login_required
def start_roleplay(slug: str) -> ResponseReturnValue:
    s = db.session()
    current = catalogue.item(s, "roleplay", slug)
    if current is None:
        abort(404)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        submission = grading.start(s, me(), current, now())
    except grading.GradingError as exc:
        s.rollback()
        flash(str(exc), "error")
        return redirect(url_for("learn.roleplay", slug=slug))
    s.commit()
    return redirect(url_for("learn.submission", submission_id=submission.id))


def _submission_or_404(submission_id: int) -> Submission:
    try:
        return grading.get_submission(db.session(), me(), submission_id)
    except grading.NotVisible:
        abort(404)


def _submission_view(sub: Submission, replies: list[str] | None = None,
                     errors: list[str] | None = None, status: int = 200) -> ResponseReturnValue:
    spec = grading.spec_of(sub)
    grade = grading.visible_grade(sub) if sub.learner_id == me().id else None
    previous_grade = grading.visible_grade(sub.previous) if sub.previous else None
    return render_template(
        "learn/submission.html", sub=sub, spec=spec, data=sub.roleplay_version.data,
        replies=replies if replies is not None else sub.replies, errors=errors or [],
        grade=grade, previous_grade=previous_grade, max_reply=grading.MAX_REPLY,
        learner_status=grading.learner_status(sub), action=ActionForm(),
        own=sub.learner_id == me().id,
    ), status


@bp.route("/submissions/<id:submission_id>")
@login_required
def submission(submission_id: int) -> ResponseReturnValue:
    sub = _submission_or_404(submission_id)
    if sub.learner_id != me().id and me().role == "trainer" and sub.status in grading.WAITING:
        return redirect(url_for("grade.grade", submission_id=sub.id))
    return _submission_view(sub)


@bp.route("/submissions/<id:submission_id>", methods=["POST"])
@login_required
def save_submission(submission_id: int) -> ResponseReturnValue:
    sub = _submission_or_404(submission_id)
    if sub.learner_id != me().id:
        abort(403)
    if not ActionForm().validate_on_submit():
        abort(400)
    spec = grading.spec_of(sub)
    replies = [request.form.get(f"reply{i}", "") for i in range(len(spec.lines))]
    s = db.session()
    action = request.form.get("action", "save")
    try:
        if action == "submit":
            sent = grading.submit(s, me(), sub, replies, now(),
                                  double_marking=double_marking())
            s.commit()
            flash("Your role-play is submitted. A trainer will review it." if sent else
                  "This role-play was already submitted; nothing was changed.",
                  "success" if sent else "info")
            return redirect(url_for("learn.submission", submission_id=sub.id))
        grading.save_draft(s, me(), sub, replies, now())
    except grading.GradingError as exc:
        s.rollback()
        return _submission_view(sub, replies=replies, errors=[str(exc)], status=422)
    s.commit()
    flash("Draft saved.", "success")
    return redirect(url_for("learn.submission", submission_id=sub.id))


@bp.app_context_processor
def _inject() -> dict[str, object]:
    return {"format_code": format_code, "app_config": current_app.config}
