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
    # staff of a mentoring program (an organisation): they follow their mentors' certificates
    PROGRAM = "program"


STAFF_ROLES = (Role.TRAINER, Role.ADMIN)
# the roles an admin may give any account; a program login is made for its program
ASSIGNABLE_ROLES = (Role.LEARNER, Role.TRAINER, Role.ADMIN)


class ProgramStatus(StrEnum):
    """An organisation's account: requested through the public form, then approved (or not)."""

    REQUESTED = "requested"
    ACTIVE = "active"
    DECLINED = "declined"


class ApiScope(StrEnum):
    """What a program's API key may do."""

    VERIFY = "verify"
    ROSTER = "roster"
    WEBHOOKS = "webhooks"


class KeyCheck(StrEnum):
    """What presenting an API key gives: only a valid key acts."""

    VALID = "valid"
    UNKNOWN = "unknown"  # not well formed, or no key has this hash
    EXPIRED = "expired"
    REVOKED = "revoked"


class WatchOutcome(StrEnum):
    """What adding one code to a program's watch list did (the per-row report)."""

    ADDED = "added"
    ALREADY = "already"  # on the list before
    DUPLICATE = "duplicate"  # repeated earlier in the same list or upload
    NOT_FOUND = "not_found"  # well formed, but no certificate has it
    MALFORMED = "malformed"  # not a code (a typo the check symbol catches, or not one at all)


class WatchFilter(StrEnum):
    """The watch list's filters: eligible now, eligible but expiring within 30 days, not."""

    ELIGIBLE = "eligible"
    EXPIRING = "expiring"
    NOT_ELIGIBLE = "not_eligible"


class ContentKind(StrEnum):
    MODULE = "module"
    QUIZ = "quiz"
    ROLEPLAY = "roleplay"
    TRACK = "track"
    CALIBRATION = "calibration"  # a role-play's anchor responses, for calibrating trainers


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
    # graded once, selected for a blind second grade that has not been given yet
    DOUBLE_MARKING = "double_marking"


OPEN_SUBMISSION_STATUSES = (
    SubmissionStatus.DRAFT, SubmissionStatus.SUBMITTED, SubmissionStatus.MODERATION,
    SubmissionStatus.DOUBLE_MARKING,
)
WAITING_SUBMISSION_STATUSES = (SubmissionStatus.SUBMITTED, SubmissionStatus.MODERATION,
                               SubmissionStatus.DOUBLE_MARKING)


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
    DOUBLE_MARK = "double_mark"  # a blind, independent second grade of a sampled submission


# the grades a trainer gives without having seen another grade of the same submission
INDEPENDENT_GRADE_KINDS = (GradeKind.GRADE, GradeKind.DOUBLE_MARK, GradeKind.MODERATION)


class Outcome(StrEnum):
    """What a rubric grade decides for the learner."""

    PASSED = "passed"
    RETURNED = "returned"


class ModerationDecision(StrEnum):
    CONFIRMED = "confirmed"
    OVERTURNED = "overturned"


class ModerationCause(StrEnum):
    """Why a submission went to moderation."""

    CRITICAL = "critical"  # the first grade failed a critical criterion
    DISAGREEMENT = "disagreement"  # the two blind grades of a double-marked one disagree


class CalibrationStatus(StrEnum):
    IN_PROGRESS = "in_progress"
    PASSED = "passed"
    FAILED = "failed"


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


class PublicReason(StrEnum):
    """Why a certificate is suspended or revoked, as programs are told: a short, fixed list.

    What really happened goes in the internal note, which only staff read; a public reason
    never names a person, a complaint or anything that happened to someone."""

    ADMINISTRATIVE_HOLD = "administrative_hold"
    CONDUCT_REVIEW = "conduct_review"
    REQUIREMENTS_NOT_MET = "requirements_not_met"
    ISSUED_IN_ERROR = "issued_in_error"

    @property
    def label(self) -> str:
        return {"administrative_hold": "Administrative hold",
                "conduct_review": "Conduct review",
                "requirements_not_met": "Requirements no longer met",
                "issued_in_error": "Issued in error"}[self]


class Standing(StrEnum):
    """Where a mentor stands on the roster."""

    ELIGIBLE = "eligible"
    EXPIRING = "expiring"
    LAPSED = "lapsed"


class StatusPurpose(StrEnum):
    """What a set bit of a W3C Bitstring Status List means: one public list per purpose."""

    REVOCATION = "revocation"
    SUSPENSION = "suspension"


class SigningAlgorithm(StrEnum):
    """JOSE algorithms of the credential signing keys (OB 3.0 section 8.2 requires RS256)."""

    RS256 = "RS256"


class CheckOutcome(StrEnum):
    """One step of checking a credential someone pasted: passed, failed, or not checkable here."""

    PASSED = "passed"
    FAILED = "failed"
    UNKNOWN = "unknown"
class SecurityEvent(StrEnum):
    """Audit actions about accounts and access: kept for AUDIT_RETENTION_DAYS, then pruned
    (`flask --app app audit prune`); certificate history and other events are never pruned."""

    LOGIN = "login.success"
    LOGIN_FAILED = "login.failed"
    LOGIN_THROTTLED = "login.throttled"
    SECOND_FACTOR_FAILED = "login.second_factor_failed"
    PASSWORD_CHANGED = "password.change"  # noqa: S105 (an audit action, not a password)
    PASSWORD_CHECK_FAILED = "password.check_failed"  # noqa: S105
    SESSION_REVOKED = "session.revoke"
    OTHER_SESSIONS_REVOKED = "session.revoke_others"
    SECOND_FACTOR_ENROLLED = "second_factor.enrol"
    SECOND_FACTOR_REMOVED = "second_factor.remove"
    SECOND_FACTOR_RESET = "second_factor.reset"
    RECOVERY_CODE_USED = "second_factor.recovery_code_used"
    RECOVERY_CODES_RENEWED = "second_factor.recovery_codes"
    ACCESS_DENIED = "access.denied"


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
    # programs (issue #19): a webhook endpoint that kept failing was turned off (mail)
    WEBHOOK_DISABLED = "webhook_disabled"
    # programs: a new staff login chooses its password
    PROGRAM_WELCOME = "program_welcome"
    # webhook deliveries (channel webhook): one kind per event, see WebhookEvent
    WEBHOOK_SUSPENDED = "webhook.certificate.suspended"
    WEBHOOK_REINSTATED = "webhook.certificate.reinstated"
    WEBHOOK_REVOKED = "webhook.certificate.revoked"
    WEBHOOK_EXPIRING = "webhook.certificate.expiring"
    WEBHOOK_EXPIRED = "webhook.certificate.expired"
    WEBHOOK_RENEWED = "webhook.certificate.renewed"
    WEBHOOK_TEST = "webhook.test"


class WebhookEvent(StrEnum):
    """What a program's webhook endpoint may subscribe to (Standard Webhooks' `type`)."""

    SUSPENDED = "certificate.suspended"
    REINSTATED = "certificate.reinstated"
    REVOKED = "certificate.revoked"
    EXPIRING = "certificate.expiring"  # 30 days before expiry
    EXPIRED = "certificate.expired"
    RENEWED = "certificate.renewed"
    # sent only when program staff ask for it ("send a test event"); nobody subscribes to it
    TEST = "webhook.test"

    @property
    def message_kind(self) -> MessageKind:
        return MessageKind(f"webhook.{self.value}" if self is not WebhookEvent.TEST
                           else self.value)


SUBSCRIBABLE_EVENTS = tuple(e for e in WebhookEvent if e is not WebhookEvent.TEST)


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
    Outcome, ModerationDecision, ModerationCause, CalibrationStatus, CertificateStatus,
    CertificateChange, PublicReason, Standing, StatusPurpose, CheckOutcome, Channel,
    MessageKind, MailTopic, DeliveryStatus, WebhookEvent, ProgramStatus, ApiScope,
    WatchFilter, WatchOutcome,
)


def sql_in(column: str, members: type[StrEnum] | tuple[StrEnum, ...]) -> str:
    """`column IN ('a', 'b')` for a CHECK constraint or partial index, from the enum itself."""
    values = ", ".join(f"'{member.value}'" for member in members)
    return f"{column} IN ({values})"
