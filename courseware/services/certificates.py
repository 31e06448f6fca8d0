"""Issuing, renewing, revoking and suspending certificates; the record programs verify."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple, Protocol

from sqlalchemy import Engine, bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, object_session

from courseware.domain import certify
from courseware.domain.codes import MalformedCode, format_code, generate_code, parse_code
from courseware.domain.content.model import TrackSpec
from courseware.domain.statuses import (
    CertificateChange,
    CertificateStatus,
    ContentKind,
    PublicReason,
)
from courseware.infra import metrics
from courseware.infra.db import DirectRead
from courseware.models import (
    Certificate,
    CertificateEvidence,
    ContentItem,
    ModuleRead,
    QuizAttempt,
    User,
)
from courseware.services import (
    audit,
    catalogue,
    grading,
    notifications,
    outbox,
    status_lists,
    webhooks,
)
from courseware.services.pages import Page, page_of
from courseware.services.sql import rows_updated


class CertificateError(ValueError):
    """A request the certificate rules refuse; the message is safe to show."""


@dataclass(frozen=True)
class IssueContext:
    """What issuing needs from the deployment, passed in so this module stays Flask-free."""

    base_url: str
    issuer_name: str
    certificates_dir: Path

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> IssueContext:
        """From the app's configuration (a plain mapping: no Flask needed here)."""
        return cls(
            base_url=config["BASE_URL"],
            issuer_name=config["ISSUER_NAME"],
            certificates_dir=Path(config["CONTENT_ROOT"]) / "certificates",
        )

    def verify_url(self, code: str) -> str:
        return f"{self.base_url}/verify/{code}"


# --- what the learner has done --------------------------------------------------------------

def learner_record(session: Session, user: User, since: datetime | None = None
                   ) -> certify.LearnerRecord:
    modules = {
        slug: {"read_at": read_at.isoformat()}
        for slug, read_at in session.execute(
            select(ContentItem.slug, ModuleRead.read_at)
            .join(ModuleRead, ModuleRead.module_id == ContentItem.id)
            .where(ModuleRead.user_id == user.id))
    }
    quizzes: dict[str, dict[str, Any]] = {}
    stmt = (select(ContentItem.slug, QuizAttempt)
            .join(QuizAttempt, QuizAttempt.quiz_id == ContentItem.id)
            .where(QuizAttempt.user_id == user.id, QuizAttempt.passed.is_(True)))
    if since is not None:
        stmt = stmt.where(QuizAttempt.submitted_at >= since)
    for slug, attempt in session.execute(stmt):
        best = quizzes.get(slug)
        if best is None or (attempt.percent or 0) > best["percent"]:  # the best attempt counts
            quizzes[slug] = {"attempt_id": attempt.id, "percent": attempt.percent,
                             "quiz_version_id": attempt.quiz_version_id,
                             "at": attempt.submitted_at.isoformat() if attempt.submitted_at
                             else None}
    roleplays: dict[str, dict[str, Any]] = {}
    for slug, submission in grading.passed_roleplays(session, user).items():
        grade = grading.visible_grade(submission)  # the grade that decided it
        if grade is None or (since is not None and grade.created_at < since):
            continue
        roleplays[slug] = {"submission_id": submission.id, "grade_id": grade.id,
                           "roleplay_version_id": submission.roleplay_version_id,
                           "at": grade.created_at.isoformat()}
    return certify.LearnerRecord(modules, quizzes, roleplays)


@dataclass(frozen=True)
class TrackProgress:
    current: catalogue.Current
    spec: TrackSpec
    evaluation: certify.Evaluation
    certificate: Certificate | None
    status: str | None
    renewal: certify.Evaluation | None
    renewal_opens_at: datetime | None

    @property
    def renewal_open(self) -> bool:
        return self.renewal is not None


def latest_certificate(session: Session, user: User, track: ContentItem) -> Certificate | None:
    return session.scalar(
        select(Certificate).where(Certificate.user_id == user.id, Certificate.track_id == track.id)
        .order_by(Certificate.cycle.desc()).limit(1))


def held_by(session: Session, user: User) -> list[Certificate]:
    """Every certificate this person was issued, newest first."""
    return list(session.scalars(select(Certificate).where(Certificate.user_id == user.id)
                                .order_by(Certificate.issued_at.desc())))


def track_progress(session: Session, user: User, now: datetime) -> list[TrackProgress]:
    titles = catalogue.titles(session)
    record = learner_record(session, user)
    progress = []
    for current in catalogue.items(session, ContentKind.TRACK):
        spec = catalogue.track_spec(current.version)
        cert = latest_certificate(session, user, current.item)
        status = cert_status(cert, now) if cert else None
        renewal = opens = None
        if cert and spec.renewal and status is not CertificateStatus.REVOKED:
            opens = certify.renewal_opens_at(cert.expires_at, spec.renewal.window_days)
            if now >= opens:
                renewal = certify.evaluate(spec.renewal.requirements,
                                           learner_record(session, user, since=opens), titles)
        progress.append(TrackProgress(current, spec, certify.evaluate(spec.requirements, record,
                                                                      titles),
                                      cert, status, renewal, opens))
    return progress


# --- issuing --------------------------------------------------------------------------------

def issue_earned(session: Session, user: User, now: datetime, ctx: IssueContext, *,
                 actor: audit.Actor, cause: dict[str, Any]) -> list[Certificate]:
    """Issue every certificate (or renewal) the learner has just earned, in this transaction.

    `actor` is whoever completed the last requirement (the trainer whose grade passed the
    role-play, the learner whose quiz passed) and `cause` names what they did; both go into
    the audit log, so the certificate's history says how it came to be.

    Nothing is issued to an unconfirmed address: confirming it issues what was earned
    (services.account_email.confirm)."""
    if user.email_confirmed_at is None:
        return []
    issued = []
    for progress in track_progress(session, user, now):
        cert = progress.certificate
        if cert is None and progress.evaluation.complete:
            new = _issue(session, user, progress.current, progress.spec, cycle=1,
                         evidence=progress.evaluation.evidence(), now=now, ctx=ctx,
                         actor=actor, cause=cause)
        elif cert is not None and progress.renewal is not None and progress.renewal.complete:
            new = _issue(session, user, progress.current, progress.spec, cycle=cert.cycle + 1,
                         evidence=progress.renewal.evidence(), now=now, ctx=ctx, previous=cert,
                         actor=actor, cause=cause)
        else:
            continue
        if new is not None:
            issued.append(new)
    return issued


def manual_issue(session: Session, actor: audit.Actor, user: User, track_slug: str, reason: str,
                 now: datetime, ctx: IssueContext) -> Certificate:
    """Recognition of prior learning: an admin issues without the usual requirements."""
    reason = reason.strip()
    if not reason:
        raise CertificateError("Give a reason for issuing a certificate by hand.")
    if user.email_confirmed_at is None:
        raise CertificateError(f"{user.name} has not confirmed their email address yet: a "
                               "certificate can be issued once they have.")
    current = catalogue.item(session, ContentKind.TRACK, track_slug)
    if current is None:
        raise CertificateError(f"There is no track '{track_slug}'.")
    spec = catalogue.track_spec(current.version)
    latest = latest_certificate(session, user, current.item)
    if latest is not None and cert_status(latest, now) in (CertificateStatus.VALID,
                                                            CertificateStatus.SUSPENDED):
        raise CertificateError(f"{user.name} already holds a current certificate for "
                               f"{spec.title} ({format_code(latest.code)}).")
    cert = _issue(session, user, current, spec, cycle=(latest.cycle + 1) if latest else 1,
                  evidence={"manual": {"reason": reason}}, now=now, ctx=ctx, previous=latest,
                  manual_reason=reason, actor=actor, cause={"manual": True})
    if cert is None:
        raise CertificateError("A certificate was issued at the same moment. Reload and check.")
    return cert


def _issue(session: Session, user: User, current: catalogue.Current, spec: TrackSpec, *,
           cycle: int, evidence: dict[str, Any], now: datetime, ctx: IssueContext,
           actor: audit.Actor, cause: dict[str, Any],
           previous: Certificate | None = None, manual_reason: str | None = None,
           ) -> Certificate | None:
    for _ in range(3):  # a code collision is astronomically unlikely; retrying costs nothing
        cert = Certificate(
            code=generate_code(), user_id=user.id, track_id=current.item.id,
            track_version_id=current.version.id, cycle=cycle, holder_name=user.name,
            issued_at=now, expires_at=certify.add_months(now, spec.valid_months),
            manual=manual_reason is not None, manual_reason=manual_reason,
            issued_by_id=audit.actor_id(actor),
            evidence_record=CertificateEvidence(evidence=evidence),
            previous_id=previous.id if previous else None,
        )
        try:
            with session.begin_nested():
                session.add(cert)
        except IntegrityError:
            # the (learner, track, cycle) constraint: another request issued it first
            if session.scalar(select(Certificate.id).where(
                    Certificate.user_id == user.id, Certificate.track_id == current.item.id,
                    Certificate.cycle == cycle)) is not None:
                return None
            continue
        status_lists.allocate(session, cert)  # its random place in the public status lists
        metrics.count_on_commit(session, metrics.CERTIFICATES_ISSUED,
                                manual="yes" if cert.manual else "no")
        audit.record(
            session, actor=actor, action="certificate.issue", target_type="certificate",
            target_id=cert.code, target_label=user.email, reason=manual_reason,
            details={"track": current.item.slug, "cycle": cycle, "manual": cert.manual,
                     "renewal_of": previous.code if previous else None, "cause": cause},
        )
        # the PDF is rendered by a job once this commits (or on demand, if asked for first)
        outbox.after_commit(session, outbox.RENDER_PDF, cert.id)
        notifications.certificate_issued(session, cert, now)
        if previous is not None:  # the programs following the one it renews follow it now
            webhooks.certificate_renewed(session, cert, previous, now)
        session.flush()
        return cert
    raise CertificateError("Could not allocate a certificate code.")


def render_pdf(cert: Certificate, ctx: IssueContext) -> bytes:
    """The certificate as a PDF (about 0.2-0.4 s of WeasyPrint: never on a grading request)."""
    from courseware.domain.pdf import CertificatePrint, render_certificate_pdf

    spec = catalogue.track_spec(cert.track_version)
    return render_certificate_pdf(
        CertificatePrint(
            holder_name=cert.holder_name, track_title=spec.title,
            issued_on=cert.issued_at.date(), expires_on=cert.expires_at.date(),
            code_display=format_code(cert.code), verify_url=ctx.verify_url(cert.code),
            issuer_name=ctx.issuer_name, manual=cert.manual,
        ),
        ctx.certificates_dir,
    )


def store_pdf(session: Session, certificate_id: int, pdf: bytes) -> bytes:
    """Keep the first PDF rendered for a certificate; the stored one is what it returns (a job
    and a download may render the same certificate at once: one of them is kept, for good)."""
    rows_updated(session, update(Certificate)
                 .where(Certificate.id == certificate_id, Certificate.pdf_sha256.is_(None))
                 .values(pdf=pdf, pdf_sha256=hashlib.sha256(pdf).hexdigest())
                 .execution_options(synchronize_session=False))
    stored = session.scalar(select(Certificate.pdf).where(Certificate.id == certificate_id))
    assert stored is not None, f"certificate {certificate_id} has no PDF after storing one"
    return stored


def stored_pdf(session: Session, certificate_id: int) -> bytes | None:
    return session.scalar(select(Certificate.pdf).where(Certificate.id == certificate_id))


def without_pdf(session: Session, issued_before: datetime, since: datetime,
                limit: int = 50) -> list[int]:
    """Certificates issued in [since, issued_before) whose PDF was never stored (their job was
    lost): the sweep renders them."""
    return list(session.scalars(
        select(Certificate.id).where(Certificate.pdf_sha256.is_(None),
                                     Certificate.issued_at < issued_before,
                                     Certificate.issued_at >= since)
        .order_by(Certificate.id).limit(limit)))


# --- status and changes -----------------------------------------------------------------------

class CertificateFacts(Protocol):
    """What a certificate's public record is made of: a Certificate, or a row of its table
    (the verify API reads one without building the mapped object)."""

    @property
    def code(self) -> str: ...
    @property
    def track_id(self) -> int: ...
    @property
    def track_version_id(self) -> int: ...
    @property
    def holder_name(self) -> str: ...
    @property
    def issued_at(self) -> datetime: ...
    @property
    def expires_at(self) -> datetime: ...
    @property
    def revoked_at(self) -> datetime | None: ...
    @property
    def revocation_public_reason(self) -> PublicReason | None: ...
    @property
    def revocation_public_text(self) -> str | None: ...
    @property
    def suspended_at(self) -> datetime | None: ...
    @property
    def suspension_public_reason(self) -> PublicReason | None: ...
    @property
    def suspension_public_text(self) -> str | None: ...


def cert_status(cert: CertificateFacts, now: datetime) -> CertificateStatus:
    return certify.status(now=now, expires_at=cert.expires_at, revoked_at=cert.revoked_at,
                          suspended_at=cert.suspended_at)


def grants_eligibility(cert: Certificate) -> bool:
    session = object_session(cert)
    assert session is not None
    return catalogue.track_facts(session, cert.track_id, cert.track_version_id)[2]


def is_eligible(cert: Certificate, now: datetime) -> bool:
    return certify.eligible(cert_status(cert, now), grants_eligibility(cert))


def user_eligible(session: Session, user: User, now: datetime) -> bool:
    certs = session.scalars(select(Certificate).where(Certificate.user_id == user.id))
    return certify.mentor_eligible((cert_status(c, now), grants_eligibility(c)) for c in certs)


# built once: the verify API's lookup is the hottest statement there is, and building the
# expression cost as much as running it
_BY_CODE = select(Certificate).where(Certificate.code == bindparam("code"))


def find(session: Session, code: str) -> Certificate | None:
    return session.scalar(_BY_CODE, {"code": code})


def search(session: Session, text: str, page: int) -> Page[Certificate]:
    """Newest first; `text` is a code (any spelling `parse_code` reads) or part of a name."""
    statement = select(Certificate).order_by(Certificate.issued_at.desc(), Certificate.id.desc())
    if text:
        try:
            statement = statement.where(Certificate.code == parse_code(text))
        except MalformedCode:
            like = f"%{text.replace('%', '').replace('_', '')}%"
            statement = statement.where(Certificate.holder_name.ilike(like))
    return page_of(session, statement, page)


def change_state(session: Session, actor: audit.Actor, cert: Certificate,
                 change: CertificateChange, note: str, now: datetime, *,
                 public_reason: PublicReason | str | None = None,
                 public_text: str = "") -> None:
    """The one way to revoke, suspend or reinstate, for every caller (web, command line).

    `note` is the internal note: why, in full, for staff only (the audit log keeps it too).
    What programs see is `public_reason`, one of a short list, and the optional `public_text`,
    published word for word; a reinstatement publishes nothing. The public status lists change
    in the same transaction."""
    metrics.count_on_commit(session, metrics.CERTIFICATE_CHANGES, change=change.value)
    if change is CertificateChange.REINSTATE:
        reinstate(session, actor, cert, note)
    else:
        public = Publication.of(public_reason, public_text)
        if change is CertificateChange.REVOKE:
            revoke(session, actor, cert, note, now, public)
        else:
            suspend(session, actor, cert, note, now, public)
    status_lists.record_state(session, cert)
    notifications.certificate_changed(session, cert, change, note, now)
    webhooks.certificate_changed(session, cert, change, now)


PUBLIC_TEXT_MAX = 300


@dataclass(frozen=True)
class Publication:
    """What the verification page and the API say about a suspension or revocation."""

    reason: PublicReason | None
    text: str | None

    @classmethod
    def of(cls, reason: PublicReason | str | None, text: str = "") -> Publication:
        if reason is not None and reason not in set(PublicReason):
            raise CertificateError("Choose one of the listed public reasons.")
        text = " ".join(text.split())
        if len(text) > PUBLIC_TEXT_MAX:
            raise CertificateError(f"Keep the public text under {PUBLIC_TEXT_MAX} characters.")
        if any(not c.isprintable() for c in text):
            raise CertificateError("The public text contains characters that cannot be shown.")
        return cls(PublicReason(reason) if reason is not None else None, text or None)

    def sentence(self) -> str | None:
        """The reason as programs read it: "Conduct review", then any public text."""
        if self.reason is None:
            return self.text
        return f"{self.reason.label}. {self.text}" if self.text else self.reason.label


def _note(note: str) -> str:
    note = note.strip()
    if not note:
        raise CertificateError("Write the internal note: why, for the staff who read it later.")
    if len(note) > 1000:
        raise CertificateError("Keep the note under 1,000 characters.")
    return note


def _published(public: Publication) -> dict[str, Any]:
    return {"public_reason": public.reason, "public_text": public.text}


def revoke(session: Session, actor: audit.Actor, cert: Certificate, note: str,
           now: datetime, public: Publication = Publication(None, None)) -> None:
    if cert.revoked_at is not None:
        raise CertificateError("This certificate is already revoked.")
    cert.revoked_at, cert.revocation_note = now, _note(note)
    cert.revocation_public_reason, cert.revocation_public_text = public.reason, public.text
    cert.revoked_by_id = audit.actor_id(actor)
    session.flush()
    audit.record(session, actor=actor, action="certificate.revoke", target_type="certificate",
                 target_id=cert.code, target_label=cert.holder.email, reason=cert.revocation_note,
                 details=_published(public))


def suspend(session: Session, actor: audit.Actor, cert: Certificate, note: str,
            now: datetime, public: Publication = Publication(None, None)) -> None:
    if cert.revoked_at is not None:
        raise CertificateError("A revoked certificate cannot be suspended.")
    if cert.suspended_at is not None:
        raise CertificateError("This certificate is already suspended.")
    cert.suspended_at, cert.suspension_note = now, _note(note)
    cert.suspension_public_reason, cert.suspension_public_text = public.reason, public.text
    session.flush()
    audit.record(session, actor=actor, action="certificate.suspend", target_type="certificate",
                 target_id=cert.code, target_label=cert.holder.email, reason=cert.suspension_note,
                 details=_published(public))


def reinstate(session: Session, actor: audit.Actor, cert: Certificate, note: str = "") -> None:
    if cert.revoked_at is not None:
        raise CertificateError("A revoked certificate cannot be reinstated.")
    if cert.suspended_at is None:
        raise CertificateError("This certificate is not suspended.")
    previous = {"suspension_note": cert.suspension_note,
                "public_reason": cert.suspension_public_reason,
                "public_text": cert.suspension_public_text}
    cert.suspended_at = None
    cert.suspension_note = cert.suspension_public_reason = cert.suspension_public_text = None
    session.flush()
    audit.record(session, actor=actor, action="certificate.reinstate", target_type="certificate",
                 target_id=cert.code, target_label=cert.holder.email, reason=note or None,
                 details=previous)


def publication(cert: CertificateFacts, status: CertificateStatus) -> Publication | None:
    """What is published about the certificate's current status, if anything."""
    if status is CertificateStatus.REVOKED:
        return Publication(cert.revocation_public_reason, cert.revocation_public_text)
    if status is CertificateStatus.SUSPENDED and cert.suspended_at is not None:
        return Publication(cert.suspension_public_reason, cert.suspension_public_text)
    return None


def iso(moment: datetime | None) -> str | None:
    """UTC to the second, "2026-01-15T10:30:00Z" (isoformat: a C fast path, unlike strftime)."""
    return moment.isoformat(timespec="seconds")[:19] + "Z" if moment else None


_TABLE = Certificate.__table__
class PublicFacts(NamedTuple):
    """The columns of a certificate's public record (CertificateFacts), read without the
    mapped object."""

    code: str
    track_id: int
    track_version_id: int
    holder_name: str
    issued_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    revocation_public_reason: PublicReason | None
    revocation_public_text: str
    suspended_at: datetime | None
    suspension_public_reason: PublicReason | None
    suspension_public_text: str


_PUBLIC_BY_CODE = DirectRead(
    select(*(_TABLE.c[name] for name in PublicFacts._fields))
    .where(_TABLE.c.code == bindparam("code")), PublicFacts)


def public_record_of(engine: Engine, code: str, now: datetime,
                     base_url: str) -> dict[str, Any] | None:
    """The public record of the certificate with this (canonical) code, or None: what the verify
    API answers, read the cheapest way (one indexed row, no ORM session, no transaction: see
    DirectRead)."""
    facts = _PUBLIC_BY_CODE.first(engine, code=code)
    if facts is None:
        return None
    return _public_record(engine, facts, now, base_url)


def public_record(cert: Certificate, now: datetime, base_url: str) -> dict[str, Any]:
    """What a program may know: the API's certificate object. No email, no scores."""
    session = object_session(cert)
    assert session is not None
    return _public_record(session, cert, now, base_url)


def _public_record(source: Session | Engine, cert: CertificateFacts, now: datetime,
                   base_url: str) -> dict[str, Any]:
    status = cert_status(cert, now)
    slug, title, grants = catalogue.track_facts(source, cert.track_id, cert.track_version_id)
    # never the internal note: only the listed reason and the text written to be published
    public = publication(cert, status) or Publication(None, None)
    return {
        "code": cert.code,
        "status": status,
        "eligible": certify.eligible(status, grants),
        "holder": {"name": cert.holder_name},
        "track": {"slug": slug, "title": title},
        "issued_at": iso(cert.issued_at),
        "expires_at": iso(cert.expires_at),
        "revoked_at": iso(cert.revoked_at) if status is CertificateStatus.REVOKED else None,
        "revocation_reason": public.sentence(),
        "revocation_reason_code": public.reason,
        "revocation_public_text": public.text,
        "verify_url": f"{base_url}/verify/{cert.code}",
        "pdf_url": f"{base_url}/certificates/{cert.code}.pdf",
        "credential_url": f"{base_url}/certificates/{cert.code}/credential.jwt",
    }
