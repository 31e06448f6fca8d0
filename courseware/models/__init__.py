"""Typed models, one file per area; import them from here."""

from courseware.models.base import Base, UTCDateTime
from courseware.models.certificates import Certificate, CertificateEvidence
from courseware.models.content import ContentItem, ContentVersion
from courseware.models.grading import Grade, Submission
from courseware.models.learning import ModuleFeedback, ModuleRead, QuizAnswer, QuizAttempt
from courseware.models.outbox import OutboxMessage
from courseware.models.users import AccountToken, AuditEvent, LoginThrottle, User

__all__ = [
    "AccountToken", "AuditEvent", "Base", "Certificate",
    "CertificateEvidence", "ContentItem", "ContentVersion", "Grade", "LoginThrottle",
    "ModuleFeedback", "ModuleRead", "OutboxMessage", "QuizAnswer", "QuizAttempt", "Submission",
    "UTCDateTime", "User",
]
