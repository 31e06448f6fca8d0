"""Measurements that need a fresh process: `python -m bench.probes pdf|sync|complete [URL]`.

pdf:  import WeasyPrint (timed alone), then the first render in this process (cold), then
      warm renders; peak RSS (ru_maxrss) after each stage and the Python-heap peak of one warm
      render (tracemalloc, measured after the timings so it does not slow them).
sync: on an empty, migrated database, the content service in-process (load_catalogue +
      sync_catalogue + commit, as `courseware sync` runs them), first and then unchanged.
complete: the request whose grade completes a learner's track (issue #17): on a small fresh
      database, N learners have met every requirement but their last role-play; a trainer's
      `POST /grade/submissions/<id>` (Flask's test client, in process) passes it and issues the
      certificate. The PDF is no longer rendered in that request (a job renders it): the probe
      times the request, then the render it used to include, for the same certificates.
pages URL: the large-data pages in process (Flask's test client on the large database, logged
      in as the bench trainer and admin): for each page the SQL statements one request runs
      (counted with a `before_cursor_execute` listener) and the median time of a few requests;
      the dashboard with its cache off (every request counts afresh) and on.
Prints one JSON object.
"""

from __future__ import annotations

import json
import resource
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def pdf(warm_runs: int = 5) -> dict[str, Any]:
    from courseware.domain.codes import format_code, generate_code
    from courseware.domain.content import load_catalogue
    from courseware.domain.pdf import CertificatePrint, render_certificate_pdf
    from courseware.infra.config import PROJECT_ROOT

    track = next(iter(load_catalogue(PROJECT_ROOT).tracks.values()))
    directory = PROJECT_ROOT / "certificates"
    rss_before = _rss_mb()
    t = time.perf_counter()
    import weasyprint  # noqa: F401 - the lazy import render_certificate_pdf does, timed alone

    import_s = time.perf_counter() - t
    rss_import = _rss_mb()

    def one(n: int) -> bytes:
        code = generate_code()
        issued = datetime.now(UTC).date() - timedelta(days=n)
        return render_certificate_pdf(CertificatePrint(
            holder_name=f"Holder Number {n}", track_title=track.title, issued_on=issued,
            expires_on=date(issued.year + 2, issued.month, min(issued.day, 28)),
            code_display=format_code(code), verify_url=f"http://127.0.0.1:5000/verify/{code}",
            issuer_name="Courseware Peer Mentor Program"), directory)

    t = time.perf_counter()
    first = one(0)
    first_s = time.perf_counter() - t
    rss_first = _rss_mb()
    warm = []
    for n in range(1, warm_runs + 1):
        t = time.perf_counter()
        one(n)
        warm.append(time.perf_counter() - t)
    rss_warm = _rss_mb()
    import tracemalloc

    tracemalloc.start()
    one(99)
    heap_peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return {
        "import_s": import_s, "first_render_s": first_s, "cold_total_s": import_s + first_s,
        "warm_render_s": statistics.median(warm), "warm_max_s": max(warm), "warm_runs": warm,
        "pdf_bytes": len(first), "rss_before_import_mb": rss_before,
        "rss_after_import_mb": rss_import, "rss_after_first_mb": rss_first,
        "peak_rss_mb": rss_warm, "render_heap_peak_mb": heap_peak,
    }


def sync(url: str) -> dict[str, Any]:
    from courseware.domain.content import load_catalogue
    from courseware.infra.config import PROJECT_ROOT
    from courseware.infra.db import Database
    from courseware.infra.migrate import upgrade
    from courseware.services.audit import COMMAND_LINE
    from courseware.services.content_sync import sync_catalogue

    database = Database(url)
    upgrade(database.engine)
    out: dict[str, Any] = {}
    for run in ("first", "unchanged"):
        t = time.perf_counter()
        catalogue = load_catalogue(PROJECT_ROOT)
        loaded = time.perf_counter()
        with database.session() as s:
            report = sync_catalogue(s, catalogue, actor=COMMAND_LINE)
            s.commit()
        done = time.perf_counter()
        out[run] = {"total_s": done - t, "load_s": loaded - t, "db_s": done - loaded,
                    "summary": report.summary()}
    database.engine.dispose()
    return out


def complete(folder: str, learners: int = 8) -> dict[str, Any]:
    import re
    import shutil
    from pathlib import Path

    from sqlalchemy import select

    from courseware.domain import clock
    from courseware.domain.content import load_catalogue
    from courseware.domain.statuses import ContentKind, Role
    from courseware.factory import create_app
    from courseware.infra.config import PROJECT_ROOT
    from courseware.infra.migrate import upgrade
    from courseware.models import Certificate, User
    from courseware.services import accounts, attempts, catalogue, certificates, grading, learning
    from courseware.services.audit import COMMAND_LINE
    from courseware.services.content_sync import sync_catalogue

    root = Path(folder)
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    app = create_app({"DATABASE_URL": f"sqlite:///{root / 'complete.db'}",
                      "INSTANCE_PATH": str(root / "instance"), "FAST_PASSWORD_HASH": True,
                      "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False,
                      "BASE_URL": "http://127.0.0.1:5000", "MAIL_BACKEND": "dummy",
                      # the synthetic trainer grades at once (no enrolment, no calibration)
                      "SECOND_FACTOR_REQUIRED_FOR_STAFF": False, "CALIBRATION_REQUIRED": False})
    database = app.extensions["courseware.db"]
    upgrade(database.engine)
    with database.session() as s:
        sync_catalogue(s, load_catalogue(PROJECT_ROOT), actor=COMMAND_LINE)
        s.commit()
    password = "bench password, long enough"  # noqa: S105 (synthetic accounts)
    with database.session() as s:
        trainer = accounts.create_user(s, email="trainer@bench.example", name="Bench Trainer",
                                       password=password, role=Role.TRAINER, fast_hash=True)
        s.commit()
        trainer_id = trainer.id
    last_submissions = []
    for n in range(learners):  # everything but the last role-play's grade, through the services
        with database.session() as s:
            now = clock.utcnow()
            user = accounts.create_user(s, email=f"learner{n}@bench.example",
                                        name=f"Bench Learner {n}", password=password,
                                        fast_hash=True)
            for state in learning.module_states(s, user):
                current_state = learning.module_state(s, user, state.slug)
                assert current_state is not None
                learning.mark_read(s, user, current_state)
            for quiz in catalogue.items(s, ContentKind.QUIZ):
                attempt = attempts.start_attempt(s, user, attempts.quiz_status(s, user, quiz, now))
                s.flush()
                spec = catalogue.quiz_spec(quiz.version)
                answers = {}
                for shown in attempt.presented:
                    question = spec.question(shown["id"])
                    assert question is not None
                    answers[shown["id"]] = [i for i, o in enumerate(question.options)
                                            if o.correct]
                attempts.submit_attempt(s, user, attempt, answers, now)
            grader = s.get(User, trainer_id)
            assert grader is not None
            roleplays = catalogue.items(s, ContentKind.ROLEPLAY)
            for index, roleplay in enumerate(roleplays):
                spec = catalogue.roleplay_spec(roleplay.version)
                draft = grading.start(s, user, roleplay, now)
                s.flush()
                grading.submit(s, user, draft, [f"Reply {i}" for i in range(len(spec.lines))],
                               now)
                if index == len(roleplays) - 1:
                    last_submissions.append(draft.id)
                    break
                grading.claim(s, grader, draft, now, timedelta(hours=2),
                              calibration_required=False)
                grading.save_grade(s, grader, draft, grading.GradeInput(
                    {c.id: c.max_score for c in spec.rubric.criteria}, {}, "Clear and warm.",
                    grading.next_grade_number(draft)), now, calibration_required=False)
            s.commit()
    client = app.test_client()
    assert client.post("/login", data={"email": "trainer@bench.example",
                                       "password": password}).status_code == 302
    request_s, render_s = [], []
    ctx = certificates.IssueContext.from_config(app.config)
    for submission_id in last_submissions:
        assert client.post(f"/grade/submissions/{submission_id}/claim").status_code == 302
        page = client.get(f"/grade/submissions/{submission_id}").get_data(as_text=True)
        levels = {}
        for name, value in re.findall(r'name="(level-[a-z0-9-]+)" value="(\d+)"', page):
            levels[name] = max(int(value), levels.get(name, 0))
        form = {k: str(v) for k, v in levels.items()}
        form["feedback"] = "Clear, warm replies."
        t0 = time.perf_counter()
        response = client.post(f"/grade/submissions/{submission_id}", data=form)
        request_s.append(time.perf_counter() - t0)
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
    with database.session(write=False) as s:
        certs = list(s.scalars(select(Certificate).order_by(Certificate.id)))
        assert len(certs) == learners and all(c.pdf is None for c in certs), \
            "every learner holds a certificate, none rendered in the request"
        for cert in certs:  # what each request used to do before answering
            t0 = time.perf_counter()
            certificates.render_pdf(cert, ctx)
            render_s.append(time.perf_counter() - t0)
    database.engine.dispose()
    shutil.rmtree(root, ignore_errors=True)
    warm = render_s[1:]
    return {"learners": learners, "request_s": request_s,
            "request_p50_s": statistics.median(request_s),
            "request_max_s": max(request_s),
            "render_first_s": render_s[0], "render_warm_p50_s": statistics.median(warm),
            "before_p50_s": statistics.median(request_s) + statistics.median(warm),
            "render_s": render_s}


PAGE_RUNS = 5
DEEP = 5000  # the deep grading-queue page starts after this many waiting submissions


def pages(url: str) -> dict[str, Any]:
    from sqlalchemy import event, text

    from bench.data import EMAIL_DOMAIN, PASSWORD
    from courseware.domain import cursors
    from courseware.factory import create_app

    config = {"DATABASE_URL": url, "FAST_PASSWORD_HASH": True, "WTF_CSRF_ENABLED": False,
              "RATELIMIT_ENABLED": False, "BASE_URL": "http://127.0.0.1:5000",
              "SECOND_FACTOR_REQUIRED_FOR_STAFF": False, "CALIBRATION_REQUIRED": False,
              "MAIL_BACKEND": "dummy", "SUMMARY_MAX_AGE_SECONDS": 0}
    app = create_app(config)
    engine = app.extensions["courseware.db"].engine
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT",
                                                      "RELEASE")):
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    clients = {}
    for role in ("trainer", "admin"):
        client = app.test_client()
        done = client.post("/login", data={"email": f"{role}0@{EMAIL_DOMAIN}",
                                           "password": PASSWORD})
        if done.status_code != 302:
            raise RuntimeError(f"{role} login answered {done.status_code}")
        clients[role] = client
    with engine.connect() as conn:
        waiting = conn.execute(text(
            "SELECT submitted_at, id FROM submission WHERE status = 'submitted' "
            "ORDER BY submitted_at, id LIMIT 1 OFFSET :n"),
            {"n": min(DEEP, conn.scalar(text("SELECT count(*) FROM submission")) // 2)}).one()
    moment = waiting[0] if not isinstance(waiting[0], str) else \
        datetime.fromisoformat(waiting[0])
    # the queue's own cursor for "after this submission" (what its next link carries)
    deep = cursors.encode((moment.replace(tzinfo=UTC), waiting[1]))
    # first with the counts' cache off: the dashboard's refresh (paid once per 30 s); then the
    # lists as served, their counts kept as in production (SUMMARY_MAX_AGE_SECONDS)
    plan = [("dashboard", "admin", "/admin/"),
            ("queue", "trainer", "/grade/"),
            ("queue_deep", "trainer", f"/grade/?after={deep}"),
            ("roster", "admin", "/admin/roster"),
            ("roster_filtered", "admin", "/admin/roster?standing=lapsed"),
            ("roster_empty", "admin", "/admin/roster?standing=expiring")]
    out: dict[str, Any] = {}
    for name, role, path in plan:
        if name != "dashboard":
            app.config["SUMMARY_MAX_AGE_SECONDS"] = 60
        client = clients[role]
        first = client.get(path)  # warm: compiled statements, cached content
        if first.status_code != 200:
            raise RuntimeError(f"{path} answered {first.status_code}")
        if name == "queue_deep" and first.data == clients[role].get("/grade/").data:
            raise RuntimeError("the deep queue page is the first page: its cursor was refused")
        statements.clear()
        client.get(path)
        counted = len(statements)
        timings = []
        for _ in range(PAGE_RUNS):
            t0 = time.perf_counter()
            client.get(path)
            timings.append(time.perf_counter() - t0)
        out[name] = {"path": path, "statements": counted,
                     "median_ms": statistics.median(timings) * 1000,
                     "bytes": len(first.data)}
    clients["admin"].get("/admin/")  # fills the cache
    statements.clear()
    t0 = time.perf_counter()
    clients["admin"].get("/admin/")
    out["dashboard_cached"] = {"path": "/admin/", "statements": len(statements),
                               "median_ms": (time.perf_counter() - t0) * 1000}
    engine.dispose()
    return out


def main() -> int:
    kind = sys.argv[1]
    if kind == "pages":
        print(json.dumps(pages(sys.argv[2])))
        return 0
    if kind == "complete":
        print(json.dumps(complete(sys.argv[2])))
        return 0
    result = pdf() if kind == "pdf" else sync(sys.argv[2])
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
