"""Whether a password is good enough: not in breach lists, and not easy to guess.

Two checks after the length rule. A vendored list of the most common passwords seen in breaches
(`data/common-passwords.sha1`, 143,661 entries; its source and licence are in `data/README.md`),
stored compactly as sorted 5-byte SHA-1 prefixes and searched in place; and zxcvbn's estimate of
how many guesses a password takes, which must reach score 3 ("safely unguessable": about 10^8
guesses). Each refusal says why and what to do instead.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from zxcvbn import zxcvbn

LIST = Path(__file__).resolve().parent / "data" / "common-passwords.sha1"
PREFIX = 5
MIN_SCORE = 3
# zxcvbn's run time grows with length and it refuses more than 72 characters; a longer
# password is judged by its first 72
ESTIMATE_MAX = 72

BREACHED = ("This password is in lists of passwords exposed in data breaches, so attackers try "
            "it early. Choose one you have never used anywhere: three or four unrelated words "
            "work well, or let a password manager make one.")
WEAK = "This password is too easy to guess"
ADVICE = "Add another uncommon word or two, or let a password manager make one."


@lru_cache(maxsize=1)
def _digests() -> bytes:
    data = LIST.read_bytes()
    assert len(data) % PREFIX == 0, f"{LIST} is damaged"
    return data


def _contains(prefix: bytes) -> bool:
    data = _digests()
    low, high = 0, len(data) // PREFIX
    while low < high:
        middle = (low + high) // 2
        found = data[middle * PREFIX:(middle + 1) * PREFIX]
        if found == prefix:
            return True
        if found < prefix:
            low = middle + 1
        else:
            high = middle
    return False


def list_size() -> int:
    return len(_digests()) // PREFIX


def breached(password: str) -> bool:
    """In the breach list, as typed or in lower case ("Password123" counts as "password123")."""
    return any(_contains(hashlib.sha1(variant.encode()).digest()[:PREFIX])  # noqa: S324
               for variant in {password, password.lower()})


def problem(password: str, personal: Iterable[str] = ()) -> str | None:
    """Why this password will not do (a sentence to show), or None when it is good enough.

    `personal` holds what an attacker would try first for this person: their name and address.
    """
    if breached(password):
        return BREACHED
    words = [w for text in personal for w in _words(text)]
    result = zxcvbn(password[:ESTIMATE_MAX], user_inputs=words)
    if result["score"] >= MIN_SCORE:
        return None
    feedback = result.get("feedback") or {}
    warning = str(feedback.get("warning") or "").rstrip(".")
    reason = f"{WEAK}: {warning[:1].lower()}{warning[1:]}." if warning else f"{WEAK}."
    return f"{reason} {ADVICE}"


def _words(text: str) -> list[str]:
    parts = text.replace("@", " ").replace(".", " ").replace("-", " ").split()
    return [p.casefold() for p in parts if len(p) >= 3] + (["courseware", "mentor"])
