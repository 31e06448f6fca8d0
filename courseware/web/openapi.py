"""The OpenAPI 3.1 description of the public API; tests validate real responses against it."""

from __future__ import annotations

from typing import Any

from courseware.domain.statuses import PublicReason

_ERROR_OBJECT: dict[str, Any] = {
    "type": "object",
    "required": ["code", "message"],
    "additionalProperties": False,
    "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
}
_ERROR: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "additionalProperties": False,
    "properties": {"error": _ERROR_OBJECT},
}

_TIME = {"type": "string", "format": "date-time"}
_NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}

_CERTIFICATE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["code", "status", "eligible", "holder", "track", "issued_at", "expires_at",
                 "revoked_at", "revocation_reason", "revocation_reason_code",
                 "revocation_public_text", "verify_url", "pdf_url", "credential_url"],
    "properties": {
        "code": {"type": "string", "pattern": "^[0-9A-Z*~$=]{27}$",
                 "description": "Canonical code: 26 Crockford base32 symbols and a check symbol."},
        "status": {"type": "string", "enum": ["valid", "suspended", "expired", "revoked"]},
        "eligible": {"type": "boolean",
                     "description": "Whether this certificate makes its holder an eligible "
                                    "mentor now."},
        "holder": {"type": "object", "additionalProperties": False, "required": ["name"],
                   "properties": {"name": {"type": "string"}}},
        "track": {"type": "object", "additionalProperties": False, "required": ["slug", "title"],
                  "properties": {"slug": {"type": "string"}, "title": {"type": "string"}}},
        "issued_at": _TIME,
        "expires_at": _TIME,
        "revoked_at": _NULLABLE_TIME,
        "revocation_reason": {"type": ["string", "null"],
                              "description": "Why it was revoked, or suspended while status "
                                             "is suspended, as one sentence: the public "
                                             "reason's label, then any public text."},
        "revocation_reason_code": {
            "type": ["string", "null"],
            "enum": [*(reason.value for reason in PublicReason), None],
            "description": "The public reason, from a fixed list (null when none was "
                           "published, or while valid or expired)."},
        "revocation_public_text": {"type": ["string", "null"],
                                   "description": "Optional text the issuer chose to "
                                                  "publish with the reason."},
        "verify_url": {"type": "string", "format": "uri"},
        "pdf_url": {"type": "string", "format": "uri"},
        "credential_url": {"type": "string", "format": "uri"},
    },
}

_BATCH_ERROR = {
    "type": "object",
    "additionalProperties": False,
    "required": ["code", "error"],
    "properties": {"code": {"type": ["string", "null"]}, "error": _ERROR_OBJECT},
}


def _json(schema_ref: str, description: str) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": schema_ref}}}}


def openapi_document(base_url: str) -> dict[str, Any]:
    error = "#/components/schemas/Error"
    rate_limited = _json(error, "Too many requests; see the Retry-After header.")
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Peer mentor certificate verification",
            "version": "1.0.0",
            "description": "Check whether a person holds a valid peer mentor certificate and "
                           "may mentor now. No authentication; rate limited per IP address.",
        },
        "servers": [{"url": f"{base_url}/api/v1"}],
        "paths": {
            "/certificates/{code}": {
                "get": {
                    "operationId": "getCertificate",
                    "summary": "One certificate by its code",
                    "parameters": [{
                        "name": "code", "in": "path", "required": True,
                        "description": "27 symbols: case-insensitive; spaces and hyphens "
                                       "are ignored. A code whose check symbol does not "
                                       "match answers 400 malformed_code.",
                        "schema": {"type": "string", "maxLength": 200,
                                   "pattern": r"^[\s-]*([0-9A-Za-z*~$=][\s-]*){27}$"},
                    }],
                    "responses": {
                        "200": _json("#/components/schemas/Certificate", "The certificate."),
                        "400": _json(error, "The code is malformed (error code malformed_code)."),
                        "404": _json(error, "No certificate has this code (not_found)."),
                        "429": rate_limited,
                    },
                }
            },
            "/eligibility": {
                "post": {
                    "operationId": "checkEligibility",
                    "summary": "Up to 100 codes at once",
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": {
                            "type": "object", "additionalProperties": False,
                            "required": ["codes"],
                            "properties": {"codes": {"type": "array", "minItems": 1,
                                                     "maxItems": 100,
                                                     "items": {"type": "string"}}},
                        }}},
                    },
                    "responses": {
                        "200": {
                            "description": "One result per code, in order: the certificate, "
                                           "or an error object for that code.",
                            "content": {"application/json": {"schema": {
                                "type": "object", "additionalProperties": False,
                                "required": ["results"],
                                "properties": {"results": {"type": "array", "items": {"oneOf": [
                                    {"$ref": "#/components/schemas/Certificate"},
                                    {"$ref": "#/components/schemas/BatchError"},
                                ]}}},
                            }}},
                        },
                        "400": _json(error, "The body is not of the required shape, not "
                                            "JSON, or nests more than 8 levels deep."),
                        "413": _json(error, "The body is larger than 32 KiB "
                                            "(payload_too_large)."),
                        "415": _json(error, "The body is not JSON."),
                        "429": rate_limited,
                    },
                }
            },
        },
        "components": {"schemas": {"Certificate": _CERTIFICATE, "Error": _ERROR,
                                   "BatchError": _BATCH_ERROR}},
    }
