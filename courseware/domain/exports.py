"""CSV exports that a spreadsheet opens as data, never as formulas.

A cell beginning with = + - @ (or a tab or carriage return, which some spreadsheets skip before
reading one of those) is run as a formula when the file is opened: OWASP's "CSV injection".
Every text cell of every export goes through `safe_cell`; numbers are written as they are.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence

FORMULA_LEADERS = ("=", "+", "-", "@", "\t", "\r")

Cell = str | int | float | bool | None


def safe_cell(value: Cell) -> str | int | float:
    """The value as the spreadsheet must see it: text that could start a formula is quoted."""
    if type(value) is str:  # the common case first: every export is mostly text
        return f"'{value}" if value.startswith(FORMULA_LEADERS) else value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return value
    return f"'{value}" if value.startswith(FORMULA_LEADERS) else value


CHUNK = 64 * 1024  # characters sent at a time: one write per row cost a system call per row


def csv_lines(header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> Iterator[str]:
    """The file in pieces, so a long export streams instead of building in memory: the header
    line at once (the download starts), then rows gathered into pieces of about CHUNK."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([safe_cell(cell) for cell in header])
    yield _drain(buffer)
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
        if buffer.tell() >= CHUNK:
            yield _drain(buffer)
    if buffer.tell():
        yield _drain(buffer)


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text
