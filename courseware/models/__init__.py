"""Typed models, one file per area; import them from here."""

from courseware.models.base import Base, UTCDateTime
from courseware.models.certificates import Certificate, CertificateEvidence
from courseware.models.content import CONTENT_KINDS, ContentItem, ContentVersion
from courseware.models.grading import SUBMISSION_STATUSES, Grade, Submission
from courseware.models.learning import ModuleFeedback, ModuleRead, QuizAnswer, QuizAttempt
from courseware.models.users import ROLES, AuditEvent, LoginThrottle, User

__all__ = [
    "CONTENT_KINDS", "ROLES", "SUBMISSION_STATUSES", "AuditEvent", "Base", "Certificate",
    "CertificateEvidence", "ContentItem", "ContentVersion", "Grade", "LoginThrottle",
    "ModuleFeedback", "ModuleRead", "QuizAnswer", "QuizAttempt", "Submission", "UTCDateTime",
    "User",
]
