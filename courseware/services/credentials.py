"""Open Badges 3.0 credentials of certificates: what they say, signing them, checking them.

`credential_document` assembles what a certificate's credential says (the achievement with its
result descriptions, the holder's results read from the stored grades and attempts, evidence,
status); `signed_credential` signs it with the active key. `check` explains, step by step, what
holds of a credential someone pasted or uploaded; it stores nothing and fetches nothing: a key
or status list of another issuer is reported as not checked here.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from courseware.domain import statuslist, vcjwt
from courseware.domain.codes import format_code
from courseware.domain.content.model import TrackSpec
from courseware.domain.credential import (
    AchievementInfo,
    EvidenceInfo,
    IssuerInfo,
    SubjectInfo,
    achievement_document,
    build_credential,
    profile_document,
    quiz_result,
    quiz_result_description,
    rubric_result_description,
    rubric_results,
)
from courseware.domain.statuses import CheckOutcome, ContentKind, StatusPurpose
from courseware.domain.vcjwt import CredentialError
from courseware.models import Certificate, ContentVersion, Grade
from courseware.services import catalogue, certificates, keys, status_lists

# How long a verifier may keep a status list before fetching it again (Cache-Control and ttl).
STATUS_LIST_MAX_AGE = 300
# The largest credential /verify and the command line accept (ours: about 50 KB for the
# whole course).
MAX_CREDENTIAL_BYTES = 64 * 1024


@dataclass(frozen=True)
class Issuer:
    """The deployment as an issuer: its address and name."""

    base_url: str
    name: str

    @property
    def id(self) -> str:
        return f"{self.base_url}/issuer"

    @property
    def info(self) -> IssuerInfo:
        return IssuerInfo(id=self.id, name=self.name, url=self.base_url,
                          description="Trains and certifies peer mentors; programs verify its "
                                      "certificates before matching mentors with anyone.")

    def track_url(self, slug: str) -> str:
        return f"{self.base_url}/tracks/{slug}"

    def credential_id(self, code: str) -> str:
        return f"{self.base_url}/verify/{code}"


def issuer_profile(issuer: Issuer) -> dict[str, Any]:
    return profile_document(issuer.info)


# --- the achievement -------------------------------------------------------------------------

def _criteria(spec: TrackSpec) -> str:
    requirements = spec.requirements
    return (f"Read {len(requirements.modules)} training modules, pass each module's quiz "
            f"({len(requirements.quizzes)} quizzes, each at its pass mark) and pass "
            f"{len(requirements.roleplays)} written role-plays graded by trainers against a "
            "rubric: a role-play passes when its points reach the rubric's pass share, every "
            "critical criterion reaches the level that meets the standard and no criterion "
            "sits below its floor.")


def _version(session: Session, version_id: object) -> ContentVersion | None:
    return session.get(ContentVersion, version_id) if isinstance(version_id, int) else None


def _result_descriptions(session: Session, spec: TrackSpec, url: str,
                         evidence: Mapping[str, Any], descriptors: bool
                         ) -> tuple[dict[str, Any], ...]:
    """One per quiz (Percent) and one per graded role-play (RubricCriterionLevel) the track
    asks for, from the version the holder was assessed on (else the current one). Level
    descriptors only where asked: the achievement's URL serves them, credentials leave them
    out to stay small."""
    described: list[dict[str, Any]] = []
    for slug in spec.requirements.quizzes:
        version = _version(session, evidence.get(f"quiz:{slug}", {}).get("quiz_version_id"))
        current = catalogue.item(session, ContentKind.QUIZ, slug)
        version = version or (current.version if current else None)
        if version is not None:
            quiz = catalogue.quiz_spec(version)
            described.append(quiz_result_description(url, slug, quiz.title, quiz.pass_percent))
    for slug in spec.requirements.roleplays:
        version = _version(session, evidence.get(f"roleplay:{slug}", {})
                           .get("roleplay_version_id"))
        current = catalogue.item(session, ContentKind.ROLEPLAY, slug)
        version = version or (current.version if current else None)
        if version is not None:
            roleplay = catalogue.roleplay_spec(version)
            described.append(rubric_result_description(url, slug, roleplay.title,
                                                       roleplay.rubric, descriptors=descriptors))
    return tuple(described)


def _achievement_info(session: Session, spec: TrackSpec, url: str,
                      evidence: Mapping[str, Any], *, manual: bool = False,
                      descriptors: bool = False) -> AchievementInfo:
    criteria = _criteria(spec)
    if manual:
        criteria += " This certificate was issued in recognition of prior learning."
    return AchievementInfo(url=url, title=spec.title, description=spec.description,
                           criteria=criteria,
                           result_descriptions=_result_descriptions(session, spec, url, evidence,
                                                                    descriptors))


def achievement(session: Session, issuer: Issuer, slug: str) -> dict[str, Any] | None:
    """The Achievement a track's URL answers a machine: its criteria and possible results."""
    current = catalogue.item(session, ContentKind.TRACK, slug)
    if current is None:
        return None
    spec = catalogue.track_spec(current.version)
    return achievement_document(
        _achievement_info(session, spec, issuer.track_url(slug), {}, descriptors=True),
        issuer.info)


# --- the credential of a certificate ---------------------------------------------------------

def _results(session: Session, spec: TrackSpec, url: str,
             evidence: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The holder's results, read from the attempts and grades the certificate rests on."""
    results: list[dict[str, Any]] = []
    for slug in spec.requirements.quizzes:
        passed = evidence.get(f"quiz:{slug}")
        if isinstance(passed, Mapping) and isinstance(passed.get("percent"), int | float):
            results.append(quiz_result(url, slug, float(passed["percent"])))
    for slug in spec.requirements.roleplays:
        graded = evidence.get(f"roleplay:{slug}")
        if not isinstance(graded, Mapping):
            continue
        grade = session.get(Grade, graded.get("grade_id"))
        version = _version(session, graded.get("roleplay_version_id"))
        if grade is not None and version is not None:
            rubric = catalogue.roleplay_spec(version).rubric
            results.extend(rubric_results(url, slug, rubric, grade.levels))
    return results


def _evidence(session: Session, cert: Certificate, issuer: Issuer,
              evidence: Mapping[str, Any]) -> list[EvidenceInfo]:
    """The activities the certificate rests on, by name: never what the learner wrote."""
    titles = catalogue.titles(session)
    items: list[EvidenceInfo] = []
    for key, facts in evidence.items():
        kind, _, slug = key.partition(":")
        title = titles.get((kind, slug), slug)
        when = str(facts.get("at") or facts.get("read_at") or "")[:10] \
            if isinstance(facts, Mapping) else ""
        on = f" on {when}" if when else ""
        if kind == "module":
            items.append(EvidenceInfo(f"Module read: {title}", f"Marked as read{on}.", "Module"))
        elif kind == "quiz":
            items.append(EvidenceInfo(f"Quiz passed: {title}",
                                      f"Passed at or above the pass mark{on}.", "Quiz"))
        elif kind == "roleplay":
            items.append(EvidenceInfo(
                f"Role-play passed: {title}",
                f"A written role-play, graded by a trainer against the rubric, passed{on}.",
                "Role-play"))
        elif kind == "manual":
            items.append(EvidenceInfo(
                "Recognition of prior learning",
                "Issued by an administrator on evidence of prior learning, without the "
                "course's own assessments.", "Recognition of prior learning"))
    previous = cert.previous
    if previous is not None:
        items.append(EvidenceInfo(
            f"Earlier certificate {format_code(previous.code)}",
            f"This credential renews the certificate issued on {previous.issued_at:%Y-%m-%d} "
            f"and valid until {previous.expires_at:%Y-%m-%d}.",
            "Renewal", id=issuer.credential_id(previous.code)))
    return items


def _first_award(cert: Certificate) -> datetime:
    first = cert
    while first.previous is not None:
        first = first.previous
    return first.issued_at


def credential_document(session: Session, cert: Certificate, issuer: Issuer,
                        salt: str | None = None) -> dict[str, Any]:
    """What the certificate's credential says, unsigned. Allocates its status-list position if
    it somehow has none (flushes; the caller commits)."""
    spec = catalogue.track_spec(cert.track_version)
    url = issuer.track_url(cert.track.slug)
    evidence = cert.evidence
    position = status_lists.position_of(session, cert)
    if position is None:
        position = status_lists.allocate(session, cert)
    return build_credential(
        credential_id=issuer.credential_id(cert.code),
        issuer=issuer.info,
        achievement_info=_achievement_info(session, spec, url, evidence, manual=cert.manual),
        subject=SubjectInfo(id=cert.holder.subject_id, name=cert.holder_name,
                            email=cert.holder.email),
        salt=salt if salt is not None else secrets.token_hex(16),
        valid_from=cert.issued_at,
        valid_until=cert.expires_at,
        awarded=_first_award(cert),
        results=_results(session, spec, url, evidence),
        evidence=_evidence(session, cert, issuer, evidence),
        status=statuslist.entry(status_lists.list_url(issuer.base_url, StatusPurpose.REVOCATION),
                                StatusPurpose.REVOCATION, position),
    )


def signed_credential(session: Session, cert: Certificate, issuer: Issuer,
                      signer: keys.Signer, now: datetime) -> str:
    return vcjwt.sign_credential(credential_document(session, cert, issuer),
                                 signer.private_key,
                                 kid=keys.kid_url(issuer.base_url, signer.thumbprint), now=now)


def status_list_token(session: Session, purpose: StatusPurpose, issuer: Issuer,
                      signer: keys.Signer, now: datetime) -> str:
    """The signed BitstringStatusListCredential of one purpose, as it stands now."""
    listed = status_lists.encoded_list(session, purpose)
    document = statuslist.status_list_credential(
        list_url=status_lists.list_url(issuer.base_url, purpose),
        issuer={"id": issuer.id, "type": ["Profile"], "name": issuer.name},
        purpose=purpose, encoded_list=listed.encoded, valid_from=vcjwt.iso_z(now),
        ttl_seconds=STATUS_LIST_MAX_AGE)
    return vcjwt.sign_credential(document, signer.private_key,
                                 kid=keys.kid_url(issuer.base_url, signer.thumbprint), now=now)


# --- checking a credential someone holds -----------------------------------------------------

@dataclass(frozen=True)
class Check:
    topic: str
    outcome: CheckOutcome
    message: str


@dataclass
class CredentialReport:
    """Each step of checking a credential, in plain words, and what the credential says."""

    checks: list[Check] = field(default_factory=list)
    holder: str | None = None
    achievement: str | None = None
    issuer_name: str | None = None
    valid_from: str | None = None
    valid_until: str | None = None
    credential_id: str | None = None
    results: list[tuple[str, str]] = field(default_factory=list)
    revoked: bool = False
    suspended: bool = False

    def add(self, topic: str, outcome: CheckOutcome, message: str) -> None:
        self.checks.append(Check(topic, outcome, message))

    @property
    def verdict(self) -> CheckOutcome:
        """Failed if any step failed; passed only when every step passed; else unknown."""
        outcomes = {check.outcome for check in self.checks}
        if CheckOutcome.FAILED in outcomes:
            return CheckOutcome.FAILED
        if outcomes == {CheckOutcome.PASSED}:
            return CheckOutcome.PASSED
        return CheckOutcome.UNKNOWN


def _text(value: object, limit: int = 300) -> str:
    """A value from an untrusted token, as short printable text."""
    text = value if isinstance(value, str) else json.dumps(value)[:limit]
    return "".join(c for c in text if c.isprintable())[:limit]


def _describe(report: CredentialReport, credential: Mapping[str, Any]) -> None:
    """What a verified credential says: holder, achievement, dates, results."""
    subject = credential.get("credentialSubject")
    subject = subject if isinstance(subject, Mapping) else {}
    names = [i.get("identityHash") for i in subject.get("identifier", []) or []
             if isinstance(i, Mapping) and i.get("identityType") == "name"
             and i.get("hashed") is False]
    report.holder = _text(names[0]) if names else None
    achieved = subject.get("achievement")
    achieved = achieved if isinstance(achieved, Mapping) else {}
    report.achievement = _text(achieved.get("name")) if achieved.get("name") else None
    issuer = credential.get("issuer")
    report.issuer_name = _text(issuer.get("name")) if isinstance(issuer, Mapping) else None
    report.valid_from = _text(credential.get("validFrom")) if credential.get("validFrom") else None
    report.valid_until = (_text(credential.get("validUntil"))
                          if credential.get("validUntil") else None)
    report.credential_id = _text(credential.get("id")) if credential.get("id") else None
    names_by_id: dict[str, str] = {}
    for description in achieved.get("resultDescription", []) or []:
        if not isinstance(description, Mapping):
            continue
        names_by_id[str(description.get("id"))] = _text(description.get("name"))
        for level in description.get("rubricCriterionLevel", []) or []:
            if isinstance(level, Mapping):
                names_by_id[str(level.get("id"))] = _text(level.get("name"))
    for result in subject.get("result", []) or []:
        if not isinstance(result, Mapping):
            continue
        what = names_by_id.get(str(result.get("resultDescription")), "Result")
        if result.get("achievedLevel"):
            report.results.append((what, names_by_id.get(str(result["achievedLevel"]),
                                                         _text(result.get("value")))))
        else:
            report.results.append((what, f"{_text(result.get('value'))}%"))


def _status_entries(credential: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    status = credential.get("credentialStatus")
    listed = status if isinstance(status, list) else [status] if status is not None else []
    return [entry for entry in listed if isinstance(entry, Mapping)]


def _check_status(session: Session, report: CredentialReport, issuer: Issuer,
                  credential: Mapping[str, Any], now: datetime) -> None:
    entries = _status_entries(credential)
    if not entries:
        report.add("Status", CheckOutcome.UNKNOWN, "The credential carries no status list "
                   "entry, so whether it was revoked could not be checked.")
        return
    positions: dict[StatusPurpose, int] = {}
    for entry in entries:
        url = entry.get("statusListCredential")
        purpose = status_lists.purpose_of(issuer.base_url, url) if isinstance(url, str) else None
        if purpose is None:
            report.add("Status", CheckOutcome.UNKNOWN,
                       f"A status entry points at {_text(url, 120)!r}, which is not a status "
                       "list of this issuer; it was not fetched, so it was not checked.")
            continue
        index = entry.get("statusListIndex")
        if (entry.get("type") != "BitstringStatusListEntry"
                or entry.get("statusPurpose") != purpose.value
                or not isinstance(index, str) or not index.isdecimal() or len(index) > 9):
            report.add("Status", CheckOutcome.FAILED, "A status entry naming this issuer's "
                       f"{purpose.value} list is malformed (type, purpose or position).")
            continue
        positions[purpose] = int(index)
    if not positions:
        return
    # the suspension list holds every certificate at its revocation position too
    position = positions.get(StatusPurpose.REVOCATION, positions.get(StatusPurpose.SUSPENSION))
    assert position is not None
    cert = status_lists.certificate_at(session, StatusPurpose.REVOCATION, position)
    if cert is None or issuer.credential_id(cert.code) != credential.get("id"):
        report.add("Status", CheckOutcome.FAILED, f"Position {position} of this issuer's status "
                   "lists does not belong to this credential: it was not issued as shown.")
        return
    report.revoked = status_lists.bit(session, StatusPurpose.REVOCATION, position)
    report.suspended = status_lists.bit(session, StatusPurpose.SUSPENSION, position)
    record = certificates.public_record(cert, now, issuer.base_url)
    if report.revoked:
        report.add("Status", CheckOutcome.FAILED,
                   f"Revoked: the issuer withdrew this credential for good (revocation list, "
                   f"position {position}). Reason given: {record['revocation_reason']}")
    elif report.suspended:
        report.add("Status", CheckOutcome.FAILED,
                   f"Suspended: the issuer has put this credential on hold (suspension list, "
                   f"position {position}); it does not count until it is reinstated. Reason "
                   f"given: {record['revocation_reason']}")
    else:
        report.add("Status", CheckOutcome.PASSED,
                   f"Not revoked and not suspended: position {position} is clear in this "
                   "issuer's revocation and suspension lists, as of now.")


def _check_validity(report: CredentialReport, verified: vcjwt.Verified) -> None:
    until = report.valid_until
    if verified.expired:
        report.add("Validity", CheckOutcome.FAILED,
                   f"Expired: it was valid from {report.valid_from} until {until}.")
    else:
        report.add("Validity", CheckOutcome.PASSED,
                   f"In its validity period: from {report.valid_from}"
                   + (f" until {until}." if until else ", with no end date."))


def check(session: Session, token: str, issuer: Issuer, now: datetime,
          jwks: object = None) -> CredentialReport:
    """Check a VC-JWT someone holds, step by step; never raises for what is in the token.

    Our own credentials are checked against our keys and our status lists, in this process.
    `jwks` (the command line's --jwks, parsed JSON) supplies the keys instead, for an offline
    check."""
    report = CredentialReport()
    token = token.strip()
    if not token:
        report.add("Format", CheckOutcome.FAILED, "Nothing was given: paste a credential (the "
                   "text of a .jwt file) or choose the file.")
        return report
    if len(token.encode("utf-8", "replace")) > MAX_CREDENTIAL_BYTES:
        report.add("Format", CheckOutcome.FAILED, "This is larger than 64 KiB: no credential "
                   "of this issuer is that large, so it was not read.")
        return report
    try:
        header = vcjwt.read_header(token)
        claims = vcjwt.unverified_claims(token)
    except CredentialError as exc:
        topic = "Key" if exc.step == "key" else "Format"
        report.add(topic, CheckOutcome.FAILED, f"Not a credential that can be trusted: {exc}.")
        return report
    report.add("Format", CheckOutcome.PASSED,
               f"A signed JSON Web Token ({header['alg']}), the Open Badges 3.0 VC-JWT format.")
    kid = str(header["kid"])
    claimed_issuer = _text(claims.get("iss"), 200)
    if jwks is not None:
        listed = jwks.get("keys") if isinstance(jwks, Mapping) else None
        jwk = next((k for k in listed or [] if isinstance(k, Mapping) and k.get("kid") == kid),
                   None)
        if jwk is None:
            report.add("Key", CheckOutcome.FAILED, f"The key {_text(kid, 200)!r} is not in the "
                       "key set given.")
            return report
        report.add("Key", CheckOutcome.PASSED, f"Signed with {_text(kid, 200)}, from the key "
                   "set given.")
    else:
        thumbprint = keys.thumbprint_of(issuer.base_url, kid)
        if thumbprint is None:
            report.add("Key", CheckOutcome.UNKNOWN,
                       f"Signed with a key published at {_text(kid, 200)!r}, which is not this "
                       "site's: nothing was fetched from there, so the signature was not "
                       "checked.")
            report.add("Issuer", CheckOutcome.UNKNOWN,
                       f"Issued by another issuer ({claimed_issuer or 'unnamed'}), not by "
                       f"{issuer.name} ({issuer.id}). Check it with that issuer.")
            return report
        found = keys.public_jwk(session, issuer.base_url, thumbprint)
        if found is None:
            report.add("Key", CheckOutcome.FAILED,
                       f"It names a key of this site ({thumbprint[:43]}) that does not exist: "
                       f"{issuer.name} did not sign it.")
            return report
        jwk = found
        report.add("Key", CheckOutcome.PASSED,
                   f"Signed with {issuer.name}'s key {thumbprint}, published at {kid}.")
    try:
        verified = vcjwt.verify_credential(token, jwk, now=now)
    except CredentialError as exc:
        topic = {"key": "Key", "signature": "Signature", "claims": "Signature",
                 "validity": "Validity"}.get(exc.step, "Format")
        report.add(topic, CheckOutcome.FAILED, f"{str(exc)[:1].upper()}{str(exc)[1:]}.")
        return report
    report.add("Signature", CheckOutcome.PASSED, "The signature matches: nothing in the "
               "credential was changed after it was signed.")
    _describe(report, verified.credential)
    iss = verified.claims.get("iss")
    if iss == issuer.id:
        report.add("Issuer", CheckOutcome.PASSED, f"Issued by {issuer.name} ({issuer.id}).")
        _check_status(session, report, issuer, verified.credential, now)
    elif jwks is not None:
        report.add("Issuer", CheckOutcome.UNKNOWN, f"Issued by {_text(iss, 200)}, whose keys "
                   "were given; not this site's credential.")
        report.add("Status", CheckOutcome.UNKNOWN, "Its status lists belong to another issuer: "
                   "they were not fetched, so revocation could not be checked.")
    else:
        report.add("Issuer", CheckOutcome.FAILED, f"Signed with this site's key but naming "
                   f"another issuer ({_text(iss, 200)}).")
    _check_validity(report, verified)
    return report

