"""A program's watch list: the certificates of its mentors that it follows (the "roster" of
the issue and of /api/v1/roster; services.roster is the admins' list of every mentor).

Eligibility is computed in SQL from the same dates `certify.status` reads and the same rule
as `certify.eligible` (a valid certificate of a track version that grants eligibility), so a
page or a filter costs a fixed number of statements however long the list: the eligible track
versions, the counts, the page. Pages are keyset pages on the entry's id (the order in which
entries were added): stable while entries are added, and as cheap far down as at the top.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, and_, delete, func, not_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from courseware.domain import certify, cursors, watchlist
from courseware.domain.statuses import CertificateStatus, WatchFilter, WatchOutcome
from courseware.domain.watchlist import CodeRow
from courseware.models import Certificate, ContentItem, Program, RosterEntry, User
from courseware.services import audit
from courseware.services.roster import eligible_track_versions
from courseware.services.sql import rows_updated

PER_PAGE = 50
MAX_PER_PAGE = 200


@dataclass(frozen=True)
class WatchItem:
    """One followed certificate as the program sees it (plain values)."""

    entry_id: int
    code: str
    holder: str
    track_slug: str
    track_title: str
    status: CertificateStatus
    eligible: bool
    expires_at: datetime
    days_left: int
    added_at: datetime


@dataclass(frozen=True)
class WatchPage:
    items: Sequence[WatchItem]
    counts: dict[str, int]  # "all" and each WatchFilter's value
    filter: WatchFilter | None
    next_cursor: str | None


# --- adding and removing ------------------------------------------------------------------------

def add(session: Session, program: Program, rows: Sequence[CodeRow], *, actor: audit.Actor,
        now: datetime, key_id: int | None = None) -> list[CodeRow]:
    """Follow the certificates of the rows still to look up; every row comes back settled
    (added, already on the list, not found), in the order given. Four statements and one
    flush however many codes (at most watchlist.MAX_CODES)."""
    pending = [row for row in rows if row.outcome is None and row.code is not None]
    codes = [row.code for row in pending if row.code is not None]
    found: dict[str, int] = {}
    if codes:
        found = {code: ident for code, ident in session.execute(
            select(Certificate.code, Certificate.id).where(Certificate.code.in_(codes)))}
    following = set(session.scalars(select(RosterEntry.certificate_id).where(
        RosterEntry.program_id == program.id,
        RosterEntry.certificate_id.in_(list(found.values()))))) if found else set()
    settled: dict[int, CodeRow] = {}
    new: list[tuple[CodeRow, RosterEntry]] = []
    user_id = actor.id if isinstance(actor, User) else None
    for row in pending:
        assert row.code is not None
        certificate_id = found.get(row.code)
        if certificate_id is None:
            settled[id(row)] = row.settled(WatchOutcome.NOT_FOUND, "No certificate has this code.")
        elif certificate_id in following:
            settled[id(row)] = row.settled(WatchOutcome.ALREADY, "Already on your list.")
        else:
            new.append((row, RosterEntry(program_id=program.id, certificate_id=certificate_id,
                                         added_at=now, added_by_id=user_id,
                                         added_by_key_id=key_id)))
    for row, outcome in _insert(session, new):
        settled[id(row)] = row.settled(
            outcome, "" if outcome is WatchOutcome.ADDED else "Already on your list.")
    report = [settled.get(id(row), row) for row in rows]
    tally = watchlist.counts(report)
    if tally[WatchOutcome.ADDED]:
        audit.record(session, actor=actor, action="watchlist.add", target_type="program",
                     target_id=program.id, target_label=program.name,
                     details={outcome.value: n for outcome, n in tally.items() if n})
    return report


def _insert(session: Session,
            new: list[tuple[CodeRow, RosterEntry]]) -> list[tuple[CodeRow, WatchOutcome]]:
    """Insert the entries at once; if a concurrent request followed one of them meanwhile,
    one by one (the unique pair decides: following twice is one entry)."""
    try:
        with session.begin_nested():
            session.add_all(entry for _row, entry in new)
            session.flush()
        return [(row, WatchOutcome.ADDED) for row, _entry in new]
    except IntegrityError:
        pass
    outcomes = []
    for row, entry in new:
        fresh = RosterEntry(program_id=entry.program_id, certificate_id=entry.certificate_id,
                            added_at=entry.added_at, added_by_id=entry.added_by_id,
                            added_by_key_id=entry.added_by_key_id)
        try:
            with session.begin_nested():
                session.add(fresh)
                session.flush()
            outcomes.append((row, WatchOutcome.ADDED))
        except IntegrityError:
            outcomes.append((row, WatchOutcome.ALREADY))
    return outcomes


def remove(session: Session, program: Program, code: str, *, actor: audit.Actor) -> bool:
    """Stop following the certificate with this (canonical) code; False when this program
    did not follow it (whoever else does)."""
    certificate_id = select(Certificate.id).where(Certificate.code == code).scalar_subquery()
    changed = rows_updated(session, delete(RosterEntry).where(
        RosterEntry.program_id == program.id, RosterEntry.certificate_id == certificate_id)
        .execution_options(synchronize_session=False))
    if changed:
        audit.record(session, actor=actor, action="watchlist.remove", target_type="program",
                     target_id=program.id, target_label=program.name, details={"code": code})
    return changed > 0


# --- reading --------------------------------------------------------------------------------

def page(session: Session, program_id: int, now: datetime, *,
         which: WatchFilter | None = None, after: str | None = None,
         per_page: int = PER_PAGE) -> WatchPage:
    """One page of the program's list, optionally filtered, after `after` (a cursor)."""
    versions = eligible_track_versions(session)
    eligible, expiring = _conditions(now, versions)
    counts_row = session.execute(
        select(func.count(), func.count().filter(eligible), func.count().filter(expiring))
        .select_from(RosterEntry).join(Certificate, Certificate.id == RosterEntry.certificate_id)
        .where(RosterEntry.program_id == program_id)).one()
    total, eligible_count, expiring_count = (int(n) for n in counts_row)
    counts = {"all": total, WatchFilter.ELIGIBLE.value: eligible_count,
              WatchFilter.EXPIRING.value: expiring_count,
              WatchFilter.NOT_ELIGIBLE.value: total - eligible_count}
    statement = _rows(program_id, which, eligible, expiring)
    start = decode_cursor(after)
    if start is not None:
        statement = statement.where(RosterEntry.id > start)
    rows = session.execute(statement.limit(per_page + 1)).all()
    items = [_item(row, now, versions) for row in rows[:per_page]]
    more = len(rows) > per_page and items
    return WatchPage(items, counts, which, cursors.encode((items[-1].entry_id,)) if more else None)


def export(session: Session, program_id: int, now: datetime,
           which: WatchFilter | None = None) -> Iterator[WatchItem]:
    """Every entry, streamed from a server-side cursor in batches (constant memory)."""
    versions = eligible_track_versions(session)
    eligible, expiring = _conditions(now, versions)
    result = session.execute(_rows(program_id, which, eligible, expiring),
                             execution_options={"yield_per": 500})
    for row in result:
        yield _item(row, now, versions)


def followers(session: Session, certificate_ids: Sequence[int]) -> dict[int, list[str]]:
    """The names of the programs following each certificate (for its holder's profile)."""
    if not certificate_ids:
        return {}
    found: dict[int, list[str]] = {}
    for certificate_id, name in session.execute(
            select(RosterEntry.certificate_id, Program.name)
            .join(Program, Program.id == RosterEntry.program_id)
            .where(RosterEntry.certificate_id.in_(list(certificate_ids)))
            .order_by(Program.name)):
        found.setdefault(certificate_id, []).append(name)
    return found


def _conditions(now: datetime,
                versions: list[int]) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """Eligible now (certify.status is valid and the track version grants eligibility), and
    eligible but expiring within watchlist.EXPIRING_DAYS."""
    cert = Certificate
    valid = and_(or_(cert.revoked_at.is_(None), cert.revoked_at > now),
                 cert.expires_at > now, cert.suspended_at.is_(None))
    eligible = and_(valid, cert.track_version_id.in_(versions))
    expiring = and_(eligible,
                    cert.expires_at <= now + timedelta(days=watchlist.EXPIRING_DAYS))
    return eligible, expiring


def _rows(program_id: int, which: WatchFilter | None, eligible: ColumnElement[bool],
          expiring: ColumnElement[bool]) -> Select[Any]:
    columns: list[Any] = [
        RosterEntry.id.label("entry_id"), RosterEntry.added_at, Certificate.code,
        Certificate.holder_name, ContentItem.slug.label("track_slug"),
        ContentItem.title.label("track_title"), Certificate.expires_at, Certificate.revoked_at,
        Certificate.suspended_at, Certificate.track_version_id]
    statement = (
        select(*columns)
        .join(Certificate, Certificate.id == RosterEntry.certificate_id)
        .join(ContentItem, ContentItem.id == Certificate.track_id)
        .where(RosterEntry.program_id == program_id)
        .order_by(RosterEntry.id))
    if which is WatchFilter.ELIGIBLE:
        statement = statement.where(eligible)
    elif which is WatchFilter.EXPIRING:
        statement = statement.where(expiring)
    elif which is WatchFilter.NOT_ELIGIBLE:
        statement = statement.where(not_(eligible))
    return statement


def _item(row: Row[Any], now: datetime, versions: list[int]) -> WatchItem:
    status = certify.status(now=now, expires_at=row.expires_at, revoked_at=row.revoked_at,
                            suspended_at=row.suspended_at)
    return WatchItem(
        entry_id=row.entry_id, code=row.code, holder=row.holder_name,
        track_slug=row.track_slug, track_title=row.track_title, status=status,
        eligible=certify.eligible(status, row.track_version_id in versions),
        expires_at=row.expires_at, days_left=watchlist.days_left(row.expires_at, now),
        added_at=row.added_at)


def decode_cursor(cursor: str | None) -> int | None:
    """The entry id a cursor from the URL names, or None when absent or not one of ours."""
    key = cursors.decode(cursor, (int,))
    return key[0] if key is not None else None
