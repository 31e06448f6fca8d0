"""Which network addresses a webhook may be delivered to: public ones only.

A program types the URL of its endpoint; the server then connects to it. Without a rule, that
URL could name the server's own loopback, the private network behind it or the cloud's metadata
service (169.254.169.254) and turn the delivery job into a probe of what only the server can
reach (server-side request forgery). So an address is allowed only when `ipaddress` calls it
globally reachable, after unwrapping the IPv6 forms that embed an IPv4 address (IPv4-mapped
`::ffff:a.b.c.d`, NAT64 `64:ff9b::a.b.c.d`, 6to4 `2002::/16`, Teredo), and never a multicast
address. Every address a host name resolves to must pass (see courseware.infra.webhook_http,
which then connects to the address it checked, so a second DNS answer cannot switch it).
"""

from __future__ import annotations

import ipaddress

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

NAT64 = ipaddress.ip_network("64:ff9b::/96")
LOOPBACK_NETWORKS = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))


class RefusedAddress(ValueError):
    """An address a webhook must not be sent to; the message says why."""


class Unresolvable(RefusedAddress):
    """A host name with no address (mistyped, or its DNS is down)."""


def parse(text: str) -> Address:
    """An address from its text (an IPv6 zone such as `fe80::1%eth0` is refused: it is link-local
    by definition)."""
    if "%" in text:
        raise RefusedAddress(f"{text} is a link-local address with a zone")
    return ipaddress.ip_address(text)


def embedded_ipv4(address: Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, NAT64, 6to4, Teredo), if any."""
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]  # the client's address (the server's is public by design)
    return None


def why_refused(address: Address, *, allow_loopback: bool = False) -> str | None:
    """Why a webhook may not go to this address, or None when it may.

    `allow_loopback` is the test suite's setting (WEBHOOK_ALLOW_HTTP_LOOPBACK): 127.0.0.0/8 and
    ::1 only, nothing else private."""
    inner = embedded_ipv4(address)
    if inner is not None:
        reason = why_refused(inner, allow_loopback=allow_loopback)
        if reason is not None:
            return f"{address} carries {inner}: {reason}"
    if allow_loopback and any(address in net for net in LOOPBACK_NETWORKS
                              if net.version == address.version):
        return None
    if address.is_loopback:
        return f"{address} is a loopback address"
    if address.is_link_local:
        return f"{address} is a link-local address (cloud metadata lives there)"
    if address.is_multicast:
        return f"{address} is a multicast address"
    if address.is_unspecified:
        return f"{address} is the unspecified address"
    if address.is_private:
        return f"{address} is a private address"
    if address.is_reserved:
        return f"{address} is a reserved address"
    if not address.is_global:  # shared address space (100.64.0.0/10) and the like
        return f"{address} is not a public address"
    return None


def is_allowed(address: Address, *, allow_loopback: bool = False) -> bool:
    return why_refused(address, allow_loopback=allow_loopback) is None


def check_all(addresses: list[Address], *, allow_loopback: bool = False) -> list[Address]:
    """Every address a host resolved to, if every one is allowed; else RefusedAddress (one bad
    answer refuses the host: a resolver may hand out any of them)."""
    if not addresses:
        raise Unresolvable("the host name resolves to no address")
    for address in addresses:
        reason = why_refused(address, allow_loopback=allow_loopback)
        if reason is not None:
            raise RefusedAddress(reason)
    return addresses
