"""The device cookie: a signed note that this browser has completed a login to an account.

It vouches for the device in the login throttle (services.throttle): failures from anywhere
else never delay the account's owner on a device they have used before. Signed with SECRET_KEY,
HttpOnly, a year long; it grants nothing by itself (the password is still checked).
"""

from __future__ import annotations

import secrets
from typing import Any

from flask import current_app, request
from itsdangerous import BadSignature, URLSafeSerializer
from werkzeug.wrappers import Response

SALT = "courseware-device"
MAX_ACCOUNTS = 5
MAX_AGE = 365 * 24 * 3600


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def _read() -> dict[str, Any] | None:
    raw = request.cookies.get(current_app.config["DEVICE_COOKIE_NAME"])
    if not raw or len(raw) > 2000:
        return None
    try:
        data = _serializer().loads(raw)
    except BadSignature:
        return None
    if (not isinstance(data, dict) or not isinstance(data.get("d"), str)
            or not isinstance(data.get("a"), list)):
        return None
    return data


def known_device(account: str) -> str | None:
    """This device's id when its cookie says it has logged in to `account` before."""
    data = _read()
    if data is None or account[:32] not in data["a"]:
        return None
    device: str = data["d"]
    return device


def remember(response: Response, account: str) -> Response:
    """After a complete login: this device now vouches for `account` (the last five kept)."""
    data = _read() or {"d": secrets.token_urlsafe(16), "a": []}
    accounts = [a for a in data["a"] if a != account[:32]][-(MAX_ACCOUNTS - 1):]
    data["a"] = [*accounts, account[:32]]
    config = current_app.config
    response.set_cookie(config["DEVICE_COOKIE_NAME"], _serializer().dumps(data),
                        max_age=MAX_AGE, path="/", secure=config["SESSION_COOKIE_SECURE"],
                        httponly=True, samesite="Lax")
    return response
