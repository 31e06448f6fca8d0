"""Hostile values, shared by the bad-input tests (and the browser test of inert payloads)."""

from __future__ import annotations

SCRIPT = "<script>alert(1)</script>"
IMG = '<img src=x onerror="alert(2)">'

VALUES: list[str] = [
    "",
    " ",
    "x" * 100_000,
    "a\x00b",
    "\x00",
    SCRIPT,
    IMG,
    '"><svg/onload=alert(3)>',
    "javascript:alert(4)",
    "' OR '1'='1' --",
    "1; DROP TABLE user; --",
    "%",
    "_",
    "\\",
    "-1",
    "0",
    "99999999999999999999999999999999",
    "1e309",
    "NaN",
    "[]",
    "{}",
    "null",
    "\u202eevil\u202c",
    "李小龍 Zoë 🙂",
    "../../../../etc/passwd",
    "%2e%2e%2f",
    "\r\nSet-Cookie: x=1",
]

# JSON values for API bodies: numbers where text is expected, arrays where scalars are, ...
JSON_VALUES: list[object] = [
    None, True, 0, -1, 10**40, 1.5, "", "x" * 100_000, [], {}, ["x"], {"a": 1}, "\x00",
    SCRIPT,
]
