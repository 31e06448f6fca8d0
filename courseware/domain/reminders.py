"""Which reminder a certificate is due, and which mail a person may turn off."""

from __future__ import annotations

from datetime import datetime, timedelta

from courseware.domain.statuses import MailTopic, MessageKind

# mail a person can turn off; everything else is about their account or something that
# happened to their work, and is always sent
TOPIC_OF: dict[MessageKind, MailTopic] = {
    MessageKind.RENEWAL_OPEN: MailTopic.REMINDERS,
    MessageKind.EXPIRES_IN_30_DAYS: MailTopic.REMINDERS,
    MessageKind.EXPIRES_IN_7_DAYS: MailTopic.REMINDERS,
    MessageKind.CERTIFICATE_EXPIRED: MailTopic.REMINDERS,
    MessageKind.GRADING_DIGEST: MailTopic.DIGESTS,
}

SOON, VERY_SOON = timedelta(days=30), timedelta(days=7)
# an expiry notice later than this is no longer news (say, on the first run after an upgrade)
EXPIRED_NOTICE_WITHIN = timedelta(days=7)


def reminder_due(expires_at: datetime, window_days: int | None, now: datetime
                 ) -> MessageKind | None:
    """The one reminder a certificate is due now, the most pressing first.

    Each is sent at most once per certificate (the outbox's constraint), so a daily run sends
    the renewal notice when the window opens, then 30 days before expiry, then 7, then on
    expiry; a run that missed a stage sends only the stage it has reached.
    """
    if now >= expires_at:
        return MessageKind.CERTIFICATE_EXPIRED if now - expires_at <= EXPIRED_NOTICE_WITHIN \
            else None
    left = expires_at - now
    if left <= VERY_SOON:
        return MessageKind.EXPIRES_IN_7_DAYS
    if left <= SOON:
        return MessageKind.EXPIRES_IN_30_DAYS
    if window_days is not None and left <= timedelta(days=window_days):
        return MessageKind.RENEWAL_OPEN
    return None
