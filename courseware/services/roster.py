"""The mentor roster: every holder of an eligibility-granting certificate, once, by their best one.

The standing is computed in SQL from the same dates `certify.status` reads (revoked, expired,
suspended, valid; valid within the renewal window is "expiring"), and a window function keeps each
person's best certificate, so a page costs a fixed number of statements however many mentors
there are: one for the eligible track versions, one for the counts, one for the page. Pages are
keyset pages on (standing, name, certificate id): stable under inserts and as cheap at page 2,000
as at page 1. The export walks the same query with a server-side cursor.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, Subquery, and_, case, func, or_, select, tuple_
from sqlalchemy.orm import Session

from courseware.domain import certify, cursors
from courseware.domain.statuses import CertificateStatus, ContentKind, Standing
from courseware.models import Certificate, ContentItem, ContentVersion, User
from courseware.services import catalogue

PER_PAGE = 50


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
    sort_key: tuple[int, str, int]


@dataclass(frozen=True)
class RosterPage:
    entries: Sequence[RosterEntry]
    counts: dict[Standing, int]
    standing: Standing | None
    next_cursor: str | None


def page(session: Session, now: datetime, *, standing: Standing | None = None,
         after: str | None = None, per_page: int = PER_PAGE) -> RosterPage:
    """One page of the roster, optionally of one standing, after `after` (a cursor)."""
    versions = eligible_track_versions(session)
    best = _best_per_person(now, versions)
    counts = {s: 0 for s in Standing}
    for rank, count in session.execute(select(best.c.rank, func.count()).group_by(best.c.rank)):
        counts[certify.STANDING_ORDER[rank]] = count
    statement = _rows(best, standing)
    cursor = cursors.decode(after, (int, str, int))
    if cursor is not None:
        statement = statement.where(
            tuple_(best.c.rank, best.c.sort_name, best.c.id) > tuple_(*cursor))
    rows = session.execute(statement.limit(per_page + 1)).all()
    entries = [_entry(row, now) for row in rows[:per_page]]
    more = len(rows) > per_page
    return RosterPage(entries, counts, standing,
                      cursors.encode(entries[-1].sort_key) if more and entries else None)


def export(session: Session, now: datetime,
           standing: Standing | None = None) -> Iterator[RosterEntry]:
    """Every roster entry, streamed from a server-side cursor in batches (constant memory)."""
    best = _best_per_person(now, eligible_track_versions(session))
    result = session.execute(_rows(best, standing), execution_options={"yield_per": 500})
    for row in result:
        yield _entry(row, now)


def eligible_track_versions(session: Session) -> list[int]:
    """Ids of every stored track version that grants eligibility (a handful of rows)."""
    rows = session.execute(
        select(ContentVersion.id, ContentVersion.content_hash)
        .join(ContentItem, ContentItem.id == ContentVersion.item_id)
        .where(ContentItem.kind == ContentKind.TRACK))
    return [version_id for version_id, digest in rows
            if catalogue.data_of(session, version_id, digest).get("grants_eligibility")]


def _best_per_person(now: datetime, versions: list[int]) -> Subquery:
    """Each holder's best certificate: lowest standing rank, then the latest expiry."""
    cert = Certificate
    valid = and_(or_(cert.revoked_at.is_(None), cert.revoked_at > now),
                 cert.expires_at > now, cert.suspended_at.is_(None))
    rank: ColumnElement[int] = case(
        (and_(valid, cert.expires_at > now + timedelta(days=certify.ROSTER_WINDOW_DAYS)), 0),
        (valid, 1), else_=2)
    ranked = (
        select(cert.id.label("id"), cert.user_id.label("user_id"), rank.label("rank"),
               func.lower(cert.holder_name).label("sort_name"),
               func.row_number().over(partition_by=cert.user_id,
                                      order_by=(rank, cert.expires_at.desc(), cert.id.desc()))
               .label("n"))
        .where(cert.track_version_id.in_(versions))
        .subquery())
    return (select(ranked.c.id, ranked.c.user_id, ranked.c.rank, ranked.c.sort_name)
            .where(ranked.c.n == 1).subquery())


def _rows(best: Subquery, standing: Standing | None) -> Select[Any]:
    statement = (
        select(Certificate.holder_name, User.email, Certificate.code,
               ContentItem.slug.label("track_slug"), ContentItem.title.label("track_title"),
               Certificate.issued_at, Certificate.expires_at, Certificate.revoked_at,
               Certificate.suspended_at, best.c.rank, best.c.sort_name,
               best.c.id.label("certificate_id"))
        .join(best, best.c.id == Certificate.id)
        .join(User, User.id == Certificate.user_id)
        .join(ContentItem, ContentItem.id == Certificate.track_id)
        .order_by(best.c.rank, best.c.sort_name, best.c.id))
    if standing is not None:
        statement = statement.where(best.c.rank == certify.STANDING_ORDER.index(standing))
    return statement


def _entry(row: Row[Any], now: datetime) -> RosterEntry:
    status = certify.status(now=now, expires_at=row.expires_at, revoked_at=row.revoked_at,
                            suspended_at=row.suspended_at)
    return RosterEntry(
        holder_name=row.holder_name, email=row.email, code=row.code,
        track_slug=row.track_slug, track_title=row.track_title, issued_at=row.issued_at,
        expires_at=row.expires_at, status=status,
        standing=certify.STANDING_ORDER[row.rank],
        sort_key=(row.rank, row.sort_name, row.certificate_id))
