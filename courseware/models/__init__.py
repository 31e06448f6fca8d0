"""Typed models, one file per area; import them from here."""

from courseware.models.base import Base, UTCDateTime
from courseware.models.certificates import Certificate, CertificateEvidence
from courseware.models.content import ContentItem, ContentVersion
from courseware.models.grading import Grade, Submission
from courseware.models.learning import ModuleFeedback, ModuleRead, QuizAnswer, QuizAttempt
from courseware.models.users import (
    AuditEvent,
    LoginThrottle,
    Passkey,
    RecoveryCode,
    TotpSecret,
    User,
    UserSession,
)

__all__ = [
    "AuditEvent", "Base", "Certificate",
    "CertificateEvidence", "ContentItem", "ContentVersion", "Grade", "LoginThrottle",
    "ModuleFeedback", "ModuleRead", "Passkey", "QuizAnswer", "QuizAttempt", "RecoveryCode",
    "Submission", "TotpSecret", "UTCDateTime", "User", "UserSession",
]
