"""Typed models, one file per area; import them from here."""

from courseware.models.base import Base, UTCDateTime
from courseware.models.calibration import CalibrationAnswer, CalibrationRun
from courseware.models.certificates import Certificate, CertificateEvidence
from courseware.models.content import CatalogueRevision, ContentItem, ContentVersion
from courseware.models.credentials import SigningKey, StatusEntry
from courseware.models.grading import Grade, Moderation, Submission
from courseware.models.learning import ModuleFeedback, ModuleRead, QuizAnswer, QuizAttempt
from courseware.models.outbox import OutboxMessage
from courseware.models.programs import ApiKey, Program, RosterEntry
from courseware.models.users import (
    AccountToken,
    AuditEvent,
    LoginThrottle,
    Passkey,
    RecoveryCode,
    TotpSecret,
    User,
    UserSession,
)
from courseware.models.webhooks import WebhookAttempt, WebhookEndpoint

__all__ = [
    "AccountToken", "ApiKey", "AuditEvent", "Base", "CalibrationAnswer", "CalibrationRun",
    "CatalogueRevision",
    "Certificate", "CertificateEvidence", "ContentItem", "ContentVersion", "Grade",
    "LoginThrottle", "Moderation", "ModuleFeedback", "ModuleRead", "OutboxMessage", "Passkey",
    "Program", "QuizAnswer", "QuizAttempt", "RecoveryCode", "RosterEntry", "SigningKey",
    "StatusEntry", "Submission", "TotpSecret", "UTCDateTime", "User", "UserSession",
    "WebhookAttempt", "WebhookEndpoint",
]
