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


def _b64(data: bytes) -> str:
    import base64

    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# Credential-shaped values for /verify and `certificates check-credential`: tokens that look like
# a VC-JWT and are not one. (Those that need a real key, such as a forged signature or an HS256
# token keyed with the published public key, are made by the tests that have the key.)
JWT_VALUES: list[str] = [
    "a.b.c",
    "...",
    "eyJ.eyJ.",
    _b64(b'{"alg":"none"}') + "." + _b64(b'{"iss":"x"}') + ".",
    _b64(b'{"alg":"none","kid":"http://localhost/.well-known/keys/x"}') + "." + _b64(b"{}"),
    _b64(b'{"alg":"RS256"}') + "." + _b64(b'{"iss":"x"}') + "." + _b64(b"sig"),
    _b64(b'{"alg":"RS256","kid":42}') + "." + _b64(b"{}") + "." + _b64(b"sig"),
    _b64(b'{"alg":"RS256","kid":"http://localhost/.well-known/keys/"}') + "." + _b64(b"{}")
    + "." + _b64(b"sig"),
    _b64(b'{"alg":"RS256","kid":"http://localhost/.well-known/keys/' + b"A" * 5000 + b'"}')
    + "." + _b64(b"{}") + "." + _b64(b"sig"),
    _b64(b'{"alg":"RS256","kid":"https://evil.example/k"}') + "." + _b64(b"[1,2]") + "."
    + _b64(b"sig"),
    _b64(b"[]") + "." + _b64(b"{}") + "." + _b64(b"sig"),
    _b64(b'{"alg":["RS256"]}') + "." + _b64(b"{}") + "." + _b64(b"sig"),
    _b64(b"\xff\xfe") + "." + _b64(b"\x00") + "." + _b64(b"sig"),
    _b64(b"[" * 10_000 + b"]" * 10_000) + "." + _b64(b"{}") + "." + _b64(b"sig"),
    _b64(b'{"alg":"RS256","kid":"http://localhost/.well-known/keys/x"}') + "."
    + _b64(b'{"iss":"http://localhost/issuer","nbf":1e400}') + "." + _b64(b"sig"),
    "eyJhbGciOiJSUzI1NiJ9" * 4000,
]
