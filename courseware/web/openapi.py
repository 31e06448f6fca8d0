"""The OpenAPI 3.1 description of the public API; tests validate real responses against it.

Besides the JSON API under /api/v1 it describes what a verifier of a signed credential reads:
the credential itself (with an example built by the same code that builds real ones), the
keys its `kid` names, the status lists, the issuer and the achievement.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from courseware.domain import statuslist
from courseware.domain.credential import (
    AchievementInfo,
    EvidenceInfo,
    IssuerInfo,
    SubjectInfo,
    build_credential,
    quiz_result,
    quiz_result_description,
    rubric_result_description,
    rubric_results,
)
from courseware.domain.rubric import CriterionSpec, LevelSpec, RubricSpec
from courseware.domain.statuses import SUBSCRIBABLE_EVENTS, PublicReason, StatusPurpose

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

_CERTIFICATE: dict[str, Any] = {
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


# How a program verifies a credential with a standard library: PyJWT and the kid URL (the README
# shows the same lines; a test runs them against a live app). {base_url} is the issuer's address.
VERIFY_IN_TEN_LINES = """\
import base64, gzip, json, pathlib, urllib.request, jwt  # pip install "pyjwt[crypto]"

ISSUER = "{base_url}"  # the issuer you trust: its address

def verified(token):  # checks the signature, the issuer and the dates, or raises
    kid = jwt.get_unverified_header(token)["kid"]  # a URL that answers one public JWK
    if not kid.startswith(ISSUER + "/.well-known/keys/"): raise ValueError("not ISSUER's key")
    key = jwt.PyJWK(json.load(urllib.request.urlopen(kid)))
    return jwt.decode(token, key, algorithms=["RS256"], issuer=ISSUER + "/issuer")

claims = verified(pathlib.Path("credential.jwt").read_text().strip())
"""
STATUS_IN_SIX_LINES = """\
# Revoked or suspended? Both lists hold the credential at the same position.
entry, i = claims["credentialStatus"], int(claims["credentialStatus"]["statusListIndex"])
for purpose in ("revocation", "suspension"):
    url = entry["statusListCredential"].replace("revocation", purpose)
    listed = verified(urllib.request.urlopen(url).read().decode())["credentialSubject"]
    bits = gzip.decompress(base64.urlsafe_b64decode(listed["encodedList"][1:] + "=="))
    if bits[i // 8] & (0x80 >> i % 8): raise ValueError(f"{purpose}: it no longer stands")
"""

_EXAMPLE_MOMENT = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)


def example_credential(base_url: str) -> dict[str, Any]:
    """An example credential, made by the code that makes real ones (a two-criterion rubric
    stands in for the course's own, which have six)."""
    track = f"{base_url}/tracks/certified-peer-mentor"
    levels = (LevelSpec(1, "Not yet", ""), LevelSpec(2, "Developing", ""),
              LevelSpec(3, "Meets", ""), LevelSpec(4, "Exceeds", ""))
    rubric = RubricSpec(pass_percent=70, meets_score=3, min_score=2, criteria=(
        CriterionSpec("asks-directly", "Asks directly about suicide", True, levels),
        CriterionSpec("stays-calm", "Stays calm and non-judgmental", False, levels)))
    issuer = IssuerInfo(id=f"{base_url}/issuer", name="Courseware Peer Mentor Program",
                        url=base_url)
    return build_credential(
        credential_id=f"{base_url}/verify/4WJGEW7G68D5Y3N6TNBW1TRR2AP", issuer=issuer,
        achievement_info=AchievementInfo(
            url=track, title="Certified Peer Mentor",
            description="Awarded to a person who has completed peer mentor training.",
            criteria="Read 9 training modules, pass each module's quiz and pass 4 role-plays "
                     "graded by trainers against a rubric.",
            result_descriptions=(
                quiz_result_description(track, "crisis-response", "Crisis response quiz", 80),
                rubric_result_description(track, "crisis-response", "When a mentee says "
                                          "everyone would be better off without them", rubric,
                                          descriptors=False))),
        subject=SubjectInfo(id="urn:uuid:ddd0d022-60b8-4a15-92f1-c68c2732d502",
                            name="Lena Learner", email="lena@example.org"),
        salt="6b60625006e2cbb49f6b99e32052ce91", valid_from=_EXAMPLE_MOMENT,
        valid_until=_EXAMPLE_MOMENT.replace(year=2028), awarded=_EXAMPLE_MOMENT,
        results=[quiz_result(track, "crisis-response", 90.0),
                 *rubric_results(track, "crisis-response", rubric,
                                 {"asks-directly": 3, "stays-calm": 4})],
        evidence=[EvidenceInfo("Quiz passed: Crisis response quiz",
                               "Passed at or above the pass mark on 2026-03-01.", "Quiz"),
                  EvidenceInfo("Role-play passed: When a mentee says everyone would be better "
                               "off without them", "A written role-play, graded by a trainer "
                               "against the rubric, passed on 2026-03-02.", "Role-play")],
        status=statuslist.entry(f"{base_url}/status/revocation", StatusPurpose.REVOCATION,
                                48213))


_OPEN_OBJECT: dict[str, Any] = {"type": "object", "additionalProperties": True}


def _site(base_url: str, operation: dict[str, Any]) -> dict[str, Any]:
    """A path outside /api/v1: the site's own address is its server."""
    return {"servers": [{"url": base_url}], "get": operation}


def _credential_paths(base_url: str) -> dict[str, Any]:
    schemas = "#/components/schemas"
    gone = {"description": "The certificate is revoked or suspended: no credential is issued "
                           "(JSON for any client but a browser asking for HTML).",
            "content": {"application/json": {"schema": {"$ref": f"{schemas}/Error"}}}}
    document = {"application/json": {"schema": {"$ref": f"{schemas}/{{}}"}},
                "application/ld+json": {"schema": {"$ref": f"{schemas}/{{}}"}},
                "text/html": {"schema": {"type": "string"}}}

    def negotiated(name: str) -> dict[str, Any]:
        return {key: {"schema": {"$ref": value["schema"]["$ref"].format(name)}}
                if "$ref" in value["schema"] else value for key, value in document.items()}

    return {
        "/certificates/{code}/credential.jwt": _site(base_url, {
            "operationId": "getCredential",
            "summary": "The certificate's Open Badges 3.0 credential, signed (VC-JWT, RS256)",
            "description": "A compact JWS whose payload is the OpenBadgeCredential below plus "
                           "its JWT claims (iss, jti, sub, nbf, exp, iat). Verify it with the "
                           "key its kid URL answers; see the description above.",
            "parameters": [{"name": "code", "in": "path", "required": True,
                            "schema": {"type": "string"}}],
            "responses": {
                "200": {"description": "The signed credential.",
                        "content": {"application/jwt": {"schema": {
                            "type": "string", "contentMediaType": "application/jwt",
                            "contentSchema": {"$ref": f"{schemas}/OpenBadgeCredential"}}}}},
                "404": _json(f"{schemas}/Error", "No certificate has this code."),
                "410": gone,
            }}),
        "/.well-known/jwks.json": _site(base_url, {
            "operationId": "getKeySet", "summary": "Every public signing key ever used",
            "responses": {"200": _json(f"{schemas}/JWKS", "The JWK Set, oldest key first.")}}),
        "/.well-known/keys/{thumbprint}": _site(base_url, {
            "operationId": "getKey", "summary": "One public key: what a credential's kid "
                                                "URL answers",
            "parameters": [{"name": "thumbprint", "in": "path", "required": True,
                            "schema": {"type": "string"}}],
            "responses": {"200": _json(f"{schemas}/JWK", "The public JWK (RFC 7638 "
                                                         "thumbprint in the URL)."),
                          "404": _json(f"{schemas}/Error", "No such key.")}}),
        "/status/{purpose}": _site(base_url, {
            "operationId": "getStatusList",
            "summary": "A signed W3C Bitstring Status List (revocation or suspension)",
            "description": "Cache-Control: public, max-age=300. The payload is a "
                           "BitstringStatusListCredential; its encodedList is GZIP + "
                           "multibase base64url ('u'), at least 131,072 entries.",
            "parameters": [{"name": "purpose", "in": "path", "required": True,
                            "schema": {"enum": ["revocation", "suspension"]}}],
            "responses": {
                "200": {"description": "The signed status list credential.",
                        "content": {"application/jwt": {"schema": {
                            "type": "string", "contentMediaType": "application/jwt",
                            "contentSchema": {"$ref":
                                              f"{schemas}/BitstringStatusListCredential"}}}}},
                "404": _json(f"{schemas}/Error", "No such list.")}}),
        "/issuer": _site(base_url, {
            "operationId": "getIssuer",
            "summary": "The issuer id: its OB 3.0 Profile for a client asking for JSON (or "
                       "JSON-LD), an HTML page otherwise",
            "responses": {"200": {"description": "The issuer.",
                                  "content": negotiated("Profile")}}}),
        "/tracks/{slug}": _site(base_url, {
            "operationId": "getAchievement",
            "summary": "An achievement id: its OB 3.0 Achievement (JSON) or the track's page",
            "parameters": [{"name": "slug", "in": "path", "required": True,
                            "schema": {"type": "string"}}],
            "responses": {"200": {"description": "The achievement, with its criteria and "
                                                 "result descriptions.",
                                  "content": negotiated("Achievement")},
                          "404": _json(f"{schemas}/Error", "No such track.")}}),
    }


def _credential_schemas(base_url: str) -> dict[str, Any]:
    return {
        "OpenBadgeCredential": {
            **_OPEN_OBJECT,
            "description": "An Open Badges 3.0 credential (W3C VC Data Model 2.0), valid "
                           "against 1EdTech's AchievementCredential JSON Schema. The subject "
                           "is a urn:uuid kept on the holder's account (the JWT's sub); their "
                           "email appears only as a salted SHA-256; results say which rubric "
                           "level each criterion reached and each quiz score; credentialStatus "
                           "is the credential's position in the revocation list (the same "
                           "position in /status/suspension).",
            "required": ["@context", "id", "type", "issuer", "validFrom", "credentialSubject",
                         "credentialStatus"],
            "examples": [example_credential(base_url)],
        },
        "BitstringStatusListCredential": {
            **_OPEN_OBJECT, "required": ["@context", "id", "type", "issuer",
                                         "credentialSubject"]},
        "JWK": {"type": "object", "required": ["kty", "n", "e", "alg", "kid"],
                "properties": {"kty": {"const": "RSA"}, "alg": {"const": "RS256"},
                               "n": {"type": "string"}, "e": {"type": "string"},
                               "use": {"const": "sig"}, "kid": {"type": "string",
                                                                "format": "uri"}},
                "not": {"required": ["d"]}},
        "JWKS": {"type": "object", "required": ["keys"], "additionalProperties": False,
                 "properties": {"keys": {"type": "array",
                                         "items": {"$ref": "#/components/schemas/JWK"}}}},
        "Profile": {**_OPEN_OBJECT, "required": ["@context", "id", "type", "name"]},
        "Achievement": {**_OPEN_OBJECT, "required": ["@context", "id", "type", "name",
                                                     "description", "criteria"]},
    }


_ROSTER_ITEM = {
    "type": "object",
    "additionalProperties": False,
    "required": ["code", "holder", "track", "status", "eligible", "expires_at", "days_left",
                 "added_at", "verify_url"],
    "properties": {
        "code": _CERTIFICATE["properties"]["code"],
        "holder": _CERTIFICATE["properties"]["holder"],
        "track": _CERTIFICATE["properties"]["track"],
        "status": _CERTIFICATE["properties"]["status"],
        "eligible": _CERTIFICATE["properties"]["eligible"],
        "expires_at": _TIME,
        "days_left": {"type": "integer", "minimum": 0,
                      "description": "Whole days until expiry; 0 once expired."},
        "added_at": _TIME,
        "verify_url": {"type": "string", "format": "uri"},
    },
}

_FILTERS = ["eligible", "expiring", "not_eligible"]
_OUTCOMES = ["added", "already", "duplicate", "not_found", "malformed"]

_ROSTER_PAGE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["items", "next_cursor", "counts"],
    "properties": {
        "items": {"type": "array", "items": {"$ref": "#/components/schemas/RosterItem"}},
        "next_cursor": {"type": ["string", "null"],
                        "description": "Pass as ?cursor= for the next page; null on the last."},
        "counts": {"type": "object", "additionalProperties": False,
                   "required": ["all", *_FILTERS],
                   "properties": {name: {"type": "integer", "minimum": 0}
                                  for name in ["all", *_FILTERS]}},
    },
}

_ROSTER_REPORT = {
    "type": "object",
    "additionalProperties": False,
    "required": ["results", "counts"],
    "properties": {
        "results": {"type": "array", "items": {
            "type": "object", "additionalProperties": False,
            "required": ["input", "code", "outcome", "message"],
            "properties": {
                "input": {"type": ["string", "null"], "description": "The code as sent."},
                "code": {"type": ["string", "null"],
                         "description": "The canonical code, when well formed."},
                "outcome": {"type": "string", "enum": _OUTCOMES,
                            "description": "added; already on the list; duplicate (repeats an "
                                           "earlier code of this request); not_found; "
                                           "malformed."},
                "message": {"type": "string"},
            }}},
        "counts": {"type": "object", "additionalProperties": False, "required": _OUTCOMES,
                   "properties": {name: {"type": "integer", "minimum": 0}
                                  for name in _OUTCOMES}},
    },
}

KEY_SECURITY: list[dict[str, list[str]]] = [{"apiKey": []}]
OPTIONAL_KEY_SECURITY: list[dict[str, list[str]]] = [{}, {"apiKey": []}]


def _key_responses(error: str) -> dict[str, Any]:
    return {"401": _json(error, "The API key is not valid, has expired or was revoked "
                                "(invalid_key, expired_key, revoked_key), or is missing "
                                "(missing_key). The WWW-Authenticate header says Bearer."),
            "403": _json(error, "The key lacks this route's scope (insufficient_scope).")}


def _roster_paths(error: str, rate_limited: dict[str, Any]) -> dict[str, Any]:
    keyed = {**_key_responses(error), "429": rate_limited}
    return {
        "/roster": {
            "get": {
                "operationId": "listRoster",
                "summary": "Your program's followed certificates, a page at a time",
                "security": KEY_SECURITY,
                "parameters": [
                    {"name": "status", "in": "query", "required": False,
                     "description": "eligible (may mentor now), expiring (eligible, expiring "
                                    "within 30 days), not_eligible.",
                     "schema": {"type": "string", "enum": _FILTERS}},
                    {"name": "cursor", "in": "query", "required": False,
                     "description": "The next_cursor of the previous page.",
                     "schema": {"type": "string", "maxLength": 40}},
                    {"name": "limit", "in": "query", "required": False,
                     "schema": {"type": "integer", "minimum": 1, "maximum": 200,
                                "default": 50}},
                ],
                "responses": {
                    "200": _json("#/components/schemas/RosterPage", "One page, in the order "
                                 "the certificates were added."),
                    "400": _json(error, "A parameter is not valid (invalid_request, "
                                        "invalid_cursor)."),
                    **keyed,
                },
            },
            "post": {
                "operationId": "addToRoster",
                "summary": "Follow certificates by code (up to 1,000 at once)",
                "security": KEY_SECURITY,
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {
                        "type": "object", "additionalProperties": False, "required": ["codes"],
                        "properties": {"codes": {"type": "array", "minItems": 1,
                                                 "maxItems": 1000, "items": {"type": "string"}}},
                    }}},
                },
                "responses": {
                    "200": _json("#/components/schemas/RosterReport", "What happened to each "
                                 "code, in order. Adding a code twice is harmless."),
                    "400": _json(error, "The body is not of the required shape, not JSON, or "
                                        "nests more than 8 levels deep."),
                    "413": _json(error, "The body is larger than 64 KiB."),
                    "415": _json(error, "The body is not JSON."),
                    **keyed,
                },
            },
        },
        "/roster/{code}": {
            "delete": {
                "operationId": "removeFromRoster",
                "summary": "Stop following a certificate",
                "security": KEY_SECURITY,
                "parameters": [{
                    "name": "code", "in": "path", "required": True,
                    "schema": {"type": "string", "maxLength": 200,
                               "pattern": r"^[\s-]*([0-9A-Za-z*~$=][\s-]*){27}$"},
                }],
                "responses": {
                    "204": {"description": "Removed."},
                    "400": _json(error, "The code is malformed (malformed_code)."),
                    "404": _json(error, "This certificate is not on your program's roster "
                                        "(not_found)."),
                    **keyed,
                },
            },
        },
    }


_EVENTS = [event.value for event in SUBSCRIBABLE_EVENTS]

_WEBHOOK_ENDPOINT = {
    "type": "object",
    "additionalProperties": False,
    "required": ["id", "url", "description", "events", "enabled", "disabled_reason",
                 "failing_since", "last_attempt_at", "last_status", "created_at"],
    "properties": {
        "id": {"type": "integer"},
        "url": {"type": "string", "description": "https://, on a public address."},
        "description": {"type": ["string", "null"]},
        "events": {"type": "array", "items": {"type": "string", "enum": _EVENTS}},
        "enabled": {"type": "boolean",
                    "description": "false once turned off, by staff or after three days of "
                                   "failed deliveries (disabled_reason says which)."},
        "disabled_reason": {"type": ["string", "null"]},
        "failing_since": {"type": ["string", "null"], "format": "date-time"},
        "last_attempt_at": {"type": ["string", "null"], "format": "date-time"},
        "last_status": {"type": ["integer", "null"],
                        "description": "The HTTP status of the last attempt, if it answered."},
        "created_at": {"type": "string", "format": "date-time"},
        "secret": {"type": "string", "pattern": "^whsec_",
                   "description": "Only when the endpoint is made or its secret rotated: "
                                  "the Standard Webhooks signing secret, never shown again."},
    },
}


def _webhook_paths(error: str, rate_limited: dict[str, Any]) -> dict[str, Any]:
    keyed = {**_key_responses(error), "429": rate_limited}
    endpoint = "#/components/schemas/WebhookEndpoint"
    missing = _json(error, "Your program has no webhook endpoint with this id (not_found).")
    ident = [{"name": "endpoint_id", "in": "path", "required": True,
              "schema": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}}]
    return {
        "/webhooks": {
            "get": {
                "operationId": "listWebhookEndpoints",
                "summary": "Your program's webhook endpoints",
                "security": KEY_SECURITY,
                "responses": {
                    "200": {"description": "Every endpoint, oldest first.",
                            "content": {"application/json": {"schema": {
                                "type": "object", "additionalProperties": False,
                                "required": ["items"],
                                "properties": {"items": {"type": "array",
                                                         "items": {"$ref": endpoint}}}}}}},
                    **keyed,
                },
            },
            "post": {
                "operationId": "createWebhookEndpoint",
                "summary": "Register an HTTPS endpoint for signed events (Standard Webhooks)",
                "security": KEY_SECURITY,
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "additionalProperties": False,
                    "required": ["url", "events"],
                    "properties": {
                        "url": {"type": "string", "maxLength": 2000},
                        "events": {"type": "array", "minItems": 1,
                                   "items": {"type": "string", "enum": _EVENTS}},
                        "description": {"type": "string", "maxLength": 200},
                    }}}}},
                "responses": {
                    "201": _json(endpoint, "Made: the answer carries its `secret`, once."),
                    "400": _json(error, "The body is not of the required shape "
                                        "(invalid_request)."),
                    "413": _json(error, "The body is larger than 32 KiB."),
                    "415": _json(error, "The body is not JSON."),
                    "422": _json(error, "The URL or events cannot be used: not https, not a "
                                        "public address, an unknown event, too many "
                                        "endpoints (invalid_endpoint)."),
                    **keyed,
                },
            },
        },
        "/webhooks/{endpoint_id}": {
            "get": {
                "operationId": "getWebhookEndpoint",
                "summary": "One endpoint",
                "security": KEY_SECURITY,
                "parameters": ident,
                "responses": {"200": _json(endpoint, "The endpoint."), "404": missing,
                              **keyed},
            },
            "delete": {
                "operationId": "deleteWebhookEndpoint",
                "summary": "Delete an endpoint: nothing more is sent to it",
                "security": KEY_SECURITY,
                "parameters": ident,
                "responses": {"204": {"description": "Deleted."}, "404": missing, **keyed},
            },
        },
        "/webhooks/{endpoint_id}/rotate": {
            "post": {
                "operationId": "rotateWebhookSecret",
                "summary": "A new signing secret (the old one also signs for 24 hours)",
                "security": KEY_SECURITY,
                "parameters": ident,
                "responses": {"200": _json(endpoint, "The endpoint with its new `secret`, "
                                                     "shown once."),
                              "404": missing, **keyed},
            },
        },
        "/webhooks/{endpoint_id}/test": {
            "post": {
                "operationId": "sendWebhookTest",
                "summary": "Send a `webhook.test` event to the endpoint",
                "security": KEY_SECURITY,
                "parameters": ident,
                "responses": {
                    "202": {"description": "Queued; its attempt appears in the delivery log.",
                            "content": {"application/json": {"schema": {
                                "type": "object", "additionalProperties": False,
                                "required": ["queued"],
                                "properties": {"queued": {"const": True}}}}}},
                    "404": missing, **keyed,
                },
            },
        },
    }


def openapi_document(base_url: str) -> dict[str, Any]:
    error = "#/components/schemas/Error"
    rate_limited = _json(error, "Too many requests; see the Retry-After header.")
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Peer mentor certificate verification",
            "version": "1.0.0",
            "description": "Check whether a person holds a valid peer mentor certificate and "
                           "may mentor now. Anonymous calls are rate limited per IP address; "
                           "a program's API key (`Authorization: Bearer <key>`, made by its "
                           "staff) has limits of its own and a daily quota, and with scope "
                           "`roster` keeps the program's list of followed certificates; with scope "
                           "`webhooks` it registers endpoints for signed events.\n\n"
                           "A holder may also give you their signed credential "
                           "(`/certificates/{code}/credential.jwt`): an Open Badges 3.0 "
                           "OpenBadgeCredential as a VC-JWT signed RS256, whose `kid` is a URL "
                           "that answers the public key, with a `credentialStatus` entry in "
                           "the issuer's Bitstring Status Lists (its schema and an example are "
                           "the OpenBadgeCredential component). A program verifies it with a "
                           "standard library, PyJWT and the kid URL, in ten lines:\n\n"
                           "```python\n" + VERIFY_IN_TEN_LINES.replace("{base_url}", base_url)
                           + "```\n\nand checks its status lists in six more:\n\n```python\n"
                           + STATUS_IN_SIX_LINES + "```",
        },
        "servers": [{"url": f"{base_url}/api/v1"}],
        "paths": {
            **_credential_paths(base_url),
            "/certificates/{code}": {
                "get": {
                    "operationId": "getCertificate",
                    "summary": "One certificate by its code",
                    "security": OPTIONAL_KEY_SECURITY,
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
                        **_key_responses(error),
                        "429": rate_limited,
                    },
                }
            },
            "/eligibility": {
                "post": {
                    "operationId": "checkEligibility",
                    "summary": "Up to 100 codes at once",
                    "security": OPTIONAL_KEY_SECURITY,
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
                        **_key_responses(error),
                        "429": rate_limited,
                    },
                }
            },
            **_roster_paths(error, rate_limited),
            **_webhook_paths(error, rate_limited),
        },
        "components": {
            "schemas": {"Certificate": _CERTIFICATE, "Error": _ERROR,
                        "BatchError": _BATCH_ERROR, "RosterItem": _ROSTER_ITEM,
                        "RosterPage": _ROSTER_PAGE, "RosterReport": _ROSTER_REPORT,
                        "WebhookEndpoint": _WEBHOOK_ENDPOINT,
                        **_credential_schemas(base_url)},
            "securitySchemes": {"apiKey": {
                "type": "http", "scheme": "bearer",
                "description": "A program's API key, `cwk_` and 60 more characters, made by "
                               "its staff at /program/keys and shown once. Scopes: verify, "
                               "roster, webhooks."}},
        },
    }
