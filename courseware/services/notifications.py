"""What to tell whom when something happens to a learner's work or certificate.

Each function records outbox messages in the caller's transaction (see services.outbox), so
the message exists if and only if the change does. Mail goes only to active accounts with a
confirmed address: an unconfirmed address may belong to someone else. Reminders and digests
(the mail a person can turn off) are in services.reminders.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from courseware.domain.codes import format_code
from courseware.domain.statuses import (
    CertificateChange,
    GradeKind,
    MessageKind,
    Role,
    SubmissionStatus,
)
from courseware.models import Certificate, Grade, Submission, User
from courseware.services import catalogue, outbox


def mailable(user: User) -> bool:
    """Whether news may be mailed to this account: active, and its address confirmed."""
    return user.active and user.email_confirmed_at is not None


def roleplay_graded(session: Session, submission: Submission, grade: Grade,
                    now: datetime) -> None:
    """A grade was saved: the learner hears the outcome once it is decided (not while a second
    trainer must moderate it); the other trainers hear at once that a critical fail needs them."""
    title = catalogue.roleplay_spec(submission.roleplay_version).title
    if grade.needs_moderation:
        _moderation_needed(session, submission, grade, title, now)
        return
    outcome_decided(session, submission, grade, now)


def outcome_decided(session: Session, submission: Submission, grade: Grade,
                    now: datetime, *, moderated: bool = False) -> None:
    """The learner hears the outcome the deciding grade gave, once the submission shows it
    (`moderated`: a second trainer's decision settled it)."""
    if submission.status not in (SubmissionStatus.PASSED, SubmissionStatus.RETURNED):
        return
    title = catalogue.roleplay_spec(submission.roleplay_version).title
    learner = submission.learner
    if not mailable(learner):
        return
    outbox.add(session, kind=MessageKind.ROLEPLAY_GRADED, recipient=learner.email,
               subject_key=f"grade:{grade.id}", user_id=learner.id, now=now, payload={
                   "name": learner.name, "roleplay": title, "outcome": str(grade.outcome),
                   "amended": grade.kind is GradeKind.AMENDMENT,
                   "moderated": moderated or grade.kind is GradeKind.MODERATION,
                   "submission_id": submission.id})


def _moderation_needed(session: Session, submission: Submission, grade: Grade, title: str,
                       now: datetime) -> None:
    """Every trainer who may moderate (not the first grader, not the learner); when no other
    trainer exists, the admins, so a critical fail never waits unseen."""
    excluded = (grade.grader_id, submission.learner_id)
    trainers = _staff(session, Role.TRAINER, excluded) or _staff(session, Role.ADMIN, excluded)
    for trainer in trainers:
        outbox.add(session, kind=MessageKind.MODERATION_NEEDED, recipient=trainer.email,
                   subject_key=f"grade:{grade.id}", user_id=trainer.id, now=now, payload={
                       "name": trainer.name, "roleplay": title,
                       "grader": grade.grader.name, "submission_id": submission.id})


def _staff(session: Session, role: Role, excluded: tuple[int, ...]) -> list[User]:
    people = session.scalars(select(User).where(User.role == role, User.id.not_in(excluded))
                             .order_by(User.id))
    return [person for person in people if mailable(person)]


def certificate_facts(cert: Certificate) -> dict[str, object]:
    """What every message about a certificate says."""
    return {"name": cert.holder_name, "code": cert.code, "code_display": format_code(cert.code),
            "track": str(catalogue.version_data(cert.track_version)["title"]),
            "expires_at": cert.expires_at.isoformat()}


def certificate_issued(session: Session, cert: Certificate, now: datetime) -> None:
    holder = session.get(User, cert.user_id)
    if holder is None or not mailable(holder):
        return
    outbox.add(session, kind=MessageKind.CERTIFICATE_ISSUED, recipient=holder.email,
               subject_key=f"certificate:{cert.code}", user_id=holder.id, now=now,
               payload={**certificate_facts(cert), "renewal": cert.previous_id is not None})


CHANGE_KINDS = {
    CertificateChange.SUSPEND: MessageKind.CERTIFICATE_SUSPENDED,
    CertificateChange.REINSTATE: MessageKind.CERTIFICATE_REINSTATED,
    CertificateChange.REVOKE: MessageKind.CERTIFICATE_REVOKED,
}


def certificate_changed(session: Session, cert: Certificate, change: CertificateChange,
                        reason: str, now: datetime) -> None:
    """Suspended, reinstated or revoked, with the reason. A certificate can be suspended and
    reinstated more than once, so each change is its own subject (its time)."""
    holder = session.get(User, cert.user_id)
    if holder is None or not mailable(holder):
        return
    subject = (f"certificate:{cert.code}" if change is CertificateChange.REVOKE
               else f"certificate:{cert.code}:{now.isoformat()}")
    outbox.add(session, kind=CHANGE_KINDS[change], recipient=holder.email, subject_key=subject,
               user_id=holder.id, now=now,
               payload={**certificate_facts(cert), "reason": reason.strip() or None})
