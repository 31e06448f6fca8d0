"""TOML documents that remember where things are, so every problem can say `path:line`.

tomllib gives values but no positions. Content files are small and hand-written, so a line scan
that follows table headers (`[x]`, `[[x]]`, `[[x.y]]`) and `key =` lines is enough to map a
value's path, such as ("questions", 3, "options", 1, "correct"), back to its line.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Path_ = tuple[str | int, ...]

_HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\-]+)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-]+)\s*=")


@dataclass(frozen=True)
class Problem:
    path: str
    line: int
    message: str
    warning: bool = False  # advice: printed, but it neither fails a check nor stops a sync

    def __str__(self) -> str:
        kind = "warning: " if self.warning else ""
        return f"{self.path}:{self.line}: {kind}{self.message}"


def in_order(problems: list[Problem]) -> list[Problem]:
    return sorted(problems, key=lambda p: (p.path, p.line, p.message))


class ContentError(Exception):
    """One or more problems found in the content files (and any warnings found with them)."""

    def __init__(self, problems: list[Problem], warnings: list[Problem] | None = None) -> None:
        self.problems = in_order(problems)
        self.warnings = in_order(warnings or [])
        super().__init__("\n".join(str(p) for p in self.problems))


@dataclass
class Located:
    """A parsed TOML document plus the line of each table header and key."""

    path: str
    data: dict[str, Any]
    line_offset: int = 0
    lines: dict[Path_, int] = field(default_factory=dict)

    def line(self, *where: str | int) -> int:
        """The line of `where`, or of the nearest enclosing table that has one."""
        key: Path_ = tuple(where)
        while key:
            if key in self.lines:
                return self.lines[key] + self.line_offset
            key = key[:-1]
        return 1 + self.line_offset

    def problem(self, message: str, *where: str | int) -> Problem:
        return Problem(self.path, self.line(*where), message)


def load_toml(path: str, text: str, line_offset: int = 0) -> Located:
    """Parse TOML text; a syntax error becomes a ContentError with the right line."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"at line (\d+)", str(exc))
        line = int(match.group(1)) if match else 1
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        problem = Problem(path, line + line_offset, f"invalid TOML: {message}")
        raise ContentError([problem]) from None
    return Located(path=path, data=data, line_offset=line_offset, lines=_scan(text))


def _scan(text: str) -> dict[Path_, int]:
    lines: dict[Path_, int] = {}
    counters: dict[Path_, int] = {}
    table: Path_ = ()
    in_multiline: str | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        if in_multiline:
            if raw.count(in_multiline) % 2 == 1:
                in_multiline = None
            continue
        header = _HEADER.match(raw)
        if header:
            table = _table_path(header.group(2).split("."), header.group(1) == "[[", counters)
            lines.setdefault(table, number)
            continue
        key = _KEY.match(raw)
        if key:
            lines.setdefault((*table, key.group(1)), number)
            for quote in ('"""', "'''"):
                if raw.count(quote) % 2 == 1:
                    in_multiline = quote
    return lines


def _table_path(
    names: list[str], is_array: bool, counters: dict[Path_, int]
) -> Path_:
    """Resolve a header to a concrete path, numbering arrays of tables as TOML does."""
    path: list[str | int] = []
    for depth, name in enumerate(names):
        path.append(name)
        last = depth == len(names) - 1
        prefix = tuple(path)
        if last and is_array:
            index = counters.get(prefix, -1) + 1
            counters[prefix] = index
            # a new element resets the numbering of arrays nested inside it
            nested_arrays = [k for k in counters
                             if len(k) > len(prefix) and k[: len(prefix)] == prefix]
            for nested in nested_arrays:
                del counters[nested]
            path.append(index)
        elif not last and prefix in counters:
            # `[[questions.options]]` belongs to the latest `[[questions]]` element
            path.append(counters[prefix])
    return tuple(path)


def read_text(path: Path) -> str:
    return path.read_text(encoding="utf-8")
