"""A program's watch list as plain rules: reading pasted lists and CSV uploads of codes into
numbered rows, and what a followed certificate means for the program (days left, expiring).

Each row keeps its line number and what was typed, so the report a program reads after an
upload says "line 7: this code looks mistyped" rather than "1 failed". A row is malformed
here (no database lookup: the check symbol catches typos), repeated (the same certificate
earlier in the same input), or a well-formed code for the service to look up.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from courseware.domain.codes import MalformedCode, parse_code
from courseware.domain.statuses import WatchOutcome

# at most this many codes in one paste, upload or API call
MAX_CODES = 1000
# a CSV upload larger than this is refused before it is read (a 1,000-row export is ~100 KiB)
MAX_UPLOAD_BYTES = 256 * 1024
# an eligible certificate this close to its expiry is "expiring" on the watch list
EXPIRING_DAYS = 30
_SEPARATORS = str.maketrans({",": "\n", ";": "\n", "\t": "\n"})
_RAW_MAX = 60  # what a report repeats of a typed value


@dataclass(frozen=True)
class CodeRow:
    """One typed or uploaded value: where it was, what it was, and what became of it."""

    line: int
    raw: str
    code: str | None  # canonical, when well formed
    outcome: WatchOutcome | None  # None until looked up (well-formed, first occurrence)
    message: str = ""

    def settled(self, outcome: WatchOutcome, message: str = "") -> CodeRow:
        return replace(self, outcome=outcome, message=message)


class TooManyCodes(ValueError):
    pass


class UnreadableUpload(ValueError):
    pass


def rows_from_values(values: Iterable[tuple[int, str]]) -> list[CodeRow]:
    """Numbered values into rows: malformed ones settled, repeats marked, the rest to look up."""
    rows: list[CodeRow] = []
    first_line: dict[str, int] = {}
    for line, raw in values:
        shown = raw.strip()[:_RAW_MAX]
        try:
            code = parse_code(raw)
        except MalformedCode as exc:
            rows.append(CodeRow(line, shown, None, WatchOutcome.MALFORMED, str(exc)))
            continue
        if code in first_line:
            rows.append(CodeRow(line, shown, code, WatchOutcome.DUPLICATE,
                                f"Repeats the code on line {first_line[code]}."))
            continue
        first_line[code] = line
        rows.append(CodeRow(line, shown, code, None))
    if len(rows) > MAX_CODES:
        raise TooManyCodes(f"Send at most {MAX_CODES} codes at a time ({len(rows)} given).")
    return rows


def parse_pasted(text: str) -> list[CodeRow]:
    """A pasted list: one code per line, or several separated by commas, semicolons or tabs
    (a code's own spaces and hyphens are kept: they are how codes are printed)."""
    values = []
    for number, line in enumerate(text.splitlines(), start=1):
        for part in line.translate(_SEPARATORS).split("\n"):
            if part.strip():
                values.append((number, part))
    return rows_from_values(values)


def parse_api_codes(codes: Sequence[object]) -> list[CodeRow]:
    """The codes of a JSON request, numbered from 1 by position; anything not a string is
    malformed."""
    values: list[tuple[int, str]] = []
    odd: list[CodeRow] = []
    for position, value in enumerate(codes, start=1):
        if isinstance(value, str):
            values.append((position, value))
        else:
            odd.append(CodeRow(position, "", None, WatchOutcome.MALFORMED,
                               "A code must be a string."))
    return sorted([*rows_from_values(values), *odd], key=lambda row: row.line)


def parse_csv(data: bytes) -> list[CodeRow]:
    """A CSV upload: the column headed "code" (any case, "certificate code" too), else the
    first column; a first row that names columns is a header. Lines are the file's lines."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise UnreadableUpload(f"The file is larger than {MAX_UPLOAD_BYTES // 1024} KiB.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UnreadableUpload("The file is not UTF-8 text. Save it as CSV (UTF-8).") from None
    if "\x00" in text:
        raise UnreadableUpload("The file is not a CSV text file.")
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(text[:4096], ",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    values: list[tuple[int, str]] = []
    column = 0
    try:
        for number, record in enumerate(reader):
            if number == 0 and record and _is_header(record):
                column = next((i for i, name in enumerate(record) if "code" in name.lower()), 0)
                continue
            if column < len(record) and record[column].strip():
                values.append((reader.line_num, record[column]))
    except csv.Error as exc:
        raise UnreadableUpload(f"The file could not be read as CSV: {exc}.") from None
    return rows_from_values(values)


def _is_header(record: Sequence[str]) -> bool:
    """A first row is a header when it names a code column and holds no code itself."""
    for cell in record:
        try:
            parse_code(cell)
        except MalformedCode:
            continue
        return False
    return any("code" in cell.lower() for cell in record)


def days_left(expires_at: datetime, now: datetime) -> int:
    """Whole days until expiry (0 once expired, and on its last day)."""
    return max(0, (expires_at - now) // timedelta(days=1))


def expiring(eligible: bool, expires_at: datetime, now: datetime) -> bool:
    """Eligible now, and not for more than EXPIRING_DAYS longer."""
    return eligible and expires_at <= now + timedelta(days=EXPIRING_DAYS)


def counts(rows: Iterable[CodeRow]) -> dict[WatchOutcome, int]:
    """How many rows had each outcome (every outcome present, zero or more)."""
    tally = dict.fromkeys(WatchOutcome, 0)
    for row in rows:
        if row.outcome is not None:
            tally[row.outcome] += 1
    return tally
