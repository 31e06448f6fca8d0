"""Keyset cursors: what a list writes into its "next page" link comes back as the same key, and
anything else (edited, truncated, of another list) reads as "from the top"."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from courseware.domain import cursors

moments = st.datetimes(timezones=st.just(UTC))


@given(st.integers(), st.text(max_size=120), st.integers(min_value=0))
def test_a_roster_key_comes_back_unchanged(rank: int, name: str, ident: int) -> None:
    key = (rank, name, ident)
    assert cursors.decode(cursors.encode(key), (int, str, int)) == key


def test_the_longest_names_still_make_a_cursor_that_comes_back() -> None:
    """A name fills its 120 characters with what JSON writes longest (a control character is
    a 6-byte escape; a character beyond the BMP 4 bytes of UTF-8): the cursor still fits
    MAX_LENGTH, so the next page of such a list is the next page, not the first again."""
    for name in ("\x07" * 120, "\U0001f600" * 120, "\u4e2d" * 120):
        key = (name, 2**63 - 1)
        cursor = cursors.encode(key)
        assert len(cursor) <= cursors.MAX_LENGTH
        assert cursors.decode(cursor, (str, int)) == key


@given(moments, st.integers(min_value=1))
def test_a_queue_key_keeps_its_moment_to_the_microsecond(moment: datetime, ident: int) -> None:
    decoded = cursors.decode(cursors.encode((moment, ident)), (datetime, int))
    assert decoded == (moment, ident)


def test_a_cursor_is_url_safe() -> None:
    cursor = cursors.encode(("Zoë ?&=/+", 1))
    assert cursor.replace("-", "").replace("_", "").isalnum()


@given(st.text(max_size=60))
def test_any_text_is_a_key_of_the_right_shape_or_none(text: str) -> None:
    decoded = cursors.decode(text, (int, str, int))
    assert decoded is None or [type(value) for value in decoded] == [int, str, int]


def test_a_cursor_of_another_shape_reads_as_the_top() -> None:
    roster = cursors.encode((1, "Ann", 2))
    assert cursors.decode(roster, (datetime, int)) is None
    assert cursors.decode(cursors.encode((True, "Ann", 2)), (int, str, int)) is None
    assert cursors.decode(cursors.encode(("2026-01-01T00:00:00", 1)), (datetime, int)) is None
    assert cursors.decode(cursors.encode(("yesterday", 1)), (datetime, int)) is None


def test_absent_damaged_and_oversized_cursors_read_as_the_top() -> None:
    good = cursors.encode((1, "Ann", 2))
    assert cursors.decode(None, (int, str, int)) is None
    assert cursors.decode("", (int, str, int)) is None
    assert cursors.decode(good[:-3], (int, str, int)) is None
    assert cursors.decode("%%%", (int, str, int)) is None
    assert cursors.decode(cursors.encode((1, "x" * cursors.MAX_LENGTH, 2)), (int, str, int)) is None
