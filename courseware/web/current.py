"""The request itself rather than Flask's proxy to it, for the hooks every request runs: each
attribute read through `flask.request` looks the request up again (about a microsecond a time,
and a hook reads several)."""

from __future__ import annotations

from typing import cast

from flask import Request, request
from werkzeug.local import LocalProxy


def current_request() -> Request:
    return cast("LocalProxy[Request]", request)._get_current_object()
