"""W3C Bitstring Status List v1.0: the public lists that say a credential was revoked or suspended.

A list is a string of bits, one per credential, published as a signed credential of its own
(`BitstringStatusListCredential`). Each credential names its position (`statusListIndex`) in
a `BitstringStatusListEntry`; a verifier fetches the list, expands it and reads that bit: 1 means
the status (revoked, suspended) applies. Rules followed here, from the specification:

* the bitstring is GZIP-compressed, then encoded as multibase base64url without padding, which
  is the letter ``u`` followed by the base64url text;
* bit 0 is the left-most (most significant) bit of the first byte;
* a list has at least 131,072 entries (16 KiB uncompressed), so that one credential's position
  tells nothing about its holder (herd privacy), and positions are assigned at random.
"""

from __future__ import annotations

import base64
import gzip
import zlib
from collections.abc import Iterable
from typing import Any

from courseware.domain.statuses import StatusPurpose

__all__ = [
    "MIN_ENTRIES",
    "StatusListError",
    "decode",
    "encode",
    "entry",
    "is_set",
    "list_length",
    "status_list_credential",
]

MIN_ENTRIES = 131_072
# An expanded list is refused beyond this size: a hostile list cannot make us inflate gigabytes.
MAX_BYTES = 16 * 1024 * 1024
VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"
_B64URL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


class StatusListError(ValueError):
    """An encoded list that is not multibase base64url of a GZIP stream, or too large."""


def list_length(allocated: int) -> int:
    """How many entries a list has once `allocated` positions are taken.

    At least MIN_ENTRIES, and always at least twice the positions in use (a power of two), so a
    random pick lands on a free position at least half the time. It only ever grows, so every
    position already handed out stays inside the list.
    """
    if allocated < 0:
        raise ValueError("allocated must not be negative")
    length = MIN_ENTRIES
    while length < 2 * allocated:
        length *= 2
    return length


def encode(set_positions: Iterable[int], length: int) -> str:
    """The `encodedList` of a list of `length` bits with `set_positions` set to 1."""
    if length <= 0 or length % 8:
        raise ValueError("a list's length is a positive multiple of 8")
    bits = bytearray(length // 8)
    for position in set_positions:
        if not 0 <= position < length:
            raise ValueError(f"position {position} is outside a list of {length}")
        bits[position // 8] |= 0x80 >> (position % 8)
    # mtime=0: the same bits always encode to the same text (caches and tests can compare it)
    compressed = gzip.compress(bytes(bits), mtime=0)
    return "u" + base64.urlsafe_b64encode(compressed).rstrip(b"=").decode("ascii")


def decode(encoded: str) -> bytes:
    """The bitstring of an `encodedList` (the Bitstring Expansion Algorithm)."""
    if not encoded.startswith("u"):
        raise StatusListError("an encodedList is multibase base64url: it starts with 'u'")
    text = encoded[1:]
    if not text or not _B64URL.issuperset(text):
        raise StatusListError("the encodedList is not base64url")
    try:
        compressed = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except ValueError as exc:
        raise StatusListError("the encodedList is not base64url") from exc
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)  # GZIP framing
    try:
        bits = inflater.decompress(compressed, MAX_BYTES + 1)
    except zlib.error as exc:
        raise StatusListError("the encodedList is not GZIP-compressed") from exc
    if len(bits) > MAX_BYTES:
        raise StatusListError("the expanded list is larger than this verifier accepts")
    if not inflater.eof or not bits:
        raise StatusListError("the encodedList is a cut-short or empty GZIP stream")
    return bits


def is_set(bits: bytes, position: int) -> bool:
    """Bit `position` of an expanded list (left-most bit of the first byte is position 0)."""
    if not 0 <= position < len(bits) * 8:
        raise StatusListError(f"position {position} is outside the list ({len(bits) * 8} bits)")
    return bool(bits[position // 8] & (0x80 >> (position % 8)))


def entry(list_url: str, purpose: StatusPurpose, position: int) -> dict[str, str]:
    """The `BitstringStatusListEntry` a credential carries in `credentialStatus`."""
    return {
        "id": f"{list_url}#{position}",
        "type": "BitstringStatusListEntry",
        "statusPurpose": purpose.value,
        "statusListIndex": str(position),
        "statusListCredential": list_url,
    }


def status_list_credential(*, list_url: str, issuer: dict[str, Any], purpose: StatusPurpose,
                           encoded_list: str, valid_from: str, ttl_seconds: int
                           ) -> dict[str, Any]:
    """The unsigned `BitstringStatusListCredential` published at `list_url`.

    `ttl` (milliseconds, as the specification counts it) tells a verifier how long it may keep
    the list before fetching it again; the HTTP Cache-Control header says the same.
    """
    return {
        "@context": [VC_CONTEXT],
        "id": list_url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer,
        "validFrom": valid_from,
        "credentialSubject": {
            "id": f"{list_url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": purpose.value,
            "encodedList": encoded_list,
            "ttl": ttl_seconds * 1000,
        },
    }

