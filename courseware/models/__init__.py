"""Typed models, one file per area; import them from here."""

from .base import Base, UTCDateTime
from .certificates import Certificate, CertificateEvidence
from .content import CONTENT_KINDS, ContentItem, ContentVersion
from .grading import SUBMISSION_STATUSES, Grade, Submission
from .learning import ModuleFeedback, ModuleRead, QuizAnswer, QuizAttempt
from .users import ROLES, AuditEvent, LoginThrottle, User

__all__ = [
    "CONTENT_KINDS", "ROLES", "SUBMISSION_STATUSES", "AuditEvent", "Base", "Certificate",
    "CertificateEvidence", "ContentItem", "ContentVersion", "Grade", "LoginThrottle",
    "ModuleFeedback", "ModuleRead", "QuizAnswer", "QuizAttempt", "Submission", "UTCDateTime",
    "User",
]
