"""Mail, without Flask: the message as data, its templates, and what a sender must do.

The web layer adapts flask-mailman to `MailSender` (courseware.web.mail); jobs render and send
(courseware.tasks). Templates live in `templates/mail/`: `<kind>.txt` sets the subject with
`{% set subject = "..." %}` and is the plain-text body; `<kind>.html` is the HTML body.
"""

from __future__ import annotations

import re
import smtplib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from itsdangerous import BadSignature, URLSafeSerializer
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from courseware.domain.statuses import MailTopic


@dataclass(frozen=True)
class OutgoingMail:
    to: str
    subject: str
    text: str
    html: str
    message_id: str
    headers: Mapping[str, str] = field(default_factory=dict)


class MailSender(Protocol):
    """Sends one message or raises; `is_permanent` tells a refusal from an outage."""

    def send(self, mail: OutgoingMail) -> None: ...


def is_permanent(exc: BaseException) -> bool:
    """Whether retrying cannot help: the server refused the message or its recipient for good
    (an SMTP 5xx). Connection failures, time-outs and 4xx answers are worth another attempt."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _message in exc.recipients.values()]
        return bool(codes) and all(500 <= code < 600 for code in codes)
    if isinstance(exc, smtplib.SMTPResponseException):
        return 500 <= exc.smtp_code < 600
    return False


def describe_error(exc: BaseException) -> str:
    """One line for the delivery log: what went wrong, never the message itself."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        answers = "; ".join(f"{code} {message.decode(errors='replace')}"
                            for code, message in exc.recipients.values())
        return f"recipient refused: {answers}"[:500]
    if isinstance(exc, smtplib.SMTPResponseException):
        message = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) \
            else str(exc.smtp_error)
        return f"SMTP {exc.smtp_code}: {message}"[:500]
    return f"{type(exc).__name__}: {exc}"[:500]


@dataclass(frozen=True)
class RenderedMail:
    subject: str
    text: str
    html: str


def _day(moment: datetime | str) -> str:
    value = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    return f"{value.day} {value:%B %Y}"


class MailTemplates:
    """Renders `templates/mail/<kind>.txt` and `.html` with plain Jinja (no request needed)."""

    def __init__(self, templates_root: Path) -> None:
        self.env = Environment(
            loader=FileSystemLoader(templates_root / "mail"),
            autoescape=select_autoescape(enabled_extensions=("html",), default=False),
            undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        self.env.filters["day"] = _day

    def render(self, kind: str, context: Mapping[str, Any]) -> RenderedMail:
        text_template = self.env.get_template(f"{kind}.txt")
        module = text_template.make_module(dict(context))
        subject = " ".join(str(getattr(module, "subject", "")).split())
        if not subject:
            raise ValueError(f"mail/{kind}.txt sets no subject")
        html = self.env.get_template(f"{kind}.html").render(dict(context), subject=subject)
        text = re.sub(r"\n{3,}", "\n\n", str(module)).strip() + "\n"
        return RenderedMail(subject, text, html)


class Unsubscribe:
    """The signed, login-free token of a one-click unsubscribe link (RFC 8058)."""

    SALT = "courseware.unsubscribe"

    def __init__(self, secret_key: str) -> None:
        self._serializer = URLSafeSerializer(secret_key, salt=self.SALT)

    def token(self, user_id: int, topic: MailTopic) -> str:
        return self._serializer.dumps([user_id, topic.value])

    def read(self, token: str) -> tuple[int, MailTopic] | None:
        try:
            user_id, topic = self._serializer.loads(token)
            return int(user_id), MailTopic(topic)
        except (BadSignature, ValueError, TypeError):
            return None
