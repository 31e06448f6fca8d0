"""What a unit of work was part of, for the records it writes: the request id.

The web layer sets it at the start of a request (from a trusted `X-Request-ID` or a new one); a
job sets its own. Services read it (the audit log stores it) without knowing about Flask.
"""

from __future__ import annotations

import re
import secrets
from contextvars import ContextVar

_REQUEST_ID: ContextVar[str | None] = ContextVar("courseware_request_id", default=None)
_ACCEPTABLE = re.compile(r"[A-Za-z0-9._-]{8,64}")


def new_request_id(offered: str | None = None) -> str:
    """`offered` when it looks like a request id (from a proxy), otherwise a new random one."""
    if offered and _ACCEPTABLE.fullmatch(offered):
        return offered
    return secrets.token_hex(16)


def set_request_id(value: str | None) -> None:
    _REQUEST_ID.set(value)


def request_id() -> str | None:
    return _REQUEST_ID.get()
