"""The periodic mail: certificate reminders (daily) and the trainers' digest (daily).

Both can run any number of times a day, on any number of workers: each message is recorded at
most once per (recipient, kind, subject) by the outbox's constraint. Both respect the person's
choice (their account page, or the one-click link in the message) and are recorded only for
active accounts with a confirmed address.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from courseware.domain.certify import renewal_opens_at
from courseware.domain.reminders import EXPIRED_NOTICE_WITHIN, SOON, reminder_due
from courseware.domain.statuses import (
    ContentKind,
    MessageKind,
    Role,
    SubmissionStatus,
)
from courseware.models import Certificate, User
from courseware.services import catalogue, grading, notifications, outbox, webhooks

DIGEST_LIMIT = 5000  # a digest counts at most this many waiting submissions


def certificate_reminders(session: Session, now: datetime) -> int:
    """Record each certificate's due reminder (renewal window open, 30 and 7 days before expiry,
    expired); how many were recorded. Revoked, suspended and renewed certificates get none.
    The programs following a certificate hear of its expiry by webhook in the same transaction
    (services.webhooks.expiry_events)."""
    webhooks.expiry_events(session, now)
    windows = [catalogue.track_spec(c.version).renewal for c in
               catalogue.items(session, ContentKind.TRACK)]
    horizon = max([SOON, *(timedelta(days=r.window_days) for r in windows if r)])
    renewed = select(Certificate.previous_id).where(Certificate.previous_id.is_not(None))
    candidates = session.scalars(
        select(Certificate)
        .where(Certificate.revoked_at.is_(None), Certificate.suspended_at.is_(None),
               Certificate.expires_at > now - EXPIRED_NOTICE_WITHIN,
               Certificate.expires_at <= now + horizon, Certificate.id.not_in(renewed))
        .order_by(Certificate.id))
    recorded = 0
    for cert in candidates:
        renewal = catalogue.track_spec(cert.track_version).renewal
        kind = reminder_due(cert.expires_at, renewal.window_days if renewal else None, now)
        holder = cert.holder
        if kind is None or not notifications.mailable(holder) or not holder.mail_reminders:
            continue
        facts = notifications.certificate_facts(cert)
        if renewal is not None:
            facts["renewal_opens_at"] = renewal_opens_at(cert.expires_at,
                                                         renewal.window_days).isoformat()
        if outbox.add(session, kind=kind, recipient=holder.email,
                      subject_key=f"certificate:{cert.code}", user_id=holder.id, now=now,
                      payload={**facts, "can_renew": renewal is not None}) is not None:
            recorded += 1
    return recorded


def trainer_digests(session: Session, now: datetime) -> int:
    """One message a day to each trainer with work waiting that they may grade (only when there
    is some): how many role-plays wait, for moderation among them, and since when."""
    recorded = 0
    day = now.date().isoformat()
    for trainer in session.scalars(select(User).where(User.role == Role.TRAINER,
                                                      User.mail_digests)
                                   .order_by(User.id)):
        if not notifications.mailable(trainer):
            continue
        # a daily job: the whole queue this trainer may take, not one page of it
        waiting = grading.queue(session, trainer, per_page=DIGEST_LIMIT).items
        if not waiting:
            continue
        oldest = min(s.submitted_at or s.created_at for s in waiting)
        by_roleplay: dict[str, int] = {}
        for submission in waiting:
            title = catalogue.roleplay_spec(submission.roleplay_version).title
            by_roleplay[title] = by_roleplay.get(title, 0) + 1
        if outbox.add(session, kind=MessageKind.GRADING_DIGEST, recipient=trainer.email,
                      subject_key=f"digest:{day}", user_id=trainer.id, now=now, payload={
                          "name": trainer.name, "count": len(waiting),
                          "moderation": sum(1 for s in waiting
                                            if s.status is SubmissionStatus.MODERATION),
                          "oldest": oldest.isoformat(), "by_roleplay": sorted(
                              by_roleplay.items())}) is not None:
            recorded += 1
    return recorded
