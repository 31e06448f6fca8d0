"""Benchmark databases: migrated, synced with the real course, then bulk-filled.

A database holds the real content (migrations + sync, as `flask db upgrade` and `courseware
sync` would), a few users, and N certificates (one track, HOLDERS holders, cycles 1..N/HOLDERS
so the (user, track, cycle) constraint holds) with random codes in the real format. The large
one also holds 1 M submitted quiz attempts of the same learners over every quiz, each with a
real `presented` draw, PENDING written role-plays waiting for a grade, and one trainer and one
admin (the large-data pages). Rows go in with one executemany in one transaction on
SQLite and with COPY on PostgreSQL; users (100k) through SQLAlchemy Core in chunks.

SQLite files are kept in bench/data/ between runs and reused while the migrations and this
generator are unchanged (GENERATOR_VERSION, fingerprint()); PostgreSQL clusters are throwaway,
so their data is made afresh each run.
"""

from __future__ import annotations

import hashlib
import json
import random
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert, select, text
from sqlalchemy.engine import make_url

from courseware.domain.content import load_catalogue
from courseware.domain.quiz import draw
from courseware.infra.config import PROJECT_ROOT
from courseware.infra.db import Database
from courseware.infra.migrate import MIGRATIONS, upgrade
from courseware.models import ContentItem, ModuleRead, QuizAttempt, User
from courseware.services import accounts
from courseware.services.audit import COMMAND_LINE
from courseware.services.content_sync import sync_catalogue

from .codes import fast_codes

GENERATOR_VERSION = 3  # 3: 100k holders, 10k pending submissions, a trainer and an admin
DATA_DIR = PROJECT_ROOT / "bench" / "data"
PASSWORD = "bench-password-not-secret"  # noqa: S105 - synthetic accounts on a throwaway DB
HOLDERS = 100_000  # learners holding the certificates; 1 M certificates = 10 cycles each
PENDING = 10_000  # written role-plays waiting for a grade on the large database
SMALL_PENDING = 100  # ... and on the small one (the statement counts are compared)
READERS = 16  # learners the page load generator logs in as (one per client thread)
VARIANTS = 32  # distinct `presented` draws per quiz reused across stored attempts
EMAIL_DOMAIN = "bench.example.org"


@dataclass
class Dataset:
    label: str  # "1k", "1M"
    url: str
    certificates: int
    attempts: int
    build_seconds: float | None = None  # None: reused from an earlier run
    sample: list[tuple[int, str]] = field(default_factory=list)  # (id, code) spread evenly


def fingerprint() -> str:
    """Changes when the schema or this generator changes: a cached SQLite file is then stale."""
    digest = hashlib.sha256(f"generator {GENERATOR_VERSION}".encode())
    for path in sorted((MIGRATIONS / "versions").glob("*.py")):
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:16]


def sqlite_dataset(label: str, certificates: int, attempts: int, log: Any) -> Dataset:
    """The cached SQLite database for this size, built first if missing or stale."""
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    path = DATA_DIR / f"sqlite-{label}.db"
    meta_path = path.with_suffix(".json")
    wanted = {"fingerprint": fingerprint(), "certificates": certificates, "attempts": attempts}
    url = f"sqlite:///{path}"
    try:
        meta = json.loads(meta_path.read_text())
    except (FileNotFoundError, ValueError):
        meta = {}
    if path.exists() and {k: meta.get(k) for k in wanted} == wanted:
        log(f"reusing {path.relative_to(PROJECT_ROOT)} (built in {meta.get('build_seconds')} s)")
        _refresh_content(url)
        return Dataset(label, url, certificates, attempts)
    for stale in (path, meta_path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        stale.unlink(missing_ok=True)
    seconds = build(url, certificates, attempts, log)
    meta_path.write_text(json.dumps({**wanted, "build_seconds": round(seconds, 1)}))
    return Dataset(label, url, certificates, attempts, build_seconds=seconds)


def _refresh_content(url: str) -> None:
    """A reused database still gets today's migrations and content (both no-ops if unchanged)."""
    database = Database(url)
    try:
        upgrade(database.engine)
        with database.session() as s:
            sync_catalogue(s, load_catalogue(PROJECT_ROOT), actor=COMMAND_LINE)
            s.commit()
    finally:
        database.engine.dispose()


# --- building ---------------------------------------------------------------------------------

@dataclass
class _Ids:
    track_id: int
    track_version_id: int
    quizzes: list[tuple[int, int, list[str], int]]  # item id, version id, variants, questions
    module_ids: dict[str, int]
    quiz_slugs: dict[int, str]  # quiz item id: slug
    roleplays: dict[str, int]  # slug: current version id
    roleplay_items: list[tuple[int, int]]  # (item id, current version id) of each role-play


def build(url: str, certificates: int, attempts: int, log: Any) -> float:
    start = time.perf_counter()
    database = Database(url)
    engine = database.engine
    try:
        upgrade(engine)
        with database.session() as s:
            sync_catalogue(s, load_catalogue(PROJECT_ROOT), actor=COMMAND_LINE)
            s.commit()
        ids = _content_ids(engine)
        holders = create_users(engine, "holder", min(HOLDERS, certificates))
        create_users(engine, "reader", READERS)
        create_users(engine, "trainer", 1, role="trainer")
        create_users(engine, "admin", 1, role="admin")
        log(f"  schema, content and {len(holders) + READERS + 2:,} users: "
            f"{time.perf_counter() - start:.1f} s")
        t = time.perf_counter()
        _bulk(engine, "certificate", CERT_COLUMNS, certificate_rows(certificates, holders, ids))
        _bulk(engine, "certificate_evidence", ("certificate_id", "evidence"),
              evidence_rows(engine, certificates, ids))
        log(f"  {certificates:,} certificates: {time.perf_counter() - t:.1f} s")
        if attempts:
            t = time.perf_counter()
            _bulk(engine, "quiz_attempt", ATTEMPT_COLUMNS, attempt_rows(attempts, holders, ids))
            log(f"  {attempts:,} quiz attempts: {time.perf_counter() - t:.1f} s")

        pending = PENDING if attempts else SMALL_PENDING
        t = time.perf_counter()
        _bulk(engine, "submission", SUBMISSION_COLUMNS, submission_rows(pending, holders, ids))
        log(f"  {pending:,} pending submissions: {time.perf_counter() - t:.1f} s")
        if engine.dialect.name == "postgresql":
            t = time.perf_counter()
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE"))  # what autovacuum does after a bulk load
            log(f"  VACUUM ANALYZE: {time.perf_counter() - t:.1f} s")
    finally:
        engine.dispose()
    return time.perf_counter() - start


def _content_ids(engine: Engine) -> _Ids:
    catalogue = load_catalogue(PROJECT_ROOT)
    with engine.connect() as conn:
        items = {(kind, slug): (ident, version) for ident, kind, slug, version in conn.execute(
            select(ContentItem.id, ContentItem.kind, ContentItem.slug,
                   ContentItem.current_version_id).where(ContentItem.active))}
        hashes = {}
        for (kind, slug), (_ident, version) in items.items():
            if kind == "quiz":
                data = conn.scalar(text("SELECT data FROM content_version WHERE id = :v"),
                                   {"v": version})
                data = json.loads(data) if isinstance(data, str) else data
                hashes[slug] = data["question_hashes"]
    track = sorted(slug for kind, slug in items if kind == "track")[0]
    rng = random.Random(8)
    quizzes = []
    for slug in sorted(hashes):
        spec = catalogue.quizzes[slug]
        variants = [json.dumps([p.to_data() for p in draw(spec, hashes[slug], rng)])
                    for _ in range(VARIANTS)]
        ident, version = items[("quiz", slug)]
        quizzes.append((ident, version, variants, spec.questions_per_attempt))
    return _Ids(
        track_id=items[("track", track)][0], track_version_id=items[("track", track)][1],
        quizzes=quizzes,
        module_ids={slug: ident for (kind, slug), (ident, _v) in items.items()
                    if kind == "module"},
        quiz_slugs={ident: slug for (kind, slug), (ident, _v) in items.items() if kind == "quiz"},
        roleplays={slug: version for (kind, slug), (_i, version) in items.items()
                   if kind == "roleplay"},
        roleplay_items=sorted((ident, version or 0) for (kind, _slug), (ident, version)
                              in items.items() if kind == "roleplay"),
    )


def password_hash() -> str:
    """One hash for every synthetic account (the bench app verifies with the fast parameters)."""
    return accounts.hasher(True).hash(PASSWORD)


def create_users(engine: Engine, prefix: str, count: int,
                 module_reads: Sequence[int] = (), role: str = "learner") -> list[int]:
    """`count` accounts <prefix><n>@bench.example.org (learners unless `role` says otherwise),
    optionally with modules marked read."""
    now = datetime.now(UTC)
    pw = password_hash()
    rows = [{"email": f"{prefix}{n}@{EMAIL_DOMAIN}", "name": f"{prefix.title()} {n}",
             "password_hash": pw, "role": role, "active": True, "created_at": now}
            for n in range(count)]
    with engine.begin() as conn:
        for chunk in _chunks(rows, 5000):
            conn.execute(insert(User), chunk)
        ids = list(conn.scalars(select(User.id).where(
            User.email.like(f"{prefix}%@{EMAIL_DOMAIN}")).order_by(User.id)))
        for module_id in module_reads:
            for chunk in _chunks([{"user_id": u, "module_id": module_id, "read_at": now}
                                  for u in ids], 5000):
                conn.execute(insert(ModuleRead), chunk)
    return ids


def module_id(engine: Engine, slug: str) -> int:
    with engine.connect() as conn:
        ident = conn.scalar(select(ContentItem.id).where(ContentItem.kind == "module",
                                                         ContentItem.slug == slug))
    assert ident is not None, slug
    return ident


def _chunks(rows: list[Any], size: int) -> Iterator[list[Any]]:
    for i in range(0, len(rows), size):
        yield rows[i : i + size]


CERT_COLUMNS = ("code", "user_id", "track_id", "track_version_id", "cycle", "holder_name",
                "issued_at", "expires_at", "manual", "revoked_at",
                "revocation_note")
ATTEMPT_COLUMNS = ("user_id", "quiz_id", "quiz_version_id", "number", "presented",
                   "started_at", "submitted_at", "score", "max_score", "percent", "passed")


def _stamp(moment: datetime) -> str:
    """Naive UTC text as SQLAlchemy stores it on SQLite; PostgreSQL reads it the same."""
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")


def evidence_json(ids: _Ids) -> str:
    """Evidence shaped and sized as issue_earned records it: one entry per requirement."""
    at = "2026-01-15T10:30:00.123456+00:00"
    evidence: dict[str, dict[str, Any]] = {}
    for slug in ids.module_ids:
        evidence[f"module:{slug}"] = {"read_at": at}
    for n, (quiz_id, version_id, _variants, _questions) in enumerate(ids.quizzes):
        evidence[f"quiz:{ids.quiz_slugs[quiz_id]}"] = {
            "attempt_id": 100_000 + n, "percent": 88.23529411764706,
            "quiz_version_id": version_id, "at": at}
    for n, (slug, version_id) in enumerate(ids.roleplays.items()):
        evidence[f"roleplay:{slug}"] = {"submission_id": 50_000 + n, "grade_id": 60_000 + n,
                                        "roleplay_version_id": version_id, "at": at}
    return json.dumps(evidence)


def evidence_rows(engine: Engine, count: int, ids: _Ids) -> Iterator[tuple[Any, ...]]:
    """One evidence row per certificate: a fresh table numbers them 1..count."""
    with engine.connect() as conn:
        span = conn.execute(text("SELECT min(id), max(id), count(*) FROM certificate")).one()
    assert tuple(span) == (1, count, count), span
    evidence = evidence_json(ids)
    for ident in range(1, count + 1):
        yield ident, evidence


def certificate_rows(count: int, holders: list[int], ids: _Ids) -> Iterator[tuple[Any, ...]]:
    """Issued over the last 900 days, valid two years (so ~20% expired), 1% revoked."""
    today = datetime.now(UTC).replace(hour=9, minute=0, second=0, microsecond=0)
    days = [today - timedelta(days=d) for d in range(900)]
    issued = [_stamp(d) for d in days]
    expires = [_stamp(d + timedelta(days=730)) for d in days]
    revoked = [_stamp(d + timedelta(days=30)) for d in days]
    names = [f"Holder {n}" for n in range(len(holders))]
    h = len(holders)
    for i, code in enumerate(fast_codes(count)):
        d = i % 900
        gone = i % 100 == 99
        yield (code, holders[i % h], ids.track_id, ids.track_version_id, i // h + 1,
               names[i % h], issued[d], expires[d], False,
               revoked[d] if gone else None, "Bench: revoked" if gone else None)


def attempt_rows(count: int, learners: list[int], ids: _Ids) -> Iterator[tuple[Any, ...]]:
    """Every learner attempts every quiz in turn; about two thirds of attempts pass."""
    start = datetime.now(UTC) - timedelta(days=400)
    n_users, n_quizzes = len(learners), len(ids.quizzes)
    stamps = [(_stamp(start + timedelta(minutes=7 * k)),
               _stamp(start + timedelta(minutes=7 * k + 5))) for k in range(4096)]
    for i in range(count):
        quiz_id, version_id, variants, questions = ids.quizzes[(i // n_users) % n_quizzes]
        score = questions - (i * 7919 % 5)
        percent = 100.0 * score / questions
        started, submitted = stamps[i % 4096]
        yield (learners[i % n_users], quiz_id, version_id, i // (n_users * n_quizzes) + 1,
               variants[i % VARIANTS], started, submitted, float(score), float(questions),
               percent, percent >= 80)


SUBMISSION_COLUMNS = ("learner_id", "roleplay_id", "roleplay_version_id", "mode", "status",
                      "replies", "created_at", "updated_at", "submitted_at", "double_mark")


def submission_rows(count: int, learners: list[int], ids: _Ids) -> Iterator[tuple[Any, ...]]:
    """Written role-plays submitted over the last 30 days and not graded yet: one per learner
    and role-play (the open-work index allows no more), replies the length of real ones."""
    start = datetime.now(UTC) - timedelta(days=30)
    replies = json.dumps(["I hear how hard this week has been. " * 12] * 4)
    for i in range(count):
        item, version = ids.roleplay_items[(i // len(learners)) % len(ids.roleplay_items)]
        submitted = _stamp(start + timedelta(seconds=250 * i))
        yield (learners[i % len(learners)], item, version, "written", "submitted", replies,
               submitted, submitted, submitted, False)


def _bulk(engine: Engine, table: str, columns: Sequence[str],
          rows: Iterable[tuple[Any, ...]]) -> None:
    if engine.dialect.name == "sqlite":
        engine.dispose()  # switching the journal mode needs the file to ourselves
        _sqlite_bulk(engine, table, columns, rows)
    else:
        _copy_bulk(engine, table, columns, rows)


def _sqlite_bulk(engine: Engine, table: str, columns: Sequence[str],
                 rows: Iterable[tuple[Any, ...]]) -> None:
    path = engine.url.database
    assert path
    con = sqlite3.connect(path, isolation_level=None)
    try:
        # a one-off load into a file nobody else has open: no journal, no fsync, a big cache
        # (random codes land all over the unique index); the app's WAL mode is restored after
        con.execute("PRAGMA journal_mode = OFF")
        con.execute("PRAGMA synchronous = OFF")
        con.execute("PRAGMA cache_size = -524288")
        con.execute("BEGIN")
        con.executemany(
            f'INSERT INTO "{table}" ({", ".join(columns)}) '  # noqa: S608 - our own names
            f'VALUES ({", ".join("?" for _ in columns)})', rows)
        con.execute("COMMIT")
        con.execute("PRAGMA journal_mode = WAL")
    finally:
        con.close()


def _copy_text(value: Any) -> str:
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, str):
        return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
    return str(value)


def _copy_bulk(engine: Engine, table: str, columns: Sequence[str],
               rows: Iterable[tuple[Any, ...]]) -> None:
    """COPY in one transaction, the way pg_restore loads a table: secondary indexes and
    unique constraints are dropped first and rebuilt after (one sort instead of a million
    random B-tree inserts), and the rows, valid by construction, skip the per-row
    foreign-key triggers (--disable-triggers). The schema ends exactly as the migrations
    made it."""
    import psycopg

    url = make_url(engine.url).set(drivername="postgresql")
    with psycopg.connect(url.render_as_string(hide_password=False)) as conn, conn.cursor() as cur:
        cur.execute("SET session_replication_role = replica")
        cur.execute("SET maintenance_work_mem = '256MB'")
        uniques = cur.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass AND contype = 'u'", (f'"{table}"',)).fetchall()
        indexes = cur.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s AND indexname "
            "NOT IN (SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass)",
            (table, f'"{table}"')).fetchall()
        for name, _definition in uniques:
            cur.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
        for name, _definition in indexes:
            cur.execute(f'DROP INDEX "{name}"')
        sql = f'COPY "{table}" ({", ".join(columns)}) FROM STDIN'
        with cur.copy(sql) as copy:
            buffer: list[str] = []
            for row in rows:
                buffer.append("\t".join(map(_copy_text, row)))
                if len(buffer) >= 20000:
                    copy.write("\n".join(buffer) + "\n")
                    buffer.clear()
            if buffer:
                copy.write("\n".join(buffer) + "\n")
        for name, definition in uniques:
            cur.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}')
        for _name, definition in indexes:
            cur.execute(definition)


def load_sample(dataset: Dataset, size: int = 10_000) -> None:
    """(id, code) of about `size` certificates spread over the whole table, shuffled."""
    engine = Database(dataset.url).engine
    try:
        with engine.connect() as conn:
            step = max(1, dataset.certificates // size)
            rows = conn.execute(text("SELECT id, code FROM certificate WHERE id % :k = 0"),
                                {"k": step}).all()
    finally:
        engine.dispose()
    sample = [(int(i), str(c)) for i, c in rows]
    random.Random(1).shuffle(sample)
    dataset.sample = sample[:size]


def quiz_questions(engine: Engine, attempt_id: int) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        presented = conn.scalar(select(QuizAttempt.presented).where(QuizAttempt.id == attempt_id))
    assert presented is not None, attempt_id
    return list(presented)
