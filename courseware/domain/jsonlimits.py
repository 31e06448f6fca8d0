"""How deeply a JSON text nests, found without parsing it.

Python's parser recurses once per level: a body of 100,000 opening brackets exhausts the stack
(RecursionError) long before it is parsed. A linear scan bounds the depth first, so a hostile
body costs one pass over at most the size limit and never reaches the parser.
"""

from __future__ import annotations

_OPEN = frozenset(b"[{")
_CLOSE = frozenset(b"]}")
_QUOTE, _BACKSLASH = ord('"'), ord("\\")


def too_deep(data: bytes, limit: int) -> bool:
    """True when arrays and objects nest more than `limit` levels anywhere in `data`.

    Brackets inside strings do not count; the scan does not validate anything else (the parser
    does that afterwards, on a text now known to be shallow)."""
    depth = 0
    in_string = escaped = False
    for byte in data:
        if in_string:
            if escaped:
                escaped = False
            elif byte == _BACKSLASH:
                escaped = True
            elif byte == _QUOTE:
                in_string = False
        elif byte == _QUOTE:
            in_string = True
        elif byte in _OPEN:
            depth += 1
            if depth > limit:
                return True
        elif byte in _CLOSE:
            depth -= 1
    return False
