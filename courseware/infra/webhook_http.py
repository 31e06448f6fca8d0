"""One webhook POST, to an address checked first and connected to as checked.

The host name is resolved once; every address it resolves to must be public
(courseware.domain.ssrf); the connection then goes to the first of those addresses, with the
original host name in the Host header and, over https, in TLS's SNI and certificate check. So
a second DNS answer (DNS rebinding) cannot send the request elsewhere, and a certificate for
another name is refused. Redirects are never followed (http.client does not follow them: a 3xx
is returned as the answer, and counts as a failure). Every socket operation has the timeout;
at most 1 KB of the answer is read.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from courseware.domain import ssrf
from courseware.domain.webhooks import RESPONSE_EXCERPT_BYTES, Target, excerpt

Resolver = Callable[[str, int], list[ssrf.Address]]


def resolve(host: str, port: int) -> list[ssrf.Address]:
    """Every address the host name resolves to (a literal address is itself)."""
    try:
        return [ssrf.parse(host)]
    except ValueError:
        pass
    try:
        answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise ssrf.Unresolvable(f"{host} does not resolve ({exc})") from None
    found: list[ssrf.Address] = []
    for _family, _type, _proto, _name, sockaddr in answers:
        address = ssrf.parse(str(sockaddr[0]))
        if address not in found:
            found.append(address)
    return found


def checked_addresses(target: Target, *, allow_loopback: bool,
                      resolver: Resolver = resolve) -> list[ssrf.Address]:
    """The addresses to connect to, each one allowed; else RefusedAddress saying why."""
    return ssrf.check_all(resolver(target.host, target.port), allow_loopback=allow_loopback)


@dataclass(frozen=True)
class Answer:
    status: int | None
    duration_ms: int
    excerpt: str | None
    error: str | None


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, address: ssrf.Address, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((str(self._address), self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, address: ssrf.Address, timeout: float) -> None:
        self._tls = ssl.create_default_context()
        super().__init__(host, port, timeout=timeout, context=self._tls)
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((str(self._address), self.port), self.timeout)
        # the name, not the address, is what the certificate must be for
        self.sock = self._tls.wrap_socket(sock, server_hostname=self.host)


def post(target: Target, address: ssrf.Address, body: bytes, headers: Mapping[str, str],
         timeout: float) -> Answer:
    """POST `body` to the target at the checked `address`; never raises for what the network
    or the receiver does (it is in the answer's error)."""
    kind = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    connection = kind(target.host, target.port, address, timeout)
    started = time.monotonic()
    try:
        connection.request("POST", target.path, body=body, headers={
            **headers, "Content-Type": "application/json", "Connection": "close"})
        response = connection.getresponse()
        raw = response.read(RESPONSE_EXCERPT_BYTES)
        status = response.status
        error = None
        if 300 <= status < 400:
            error = f"redirect to {response.getheader('Location', '?')[:200]} (not followed)"
        elif not 200 <= status < 300:
            error = f"HTTP {status}"
        return Answer(status, _ms(started), excerpt(raw), error)
    except TimeoutError:
        return Answer(None, _ms(started), None, f"no answer within {timeout:g} s")
    except ssl.SSLError as exc:
        return Answer(None, _ms(started), None, f"TLS: {exc}"[:500])
    except (OSError, http.client.HTTPException) as exc:
        return Answer(None, _ms(started), None,
                      f"{type(exc).__name__}: {exc}"[:500] or type(exc).__name__)
    finally:
        connection.close()


def _ms(started: float) -> int:
    return max(0, round((time.monotonic() - started) * 1000))
