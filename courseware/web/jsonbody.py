"""Reading a JSON request body within bounds: every JSON body this site accepts goes through here.

Past API_MAX_BODY_BYTES the body is not read (413); past API_MAX_JSON_DEPTH levels of nesting it
is not parsed (400): Python's parser recurses once per level and a deep enough body exhausts the
stack. Both answer the JSON error shape.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Response, current_app, request

from courseware.domain.jsonlimits import too_deep
from courseware.web.errors import api_error


def json_body(max_bytes: int | None = None) -> tuple[Any, Response | None]:
    """The request's JSON body, or the JSON error to answer instead (past `max_bytes`, by
    default API_MAX_BODY_BYTES, 413)."""
    if not request.is_json:
        return None, api_error(415, "unsupported_media_type",
                               "Send a JSON body with Content-Type: application/json.")
    limit = max_bytes or int(current_app.config["API_MAX_BODY_BYTES"])
    request.max_content_length = limit  # past it, reading the body raises 413 (JSON here)
    data = request.get_data(as_text=False)
    depth = int(current_app.config["API_MAX_JSON_DEPTH"])
    if too_deep(data, depth):
        return None, api_error(400, "invalid_json",
                               f"The body nests arrays or objects more than {depth} levels deep.")
    try:
        return json.loads(data), None
    except (ValueError, UnicodeDecodeError):
        return None, api_error(400, "invalid_json", "The body is not valid JSON.")
