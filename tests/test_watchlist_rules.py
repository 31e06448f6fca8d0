"""The watch list rules (courseware.domain.watchlist), directly: pasted lists and CSV uploads
into numbered rows, and days left."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from courseware.domain import watchlist
from courseware.domain.codes import format_code, generate_code
from courseware.domain.statuses import WatchOutcome

T0 = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
A, B, C = generate_code(), generate_code(), generate_code()


def mistyped(code: str) -> str:
    """The code with its first symbol changed: the check symbol catches it."""
    first = "1" if code[0] != "1" else "2"
    return first + code[1:]


def test_a_pasted_list_keeps_line_numbers_and_settles_what_it_can() -> None:
    text = f"{format_code(A)}\n\n{B.lower()}, {mistyped(C)}\nhello\n{format_code(A)}\n"
    rows = watchlist.parse_pasted(text)
    assert [(r.line, r.code, r.outcome) for r in rows] == [
        (1, A, None), (3, B, None), (3, None, WatchOutcome.MALFORMED),
        (4, None, WatchOutcome.MALFORMED), (5, A, WatchOutcome.DUPLICATE)]
    assert "mistyped" in rows[2].message
    assert rows[4].message == "Repeats the code on line 1."


def test_a_csv_upload_reads_the_code_column_under_its_header() -> None:
    data = (f"name,Certificate code,notes\r\nAnn,{format_code(A)},x\r\nBo,{mistyped(B)},\r\n"
            f"Cy,,none\r\nDi,{C},\r\nEd,{C.lower()},\r\n").encode("utf-8-sig")
    rows = watchlist.parse_csv(data)
    assert [(r.line, r.code, r.outcome) for r in rows] == [
        (2, A, None), (3, None, WatchOutcome.MALFORMED), (5, C, None),
        (6, C, WatchOutcome.DUPLICATE)]


def test_a_csv_without_a_header_uses_its_first_column_and_semicolons_work() -> None:
    rows = watchlist.parse_csv(f"{A};Ann\n{B};Bo\n".encode())
    assert [(r.line, r.code) for r in rows] == [(1, A), (2, B)]


def test_a_quoted_cell_spanning_lines_reports_the_line_it_ends_on() -> None:
    rows = watchlist.parse_csv(f'code,note\n{A},"two\nlines"\n{B},x\n'.encode())
    assert [(r.line, r.code) for r in rows] == [(3, A), (4, B)]


@pytest.mark.parametrize(("data", "message"), [
    (b"\xff\xfe\x00c", "not UTF-8"), (b"code\n\x00\n", "not a CSV"),
    (b"x" * (watchlist.MAX_UPLOAD_BYTES + 1), "larger than 256 KiB")])
def test_unreadable_uploads_are_refused_with_a_reason(data: bytes, message: str) -> None:
    with pytest.raises(watchlist.UnreadableUpload, match=message):
        watchlist.parse_csv(data)


def test_more_than_a_thousand_codes_are_refused() -> None:
    text = "\n".join(generate_code() for _ in range(watchlist.MAX_CODES + 1))
    with pytest.raises(watchlist.TooManyCodes):
        watchlist.parse_pasted(text)
    assert len(watchlist.parse_pasted("\n".join(text.split("\n")[:1000]))) == 1000


def test_api_codes_are_numbered_by_position_and_non_strings_are_malformed() -> None:
    rows = watchlist.parse_api_codes([A, 7, None, A, "nope"])
    assert [(r.line, r.outcome) for r in rows] == [
        (1, None), (2, WatchOutcome.MALFORMED), (3, WatchOutcome.MALFORMED),
        (4, WatchOutcome.DUPLICATE), (5, WatchOutcome.MALFORMED)]


@given(st.lists(st.sampled_from([A, B, C, format_code(A), B.lower(), "junk", mistyped(A)]),
                max_size=30))
def test_every_value_gets_exactly_one_row_and_each_code_is_looked_up_once(
        values: list[str]) -> None:
    rows = watchlist.parse_pasted("\n".join(values))
    assert [r.line for r in rows] == list(range(1, len(values) + 1))
    pending = [r.code for r in rows if r.outcome is None]
    assert len(pending) == len(set(pending))
    assert all(r.code is None for r in rows if r.outcome is WatchOutcome.MALFORMED)
    counts = watchlist.counts(rows)
    assert sum(counts.values()) + len(pending) == len(values)


@pytest.mark.parametrize(("delta", "days"), [
    (timedelta(days=30, hours=1), 30), (timedelta(days=1), 1), (timedelta(hours=23), 0),
    (timedelta(0), 0), (-timedelta(days=5), 0)])
def test_days_left(delta: timedelta, days: int) -> None:
    assert watchlist.days_left(T0 + delta, T0) == days


def test_expiring_means_eligible_and_within_thirty_days() -> None:
    assert watchlist.expiring(True, T0 + timedelta(days=30), T0)
    assert not watchlist.expiring(True, T0 + timedelta(days=30, seconds=1), T0)
    assert not watchlist.expiring(False, T0 + timedelta(days=3), T0)
