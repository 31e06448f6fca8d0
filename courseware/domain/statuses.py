"""Every status and kind the system stores, named once.

Models build their CHECK constraints from these, rules compare against them and templates
receive them, so a typo is an error at import time instead of a silent mismatch. They are
StrEnums: each member *is* its text, so stored values, JSON and templates read unchanged.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    LEARNER = "learner"
    TRAINER = "trainer"
    ADMIN = "admin"


STAFF_ROLES = (Role.TRAINER, Role.ADMIN)


class ContentKind(StrEnum):
    MODULE = "module"
    QUIZ = "quiz"
    ROLEPLAY = "roleplay"
    TRACK = "track"


class QuestionKind(StrEnum):
    SINGLE = "single"
    MULTIPLE = "multiple"
    TRUE_FALSE = "true_false"


class SubmissionStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    MODERATION = "moderation"
    RETURNED = "returned"
    PASSED = "passed"


OPEN_SUBMISSION_STATUSES = (
    SubmissionStatus.DRAFT, SubmissionStatus.SUBMITTED, SubmissionStatus.MODERATION,
)
WAITING_SUBMISSION_STATUSES = (SubmissionStatus.SUBMITTED, SubmissionStatus.MODERATION)


class SubmissionMode(StrEnum):
    WRITTEN = "written"
    LIVE = "live"


class LiveFormat(StrEnum):
    IN_PERSON = "in_person"
    PHONE = "phone"
    VIDEO = "video"


class GradeKind(StrEnum):
    GRADE = "grade"
    MODERATION = "moderation"
    AMENDMENT = "amendment"


class Outcome(StrEnum):
    """What a rubric grade decides for the learner."""

    PASSED = "passed"
    RETURNED = "returned"


class ModerationDecision(StrEnum):
    CONFIRMED = "confirmed"
    OVERTURNED = "overturned"


class CertificateStatus(StrEnum):
    """Computed when read, in this order of precedence: revoked > expired > suspended > valid."""

    VALID = "valid"
    SUSPENDED = "suspended"
    EXPIRED = "expired"
    REVOKED = "revoked"


class CertificateChange(StrEnum):
    """What an admin (or the command line) may do to an issued certificate."""

    REVOKE = "revoke"
    SUSPEND = "suspend"
    REINSTATE = "reinstate"

    @property
    def past(self) -> str:
        return {"revoke": "revoked", "suspend": "suspended", "reinstate": "reinstated"}[self]


class Standing(StrEnum):
    """Where a mentor stands on the roster."""

    ELIGIBLE = "eligible"
    EXPIRING = "expiring"
    LAPSED = "lapsed"


class Channel(StrEnum):
    """How an outbox message leaves the system (webhooks come with issue #19)."""

    MAIL = "mail"
    WEBHOOK = "webhook"


class MessageKind(StrEnum):
    """What an outbox message says. At most one per (recipient, kind, subject key)."""

    # account security: always sent, never unsubscribable
    PASSWORD_RESET = "password_reset"  # noqa: S105 (a kind of message, not a password)
    CONFIRM_ADDRESS = "confirm_address"
    ADDRESS_TAKEN = "address_taken"
    ADDRESS_CHANGED = "address_changed"
    # what happened to the learner's work and certificates
    ROLEPLAY_GRADED = "roleplay_graded"
    CERTIFICATE_ISSUED = "certificate_issued"
    CERTIFICATE_SUSPENDED = "certificate_suspended"
    CERTIFICATE_REINSTATED = "certificate_reinstated"
    CERTIFICATE_REVOKED = "certificate_revoked"
    # reminders (a learner may turn them off)
    RENEWAL_OPEN = "renewal_open"
    EXPIRES_IN_30_DAYS = "expires_in_30_days"
    EXPIRES_IN_7_DAYS = "expires_in_7_days"
    CERTIFICATE_EXPIRED = "certificate_expired"
    # trainers
    MODERATION_NEEDED = "moderation_needed"
    GRADING_DIGEST = "grading_digest"  # a trainer may turn it off


class MailTopic(StrEnum):
    """The mail a person may turn off (their account page, or one click in the message)."""

    REMINDERS = "reminders"
    DIGESTS = "digests"


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # waiting for a job (new, or after a failure that will be retried)
    SENDING = "sending"  # claimed by a job until its lease ends
    SENT = "sent"
    FAILED = "failed"  # given up: refused for good by the server, or too old to retry


class TokenPurpose(StrEnum):
    """What an emailed link lets its holder do, once."""

    RESET = "reset"  # choose a new password
    CONFIRM = "confirm"  # confirm an address (at registration, or a change of address)


TEMPLATE_ENUMS: tuple[type[StrEnum], ...] = (
    Role, ContentKind, QuestionKind, SubmissionStatus, SubmissionMode, LiveFormat, GradeKind,
    Outcome, ModerationDecision, CertificateStatus, CertificateChange, Standing,
    Channel, MessageKind, MailTopic, DeliveryStatus,
)


def sql_in(column: str, members: type[StrEnum] | tuple[StrEnum, ...]) -> str:
    """`column IN ('a', 'b')` for a CHECK constraint or partial index, from the enum itself."""
    values = ", ".join(f"'{member.value}'" for member in members)
    return f"{column} IN ({values})"
