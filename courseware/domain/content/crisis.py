"""modules/crisis-lines.toml: per country, the values of the placeholders in course text.

One table per country, named by its ISO 3166-1 alpha-2 code:

    [GB]
    name = "United Kingdom"
    source = "where the numbers were checked"
    checked = "2025-06-01"
    emergency = "999"
    ...                      # every name in PLACEHOLDERS

The file is site configuration, read with the catalogue but never synced or hashed: a country's
numbers can change without a new version of any module.
"""

from __future__ import annotations

import re
from pathlib import Path

from courseware.domain.content.model import CountryLines
from courseware.domain.content.placeholders import PLACEHOLDERS
from courseware.domain.content.reader import TEXT, Reader, open_toml
from courseware.domain.content.source import ContentError, Problem

CRISIS_LINES = "modules/crisis-lines.toml"

_COUNTRY = re.compile(r"^[A-Z]{2}$")
_KEYS = {"name": TEXT, "source": TEXT, "checked": TEXT, **{name: TEXT for name in PLACEHOLDERS}}


def parse_crisis_lines(path: str, text: str) -> tuple[dict[str, CountryLines], list[Problem]]:
    reader, problems = open_toml(path, text)
    if reader is None:
        return {}, problems
    countries: dict[str, CountryLines] = {}
    if not reader.doc.data:
        reader.add("the file defines no country: add a table such as [US]")
    for code, table in reader.doc.data.items():
        if not _COUNTRY.match(code):
            reader.add(f"'{code}' is not a country code: use two capital letters, as in [US]",
                       code)
            continue
        country = _country(reader, code, table)
        if country is not None:
            countries[code] = country
    return countries, problems


def _country(reader: Reader, code: str, table: object) -> CountryLines | None:
    # every key is required, so a country cannot silently lack one of the placeholders
    data = reader.fields(table, (code,), _KEYS)
    if data is None:
        return None
    return CountryLines(
        code=code, name=data["name"].strip(), source=data["source"].strip(),
        checked=data["checked"].strip(),
        values={name: data[name].strip() for name in PLACEHOLDERS},
    )


def country_problem(countries: dict[str, CountryLines], country: str) -> Problem | None:
    """A problem when the configured country has no table in the file."""
    if country in countries:
        return None
    known = ", ".join(sorted(countries)) or "none"
    return Problem(CRISIS_LINES, 1, f"COURSE_COUNTRY is '{country}', which this file does not "
                                    f"define (defined: {known})")


def country_values(root: Path, country: str) -> dict[str, str]:
    """The placeholder values for `country`, for display; {} when the file does not exist.

    Raises ContentError when the file is broken or does not define the country: showing the
    wrong country's emergency number would be worse than showing nothing.
    """
    path = root / CRISIS_LINES
    if not path.exists():
        return {}
    countries, problems = parse_crisis_lines(CRISIS_LINES, path.read_text(encoding="utf-8"))
    missing = country_problem(countries, country)
    if problems or missing:
        raise ContentError([*problems, *([missing] if missing else [])])
    return dict(countries[country].values)
