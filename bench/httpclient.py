"""A small keep-alive HTTP/1.1 client on http.client: cookies, forms, CSRF tokens, login."""

from __future__ import annotations

import http.client
import re
from collections.abc import Mapping, Sequence
from urllib.parse import urlencode

_CSRF = re.compile(r'<input[^>]*name="csrf_token"[^>]*>')
_VALUE = re.compile(r'value="([^"]*)"')
_RETRYABLE = (http.client.RemoteDisconnected, http.client.CannotSendRequest,
              ConnectionResetError, BrokenPipeError)

FormData = Mapping[str, str | Sequence[str]] | Sequence[tuple[str, str]]


class Response:
    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, headers: http.client.HTTPMessage, body: bytes):
        self.status, self.headers, self.body = status, headers, body

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    @property
    def location(self) -> str:
        return self.headers.get("Location", "")


class Client:
    """One keep-alive connection to the server (one per thread: not thread-safe)."""

    def __init__(self, host: str, port: int, timeout: float = 60):
        self.conn = http.client.HTTPConnection(host, port, timeout=timeout)
        self.cookies: dict[str, str] = {}

    def close(self) -> None:
        self.conn.close()

    def request(self, method: str, path: str, form: FormData | None = None) -> Response:
        headers = {"User-Agent": "courseware-bench", "Accept": "*/*"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form, doseq=True)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        for attempt in (1, 2):
            try:
                self.conn.request(method, path, body=body, headers=headers)
                raw = self.conn.getresponse()
                data = raw.read()
                break
            except _RETRYABLE:
                # the server closed an idle keep-alive connection: the request never ran
                self.conn.close()
                if attempt == 2:
                    raise
        for header in raw.headers.get_all("Set-Cookie") or ():
            self._store_cookie(header)
        if raw.will_close:
            self.conn.close()  # http.client reopens on the next request
        return Response(raw.status, raw.headers, data)

    def stream(self, path: str) -> http.client.HTTPResponse:
        """GET whose body the caller reads, as it arrives, to the end."""
        headers = {"User-Agent": "courseware-bench", "Accept": "*/*"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        self.conn.request("GET", path, headers=headers)
        return self.conn.getresponse()

    def get(self, path: str) -> Response:
        return self.request("GET", path)

    def post(self, path: str, form: FormData) -> Response:
        return self.request("POST", path, form)

    def _store_cookie(self, header: str) -> None:
        first, *attributes = header.split(";")
        name, _, value = first.strip().partition("=")
        expired = any(a.strip().lower().startswith(("max-age=0", "expires=thu, 01 jan 1970"))
                      for a in attributes)
        if not value or expired:
            self.cookies.pop(name, None)
        else:
            self.cookies[name] = value


def csrf_token(html: str) -> str:
    match = _CSRF.search(html)
    value = _VALUE.search(match.group(0)) if match else None
    if value is None:
        raise RuntimeError("no csrf_token field on the page")
    return value.group(1)


def login(client: Client, email: str, password: str) -> None:
    """Log in through the form like a browser: GET /login for the token, POST it back."""
    page = client.get("/login")
    response = client.post("/login", {"csrf_token": csrf_token(page.text), "email": email,
                                      "password": password, "next": ""})
    if response.status != 302:
        raise RuntimeError(f"login as {email} answered {response.status}: {response.text[:300]}")
