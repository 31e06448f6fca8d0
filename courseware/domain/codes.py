"""Certificate codes: 128 random bits as Crockford base32 plus a mod-37 check symbol.

A certificate code is what a holder reads aloud, types from a printed page or
copies out of a PDF, so the format is built for people:

* Crockford's alphabet leaves out I, L, O and U, so the letters most easily
  confused with digits (or with each other) never appear in a code, and
  reading them anyway (I/L as 1, O as 0) still works.
* The trailing check symbol (value mod 37, the prime Crockford chose) catches
  every single-symbol typo and every swap of two neighbouring symbols, so a
  mistyped code is reported as mistyped instead of as "no such certificate".
* 128 bits from ``secrets`` make codes unguessable: knowing one code says
  nothing about any other, so a code can act as the bearer secret of a
  public verification page.

Canonical form is 27 uppercase symbols (26 data + 1 check) with no separators;
that is what gets stored. Display form groups them 5-5-5-4-4-4 with hyphens.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable

__all__ = [
    "CODE_LENGTH",
    "MalformedCode",
    "check_symbol",
    "format_code",
    "generate_code",
    "parse_code",
]

# The 32 data symbols; a symbol's index is its 5-bit value.
_DATA_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
# Check symbols 0..36: the data alphabet plus five symbols only valid as a check.
_CHECK_ALPHABET = _DATA_ALPHABET + "*~$=U"
_CHECK_MODULUS = 37

_RANDOM_BITS = 128
_DATA_LENGTH = 26  # ceil(128 / 5): 130 bits of room, so the top 2 bits are always 0
CODE_LENGTH = _DATA_LENGTH + 1

# Display grouping; the shorter groups go last so the check symbol ends a group of 4.
_GROUPS = (5, 5, 5, 4, 4, 4)

# Look-alikes that Crockford decodes as digits. Applied everywhere, including
# the check position, because a person copying the code cannot know which
# position is "special".
_ALIASES = str.maketrans({"I": "1", "L": "1", "O": "0"})

# Separators people (or PDF viewers, word processors) put between groups.
# Hyphen-minus plus the Unicode hyphens and dashes a copy-paste can produce.
_DASHES = frozenset("-\u2010\u2011\u2012\u2013\u2014\u2015\u2212")

_DATA_VALUES = {symbol: value for value, symbol in enumerate(_DATA_ALPHABET)}
_CHECK_VALUES = {symbol: value for value, symbol in enumerate(_CHECK_ALPHABET)}

assert len(_DATA_ALPHABET) == 32 and len(_CHECK_ALPHABET) == _CHECK_MODULUS
assert sum(_GROUPS) == CODE_LENGTH

# A code exactly as stored (and as every link carries it): nothing to normalise, only the check.
_CANONICAL = re.compile(f"[{_DATA_ALPHABET}]{{{_DATA_LENGTH}}}[{re.escape(_CHECK_ALPHABET)}]")
# The data symbols as the digits int(..., 32) reads (0-9, then a-v), in the same order.
_AS_BASE32 = str.maketrans(_DATA_ALPHABET, "0123456789abcdefghijklmnopqrstuv")

_CHECK_MESSAGE = "This code looks mistyped: please check it and try again."


class MalformedCode(ValueError):
    """Raised by :func:`parse_code` when the text cannot be a certificate code.

    ``reason`` is machine-readable ("empty", "length", "characters", "check")
    so callers can log or count failures; ``str(error)`` is a message fit to
    show to the person who typed the code.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def _encode_data(value: int) -> str:
    """Big-endian base32 of ``value`` in exactly 26 data symbols."""
    if not 0 <= value < 32**_DATA_LENGTH:
        raise ValueError("value does not fit in 26 base32 symbols")
    symbols = []
    for _ in range(_DATA_LENGTH):
        value, digit = divmod(value, 32)
        symbols.append(_DATA_ALPHABET[digit])
    return "".join(reversed(symbols))


def _decode_data(data: str) -> int:
    """Integer value of 26 data symbols (already validated)."""
    return int(data.translate(_AS_BASE32), 32)


def check_symbol(data: str) -> str:
    """Crockford mod-37 check symbol for 26 canonical data symbols."""
    if len(data) != _DATA_LENGTH or any(symbol not in _DATA_VALUES for symbol in data):
        raise ValueError("check_symbol expects 26 canonical data symbols")
    return _CHECK_ALPHABET[_decode_data(data) % _CHECK_MODULUS]


def generate_code(randbits: Callable[[int], int] = secrets.randbits) -> str:
    """A fresh canonical code. ``randbits`` is injectable only for tests."""
    value = randbits(_RANDOM_BITS)
    if not 0 <= value < 2**_RANDOM_BITS:
        raise ValueError("randbits returned a value outside 128 bits")
    data = _encode_data(value)
    return data + check_symbol(data)


def _strip_separators(text: str) -> str:
    return "".join(ch for ch in text if not ch.isspace() and ch not in _DASHES)


def _reject_characters(bad: str) -> MalformedCode:
    shown = ", ".join(repr(ch) for ch in dict.fromkeys(bad))
    return MalformedCode(
        "characters",
        f"This code contains characters that certificate codes never use: {shown}.",
    )


def parse_code(text: str) -> str:
    """Normalise what a person typed and return the canonical code.

    Case, whitespace and hyphens are ignored, I/L read as 1 and O as 0.
    Raises :class:`MalformedCode` if the result is not a well-formed code; no
    database is consulted, so a well-formed code may still not exist.
    """
    normalised = text if _CANONICAL.fullmatch(text) else _normalise(text)
    data, check = normalised[:-1], normalised[-1]
    if _decode_data(data) % _CHECK_MODULUS != _CHECK_VALUES[check]:
        raise MalformedCode("check", _CHECK_MESSAGE)
    return normalised


def _normalise(text: str) -> str:
    """Canonical symbols from what a person typed (the check symbol not yet verified)."""
    compact = _strip_separators(text)
    if not compact:
        raise MalformedCode("empty", "Please enter a certificate code.")
    # ASCII check before upper(): "ß".upper() == "SS" and "ı".upper() == "I"
    # would otherwise smuggle non-code characters in as valid symbols.
    non_ascii = "".join(ch for ch in compact if not ch.isascii())
    if non_ascii:
        raise _reject_characters(non_ascii)
    normalised = compact.upper().translate(_ALIASES)
    unknown = "".join(ch for ch in normalised if ch not in _CHECK_VALUES)
    if unknown:
        raise _reject_characters(unknown)
    if len(normalised) != CODE_LENGTH:
        raise MalformedCode(
            "length",
            f"A certificate code has {CODE_LENGTH} characters; this one has {len(normalised)}.",
        )
    check_only = "".join(ch for ch in normalised[:-1] if ch not in _DATA_VALUES)
    if check_only:
        # *~$=U are legal only as the final check symbol.
        raise _reject_characters(check_only)
    return normalised


def format_code(canonical: str) -> str:
    """Display form, e.g. ``ABCDE-FGHJK-MNPQR-STVW-XYZ0-1234``.

    The input is re-parsed so that a malformed value raises instead of being
    printed on a certificate.
    """
    return grouped(parse_code(canonical))


def grouped(canonical: str) -> str:
    """The display form of a code the database already holds (written only after
    `generate_code`, and unique): the groups alone, without `format_code`'s re-check, which
    cost an export of 100,000 rows a second."""
    groups = []
    start = 0
    for size in _GROUPS:
        groups.append(canonical[start : start + size])
        start += size
    return "-".join(groups)
