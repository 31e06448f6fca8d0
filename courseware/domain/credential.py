"""Open Badges 3.0 documents: the credential of a certificate, the issuer and the achievement.

Plain builders of JSON-ready dicts (signing is `courseware.domain.vcjwt`, status lists
`courseware.domain.statuslist`). Format choices, from OB 3.0 (3.0.3, on VC Data Model 2.0):

* An ``OpenBadgeCredential`` with the VC v2 context first and the OB 3.0.3 context second.
* The subject has a stable, non-identifying ``id`` (``urn:uuid:``, kept on the account), which
  becomes the JWT's ``sub``. It also carries two ``IdentityObject`` identifiers: the holder's
  email as a salted SHA-256 (``sha256$<hex>`` of email + salt, ``hashed: true``, with the salt),
  so the holder can prove the credential is theirs without it publishing the address, and the
  plain name, for the people who read it.
* What was achieved, in OB's own vocabulary: the achievement lists a ``ResultDescription`` per
  graded role-play (``RubricCriterionLevel``: every level of every criterion of its rubric,
  critical criteria marked) and per quiz (``Percent``, with the pass mark); the subject's
  ``result`` says which level each criterion reached and the quiz score. ``evidence`` names the
  activities, never what the learner wrote.
* ``awardedDate`` is the first award's date, so a renewed credential shows continuous
  certification; a renewal also links the credential it renews (as evidence).
* ``credentialStatus`` is one ``BitstringStatusListEntry``: OB 3.0 allows a single status
  object (multiplicity 0..1 in its schema), and the revocation entry is the one every verifier
  checks. The suspension list uses the same position (see the README).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from courseware.domain.rubric import RubricSpec
from courseware.domain.vcjwt import iso_z

__all__ = [
    "CONTEXT",
    "AchievementInfo",
    "EvidenceInfo",
    "IssuerInfo",
    "SubjectInfo",
    "achievement",
    "achievement_document",
    "build_credential",
    "identity_hash",
    "linkedin_add_url",
    "profile",
    "profile_document",
    "quiz_result",
    "quiz_result_description",
    "rubric_level_id",
    "rubric_result_description",
    "rubric_results",
]

CONTEXT = [
    "https://www.w3.org/ns/credentials/v2",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
]
CREDENTIAL_TYPE = ["VerifiableCredential", "OpenBadgeCredential"]


# --- the issuer ----------------------------------------------------------------------------

@dataclass(frozen=True)
class IssuerInfo:
    """The issuing organisation. `id` dereferences to its Profile (JSON) or page (HTML)."""

    id: str
    name: str
    url: str
    description: str | None = None


def profile(issuer: IssuerInfo) -> dict[str, Any]:
    """The issuer as an OB 3.0 ``Profile``, as embedded in credentials."""
    document: dict[str, Any] = {"id": issuer.id, "type": ["Profile"], "name": issuer.name,
                                "url": issuer.url}
    if issuer.description:
        document["description"] = issuer.description
    return document


def profile_document(issuer: IssuerInfo) -> dict[str, Any]:
    """The Profile served at the issuer id, with its JSON-LD context."""
    return {"@context": list(CONTEXT), **profile(issuer)}


# --- the achievement and its results ---------------------------------------------------------

def quiz_result_description(achievement_url: str, slug: str, title: str,
                            pass_percent: int) -> dict[str, Any]:
    """A quiz's score, as a percentage against its pass mark."""
    return {
        "id": f"{achievement_url}#quiz-{slug}",
        "type": ["ResultDescription"],
        "name": f"Quiz: {title}",
        "resultType": "Percent",
        "valueMin": "0",
        "valueMax": "100",
        "requiredValue": str(pass_percent),
    }


def rubric_level_id(description_id: str, criterion_id: str, score: int) -> str:
    return f"{description_id}/{criterion_id}/{score}"


def rubric_result_description(achievement_url: str, slug: str, title: str,
                              rubric: RubricSpec, *, descriptors: bool = True) -> dict[str, Any]:
    """A graded role-play: every level of every criterion of its rubric, critical ones marked.

    Each ``RubricCriterionLevel`` names its criterion and level; ``points`` is the level's
    score; ``description`` is what a trainer sees at that level (left out of credentials, which
    would otherwise triple in size: the achievement's own URL serves them). What passes (the
    share of points, critical criteria at the "meets" level, the floor) is said in the
    achievement's criteria.
    """
    description_id = f"{achievement_url}#roleplay-{slug}"
    levels = []
    for criterion in rubric.criteria:
        marker = " (critical)" if criterion.critical else ""
        for level in criterion.levels:
            described: dict[str, Any] = {
                "id": rubric_level_id(description_id, criterion.id, level.score),
                "type": ["RubricCriterionLevel"],
                "name": f"{criterion.title}{marker}: {level.label}",
                "level": level.label,
                "points": str(level.score),
            }
            if descriptors:
                described["description"] = level.descriptor
            levels.append(described)
    return {
        "id": description_id,
        "type": ["ResultDescription"],
        "name": f"Role-play: {title}",
        "resultType": "RubricCriterionLevel",
        "rubricCriterionLevel": levels,
    }


def _percent(value: float) -> str:
    return f"{round(value, 1):g}"


def quiz_result(achievement_url: str, slug: str, percent: float) -> dict[str, Any]:
    return {"type": ["Result"], "resultDescription": f"{achievement_url}#quiz-{slug}",
            "value": _percent(percent)}


def rubric_results(achievement_url: str, slug: str, rubric: RubricSpec,
                   levels: Mapping[str, int]) -> list[dict[str, Any]]:
    """One Result per criterion: the level its grade reached (in the rubric's order)."""
    description_id = f"{achievement_url}#roleplay-{slug}"
    results = []
    for criterion in rubric.criteria:
        score = levels.get(criterion.id)
        level = criterion.level(score) if score is not None else None
        if level is None:
            continue
        results.append({"type": ["Result"], "resultDescription": description_id,
                        "achievedLevel": rubric_level_id(description_id, criterion.id,
                                                         level.score),
                        "value": level.label})
    return results


@dataclass(frozen=True)
class AchievementInfo:
    """What is achieved. `url` (the track page; JSON for a machine) is the achievement's id."""

    url: str
    title: str
    description: str
    criteria: str
    result_descriptions: tuple[dict[str, Any], ...] = ()


def achievement(info: AchievementInfo, issuer: IssuerInfo) -> dict[str, Any]:
    document: dict[str, Any] = {
        "id": info.url,
        "type": ["Achievement"],
        "achievementType": "Certificate",
        "name": info.title,
        "description": info.description,
        "criteria": {"id": info.url, "narrative": info.criteria},
        "creator": profile(issuer),
    }
    if info.result_descriptions:
        document["resultDescription"] = list(info.result_descriptions)
    return document


def achievement_document(info: AchievementInfo, issuer: IssuerInfo) -> dict[str, Any]:
    """The Achievement served at its id, with its JSON-LD context."""
    return {"@context": list(CONTEXT), **achievement(info, issuer)}


# --- the holder ------------------------------------------------------------------------------

@dataclass(frozen=True)
class SubjectInfo:
    id: str      # urn:uuid:..., kept on the account
    name: str    # as on the certificate
    email: str   # only ever published hashed


def identity_hash(value: str, salt: str) -> str:
    """OB 3.0 IdentityHash: ``sha256$`` and the hex SHA-256 of the value followed by the salt."""
    return "sha256$" + hashlib.sha256((value + salt).encode("utf-8")).hexdigest()


def _identifiers(subject: SubjectInfo, salt: str) -> list[dict[str, Any]]:
    return [
        {"type": "IdentityObject", "identityType": "emailAddress", "hashed": True,
         "identityHash": identity_hash(subject.email, salt), "salt": salt},
        {"type": "IdentityObject", "identityType": "name", "hashed": False,
         "identityHash": subject.name},
    ]


# --- the credential --------------------------------------------------------------------------

@dataclass(frozen=True)
class EvidenceInfo:
    name: str
    description: str
    genre: str
    id: str | None = None


def _evidence(item: EvidenceInfo) -> dict[str, Any]:
    entry: dict[str, Any] = {"type": ["Evidence"], "name": item.name,
                             "description": item.description, "genre": item.genre}
    if item.id:
        entry = {"id": item.id, **entry}
    return entry


def build_credential(
    *,
    credential_id: str,
    issuer: IssuerInfo,
    achievement_info: AchievementInfo,
    subject: SubjectInfo,
    salt: str,
    valid_from: datetime,
    valid_until: datetime | None,
    awarded: datetime,
    results: Sequence[dict[str, Any]] = (),
    evidence: Sequence[EvidenceInfo] = (),
    status: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An unsigned ``OpenBadgeCredential`` as a JSON-ready dict."""
    if valid_until is not None and valid_until <= valid_from:
        raise ValueError("valid_until must be after valid_from")
    credential_subject: dict[str, Any] = {
        "id": subject.id,
        "type": ["AchievementSubject"],
        "identifier": _identifiers(subject, salt),
        "achievement": achievement(achievement_info, issuer),
    }
    if results:
        credential_subject["result"] = list(results)
    credential: dict[str, Any] = {
        "@context": list(CONTEXT),
        "id": credential_id,
        "type": list(CREDENTIAL_TYPE),
        "name": achievement_info.title,
        "issuer": profile(issuer),
        "validFrom": iso_z(valid_from),
        "awardedDate": iso_z(awarded),
        "credentialSubject": credential_subject,
    }
    if valid_until is not None:
        credential["validUntil"] = iso_z(valid_until)
    if evidence:
        credential["evidence"] = [_evidence(item) for item in evidence]
    if status is not None:
        credential["credentialStatus"] = status
    return credential


# --- LinkedIn --------------------------------------------------------------------------------

LINKEDIN_ADD = "https://www.linkedin.com/profile/add"


def linkedin_add_url(*, name: str, organization: str, issued: datetime,
                     expires: datetime | None, cert_url: str, cert_id: str) -> str:
    """LinkedIn's add-to-profile link for a certification, with its fields filled in."""
    fields: dict[str, str | int] = {
        "startTask": "CERTIFICATION_NAME",
        "name": name,
        "organizationName": organization,
        "issueYear": issued.year,
        "issueMonth": issued.month,
    }
    if expires is not None:
        fields.update(expirationYear=expires.year, expirationMonth=expires.month)
    fields.update(certUrl=cert_url, certId=cert_id)
    return f"{LINKEDIN_ADD}?{urlencode(fields)}"
