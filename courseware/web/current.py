"""The request (and its context) itself rather than Flask's proxy to it, for the hooks every
request runs: each attribute read through `flask.request` looks the request up again (about a
microsecond a time, and a hook reads several)."""

from __future__ import annotations

from typing import cast

from flask import Request, request
from flask.ctx import RequestContext
from flask.globals import request_ctx
from werkzeug.local import LocalProxy


def current_request() -> Request:
    return cast("LocalProxy[Request]", request)._get_current_object()


def current_request_context() -> RequestContext:
    return cast("LocalProxy[RequestContext]", request_ctx)._get_current_object()
