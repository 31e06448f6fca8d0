"""The mentor roster: every holder of an eligibility-granting certificate, once, by their best one.

The standing is computed in SQL from the same dates `certify.status` reads (revoked, expired,
suspended, valid; valid within the renewal window is "expiring"). The roster is ordered by
person: keyset pages on (lower(account name), user id), read along the expression index
`ix_user_lower_name`, and each person's best certificate is found for that person alone by a
correlated subquery (their certificates of the eligibility-granting track versions, through the
index that leads with user_id: valid outside the renewal window first, then valid, then the
rest; then the latest expiry, then the highest id). A page therefore reads about 50 people
however many certificates there are, and is as cheap at page 2,000 as at page 1; a standing
filter reads people in name order until 50 match. The counts per standing are one aggregate
over every certificate, reused per process for up to `counts_max_age` seconds (the dashboard's
`SUMMARY_MAX_AGE_SECONDS`). The export walks the same per-person query with a server-side cursor.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import URL, ColumnElement, Row, Select, and_, case, func, or_, select, text, tuple_
from sqlalchemy.orm import Session, aliased

from courseware.domain import certify, cursors
from courseware.domain.statuses import CertificateStatus, ContentKind, Standing
from courseware.models import Certificate, ContentItem, ContentVersion, User
from courseware.services import catalogue

PER_PAGE = 50

# the counts per standing of each database, with when they were counted (per process)
_COUNTS: dict[URL, tuple[float, dict[Standing, int]]] = {}


@dataclass(frozen=True)
class RosterEntry:
    """One certified mentor as the roster shows them (plain values, no lazy loading)."""

    holder_name: str
    email: str
    code: str
    track_slug: str
    track_title: str
    issued_at: datetime
    expires_at: datetime
    status: CertificateStatus
    standing: Standing
    sort_key: tuple[str, int]  # (lower(account name), user id): the keyset key


@dataclass(frozen=True)
class RosterPage:
    entries: Sequence[RosterEntry]
    counts: dict[Standing, int]
    standing: Standing | None
    next_cursor: str | None


def page(session: Session, now: datetime, *, standing: Standing | None = None,
         after: str | None = None, per_page: int = PER_PAGE,
         counts_max_age: float = 0) -> RosterPage:
    """One page of the roster by name, optionally of one standing, after `after` (a cursor);
    the counts per standing may be up to `counts_max_age` seconds old."""
    versions = eligible_track_versions(session)
    counts = standing_counts(session, now, versions, counts_max_age)
    statement = _rows(now, versions, standing)
    cursor = cursors.decode(after, (str, int))
    if cursor is not None:
        # the first term lets SQLite seek the expression index (it scans for a row value alone)
        statement = statement.where(_sort_name() >= cursor[0],
                                    tuple_(_sort_name(), User.id) > tuple_(*cursor))
    rows = session.execute(statement.limit(per_page + 1)).all()
    entries = [_entry(row, now) for row in rows[:per_page]]
    more = len(rows) > per_page
    return RosterPage(entries, counts, standing,
                      cursors.encode(entries[-1].sort_key) if more and entries else None)


def export(session: Session, now: datetime,
           standing: Standing | None = None) -> Iterator[RosterEntry]:
    """Every roster entry by name, streamed from a server-side cursor in batches (constant
    memory)."""
    if session.get_bind().dialect.name == "postgresql":
        # Expecting to read everyone, PostgreSQL's planner prefers to hash every certificate
        # and then runs each person's best-certificate subquery twice (3.4 s at 100,000
        # people with 1,000,000 certificates); walking people in name order and fetching each
        # best certificate by its key, as a page of the roster does, takes 1.5 s. For this
        # transaction only.
        session.execute(text("SET LOCAL enable_hashjoin = off"))
    statement = _rows(now, eligible_track_versions(session), standing)
    result = session.execute(statement, execution_options={"yield_per": 500})
    try:
        for row in result:
            yield _entry(row, now)
    finally:
        result.close()  # the server-side cursor, also when the download stops half way


def eligible_track_versions(session: Session) -> list[int]:
    """Ids of every stored track version that grants eligibility (a handful of rows)."""
    rows = session.execute(
        select(ContentVersion.id, ContentVersion.content_hash)
        .join(ContentItem, ContentItem.id == ContentVersion.item_id)
        .where(ContentItem.kind == ContentKind.TRACK))
    return [version_id for version_id, digest in rows
            if catalogue.data_of(session, version_id, digest).get("grants_eligibility")]


def standing_counts(session: Session, now: datetime, versions: list[int],
                    max_age: float = 0) -> dict[Standing, int]:
    """How many people stand in each standing, by their best certificate: one aggregate over
    every certificate (a window function ranks each person's), so a copy up to `max_age`
    seconds old is reused (per process)."""
    key = catalogue.database_key(session)
    cached = _COUNTS.get(key)
    if cached is not None and time.monotonic() - cached[0] < max_age:
        return dict(cached[1])
    cert = Certificate
    rank = _rank(cert, now)
    ranked = (
        select(rank.label("rank"),
               func.row_number().over(partition_by=cert.user_id,
                                      order_by=(rank, cert.expires_at.desc(), cert.id.desc()))
               .label("n"))
        .where(cert.track_version_id.in_(versions))
        .subquery())
    counts = {s: 0 for s in Standing}
    for rank_, count in session.execute(select(ranked.c.rank, func.count())
                                        .where(ranked.c.n == 1).group_by(ranked.c.rank)):
        counts[certify.STANDING_ORDER[rank_]] = count
    _COUNTS[key] = (time.monotonic(), counts)
    return dict(counts)


def _rank(cert: Any, now: datetime) -> ColumnElement[int]:
    """0: valid beyond the renewal window; 1: valid (expiring); 2: everything else."""
    valid = and_(or_(cert.revoked_at.is_(None), cert.revoked_at > now),
                 cert.expires_at > now, cert.suspended_at.is_(None))
    return case(
        (and_(valid, cert.expires_at > now + timedelta(days=certify.ROSTER_WINDOW_DAYS)), 0),
        (valid, 1), else_=2)


def _sort_name() -> ColumnElement[str]:
    return func.lower(User.name)


def _best(now: datetime, versions: list[int], column: str) -> ColumnElement[Any]:
    """A column of the person's best certificate, by a correlated subquery that reads only
    that person's certificates (through an index that leads with user_id)."""
    other = aliased(Certificate)
    rank = _rank(other, now)
    chosen = rank if column == "rank" else other.id
    return (select(chosen)
            .where(other.user_id == User.id, other.track_version_id.in_(versions))
            .order_by(rank, other.expires_at.desc(), other.id.desc())
            .limit(1)
            .correlate(User)
            .scalar_subquery())


def _rows(now: datetime, versions: list[int],
          standing: Standing | None) -> Select[*tuple[Any, ...]]:
    """Each person with an eligibility-granting certificate, by name, joined to their best."""
    statement: Select[*tuple[Any, ...]] = (
        select(Certificate.holder_name, User.email, Certificate.code,
               ContentItem.slug.label("track_slug"), ContentItem.title.label("track_title"),
               Certificate.issued_at, Certificate.expires_at, Certificate.revoked_at,
               Certificate.suspended_at, _rank(Certificate, now).label("rank"),
               _sort_name().label("sort_name"), User.id.label("user_id"))
        .select_from(User)
        .join(Certificate, Certificate.id == _best(now, versions, "id"))
        .join(ContentItem, ContentItem.id == Certificate.track_id)
        .order_by(_sort_name(), User.id))
    if standing is not None:
        # a filter on the person (their best rank), not on the joined certificate: PostgreSQL
        # would otherwise scan every certificate of that standing and hash them, rather than
        # walk people in name order until a page is full
        statement = statement.where(
            _best(now, versions, "rank") == certify.STANDING_ORDER.index(standing))
    return statement


def _entry(row: Row[Any], now: datetime) -> RosterEntry:
    status = certify.status(now=now, expires_at=row.expires_at, revoked_at=row.revoked_at,
                            suspended_at=row.suspended_at)
    return RosterEntry(
        holder_name=row.holder_name, email=row.email, code=row.code,
        track_slug=row.track_slug, track_title=row.track_title, issued_at=row.issued_at,
        expires_at=row.expires_at, status=status,
        standing=certify.STANDING_ORDER[row.rank],
        sort_key=(row.sort_name, row.user_id))
