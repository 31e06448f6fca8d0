"""Programs' API keys on the web: `Authorization: Bearer <key>`.

A request that carries the header is a keyed request, on every API route: a bad, expired or
revoked key answers 401 (never a silent fall back to anonymous), a key without the route's
scope 403. Keyed requests draw on the key's own limits (API_KEY_RATE_LIMIT and
API_KEY_DAILY_QUOTA) instead of the anonymous per-IP ones (see web/extensions.py).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import Response, g, request

from courseware.domain import apikeys, clock
from courseware.domain.statuses import ApiScope, KeyCheck
from courseware.models import ApiKey, Program
from courseware.services import api_keys, audit
from courseware.web import db
from courseware.web.errors import api_error

F = TypeVar("F", bound=Callable[..., Any])

MESSAGES = {
    KeyCheck.UNKNOWN: ("invalid_key", "The API key is not valid. Check the Authorization "
                                      "header: Bearer followed by the whole key."),
    KeyCheck.EXPIRED: ("expired_key", "The API key has expired. Create a new one."),
    KeyCheck.REVOKED: ("revoked_key", "The API key was revoked. Create a new one."),
}


def presented() -> str | None:
    """The key a request presents ("" for a header that is not a Bearer one), or None."""
    # the WSGI variable itself: asked up to four times a request (the limits, the route)
    return apikeys.bearer_token(request.environ.get("HTTP_AUTHORIZATION"))


def valid_key_presented() -> bool:
    """Whether the request presents a valid key (the limits ask before any view runs: such a
    request draws on its key's budget; no key or a bad one, on the per-IP budget, so trying
    keys costs as much as trying codes)."""
    if presented() is None:
        return False
    found = _authenticated()
    return found.key is not None and found.program is not None


def limit_key() -> str:
    """What a valid key's limits count against: its visible prefix (unique, and no secret)."""
    key = _authenticated().key
    assert key is not None, "asked only of a valid key"
    return "api-key:" + key.prefix


def _authenticated() -> api_keys.Authenticated:
    found: api_keys.Authenticated | None = g.get("api_key_check")
    if found is None:
        found = api_keys.authenticate(db.session(), presented() or "", clock.utcnow())
        g.api_key_check = found
    return found


def unauthorized(code: str, message: str) -> Response:
    return api_error(401, code, message, **{"WWW-Authenticate": 'Bearer realm="api"'})


def api_key_required(scope: ApiScope, *, optional: bool = False) -> Callable[[F], F]:
    """The route needs a valid key with `scope` (with `optional`, anonymous callers may use
    it too, but a presented key must be valid and have the scope). The key and its program
    are then `current_key()` and `current_program()`."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            token = presented()
            if token is None:
                if optional:
                    return view(*args, **kwargs)
                return unauthorized("missing_key", "This route needs an API key: send "
                                    "Authorization: Bearer <key>.")
            found = _authenticated()
            if found.key is None or found.program is None:
                return unauthorized(*MESSAGES.get(found.check, MESSAGES[KeyCheck.UNKNOWN]))
            if not found.allows(scope):
                return api_error(403, "insufficient_scope",
                                 f"This API key does not have the scope “{scope}”.",
                                 **{"WWW-Authenticate":
                                    f'Bearer realm="api", error="insufficient_scope", '
                                    f'scope="{scope}"'})
            _record_use(found.key)
            return view(*args, **kwargs)

        # functools.wraps keeps the view's signature; mypy cannot see that through Any
        return cast(F, wrapped)

    return decorator


def _record_use(key: ApiKey) -> None:
    """The key's last use, at most once a minute: in the request's own transaction when it
    writes, else in a short one of its own."""
    moment = clock.utcnow()
    if not apikeys.touch_due(key.last_used_at, moment):
        return
    if request.method in ("GET", "HEAD", "OPTIONS"):
        writer = db.write_session()
        try:
            api_keys.touch(writer, key, moment)
            writer.commit()
        finally:
            writer.close()
    else:
        api_keys.touch(db.session(), key, moment)


def current_key() -> ApiKey | None:
    """The request's valid key (routes behind api_key_required), or None when anonymous."""
    found: api_keys.Authenticated | None = g.get("api_key_check")
    return found.key if found is not None else None


def current_program() -> Program:
    found: api_keys.Authenticated | None = g.get("api_key_check")
    assert found is not None and found.program is not None
    return found.program


def key_actor() -> audit.ApiClient:
    """The audit log's actor for what the request's key does."""
    key, program = current_key(), current_program()
    assert key is not None
    return audit.ApiClient.of(key.id, key.prefix, program.name)
