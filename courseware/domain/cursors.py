"""Keyset cursors: the sort key of a list's last row, carried in a URL to ask for what follows.

A cursor is opaque to its reader (URL-safe base64 of a JSON array) and checked when it comes
back: a cursor that is not one of ours, or of another list's shape, reads as "from the top",
never as an error, because anyone can edit a URL."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Any

Key = tuple[Any, ...]
# The longest key a list sorts by is the roster's: a name of up to 120 characters and an id.
# Written as compact UTF-8 JSON a character takes at most 6 bytes (a control character's
# \u escape; anything else 4 at most), so 120 * 6 + 40 = 760 bytes, 1,014 characters of
# base64. Longer is not one of ours: it is refused before any parsing.
MAX_LENGTH = 1024


def encode(key: Key) -> str:
    values = [value.isoformat() if isinstance(value, datetime) else value for value in key]
    text = json.dumps(values, ensure_ascii=False, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode(cursor: str | None, shape: tuple[type, ...]) -> Key | None:
    """The key of a cursor whose values have the types of `shape`, or None."""
    if not cursor or len(cursor) > MAX_LENGTH:
        return None
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, TypeError, binascii.Error):
        return None
    if not isinstance(values, list) or len(values) != len(shape):
        return None
    key: list[Any] = []
    for value, kind in zip(values, shape, strict=True):
        if kind is datetime:
            if not isinstance(value, str):
                return None
            try:
                moment = datetime.fromisoformat(value)
            except ValueError:
                return None
            if moment.tzinfo is None:
                return None
            key.append(moment)
        elif (kind is int and isinstance(value, bool)) or not isinstance(value, kind):
            return None
        else:
            key.append(value)
    return tuple(key)
