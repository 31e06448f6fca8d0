"""Reading one TOML table at a time: its keys and types, recording problems with their lines."""

from __future__ import annotations

import re
from typing import Any

from courseware.domain.content.source import ContentError, Located, Problem, load_toml

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
MAX_TEXT = 20_000

# Field kinds understood by `Reader.fields`.
TEXT, INT, BOOL, TEXTS, TABLES, TABLE = "text", "int", "bool", "texts", "tables", "table"


class Reader:
    """Checks one table's keys and types, recording problems instead of raising."""

    def __init__(self, doc: Located, problems: list[Problem]) -> None:
        self.doc = doc
        self.problems = problems

    def add(self, message: str, *where: str | int) -> None:
        self.problems.append(self.doc.problem(message, *where))

    def fields(
        self,
        table: Any,
        where: tuple[str | int, ...],
        required: dict[str, str],
        optional: dict[str, str] | None = None,
    ) -> dict[str, Any] | None:
        optional = optional or {}
        name = describe(where)
        if not isinstance(table, dict):
            self.add(f"{name} must be a table", *where)
            return None
        ok = True
        for key in table:
            if key not in required and key not in optional:
                allowed = ", ".join(sorted({*required, *optional}))
                self.add(f"unknown key '{key}' in {name} (allowed: {allowed})", *where, key)
                ok = False
        for key in required:
            if key not in table:
                self.add(f"missing required key '{key}' in {name}", *where)
                ok = False
        for key, kind in {**required, **optional}.items():
            if key in table and not self._typed(table[key], kind, (*where, key)):
                ok = False
        return table if ok else None

    def _typed(self, value: Any, kind: str, where: tuple[str | int, ...]) -> bool:
        key = where[-1]
        if kind == TEXT:
            if not isinstance(value, str) or not value.strip():
                self.add(f"'{key}' must be non-empty text", *where)
                return False
            if len(value) > MAX_TEXT:
                self.add(f"'{key}' is longer than {MAX_TEXT} characters", *where)
                return False
        elif kind == INT and (isinstance(value, bool) or not isinstance(value, int)):
            self.add(f"'{key}' must be a whole number", *where)
            return False
        elif kind == BOOL and not isinstance(value, bool):
            self.add(f"'{key}' must be true or false", *where)
            return False
        elif kind == TEXTS and (
            not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value)
        ):
            self.add(f"'{key}' must be a list of non-empty text", *where)
            return False
        elif kind == TABLES and (
            not isinstance(value, list) or not all(isinstance(v, dict) for v in value)
        ):
            self.add(f"'{key}' must be an array of tables ([[{key}]])", *where)
            return False
        elif kind == TABLE and not isinstance(value, dict):
            self.add(f"'{key}' must be a table ([{key}])", *where)
            return False
        return True

    def int_range(self, table: dict[str, Any], key: str, low: int, high: int,
                  *where: str | int) -> bool:
        value = table[key]
        if not low <= value <= high:
            self.add(f"'{key}' must be between {low} and {high}, not {value}", *where, key)
            return False
        return True

    def unique_ids(self, items: list[dict[str, Any]], array: str, *where: str | int) -> None:
        seen: dict[str, int] = {}
        for index, item in enumerate(items):
            ident = item.get("id")
            if not isinstance(ident, str):
                continue
            if not SLUG.match(ident):
                self.add(f"id '{ident}' must be lower-case letters, digits and hyphens",
                         *where, array, index, "id")
            if ident in seen:
                first = self.doc.line(*where, array, seen[ident], "id")
                self.add(f"duplicate id '{ident}' (first used on line {first})",
                         *where, array, index, "id")
            else:
                seen[ident] = index


def describe(where: tuple[str | int, ...]) -> str:
    if not where:
        return "the file"
    parts = [str(p) if isinstance(p, str) else f"#{p + 1}" for p in where]
    return " ".join(parts)


def open_toml(path: str, text: str) -> tuple[Reader | None, list[Problem]]:
    """A reader over the parsed TOML, or no reader and the syntax problem."""
    try:
        doc = load_toml(path, text)
    except ContentError as exc:
        return None, exc.problems
    problems: list[Problem] = []
    return Reader(doc, problems), problems
