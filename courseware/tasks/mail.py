"""An outbox message as mail: its one link, its templates, its headers."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from courseware.domain.delivery import message_id
from courseware.domain.reminders import TOPIC_OF
from courseware.domain.statuses import MessageKind
from courseware.infra.mail import OutgoingMail, Unsubscribe
from courseware.services.outbox import Claimed
from courseware.tasks.environment import JobEnvironment

Payload = Mapping[str, Any]

# the one link that matters in each message (paths of the public routes, see README)
LINKS: dict[MessageKind, Callable[[Payload], str]] = {
    MessageKind.PASSWORD_RESET: lambda p: f"/account/reset/{p['token']}",
    MessageKind.ADDRESS_TAKEN: lambda p: f"/account/reset/{p['token']}",
    MessageKind.CONFIRM_ADDRESS: lambda p: f"/account/confirm/{p['token']}",
    MessageKind.ADDRESS_CHANGED: lambda p: "/login",
    MessageKind.ROLEPLAY_GRADED: lambda p: f"/submissions/{p['submission_id']}",
    MessageKind.CERTIFICATE_ISSUED: lambda p: f"/verify/{p['code']}",
    MessageKind.CERTIFICATE_SUSPENDED: lambda p: f"/verify/{p['code']}",
    MessageKind.CERTIFICATE_REINSTATED: lambda p: f"/verify/{p['code']}",
    MessageKind.CERTIFICATE_REVOKED: lambda p: f"/verify/{p['code']}",
    MessageKind.RENEWAL_OPEN: lambda p: "/profile",
    MessageKind.EXPIRES_IN_30_DAYS: lambda p: "/profile",
    MessageKind.EXPIRES_IN_7_DAYS: lambda p: "/profile",
    MessageKind.CERTIFICATE_EXPIRED: lambda p: "/profile",
    MessageKind.MODERATION_NEEDED: lambda p: f"/grade/submissions/{p['submission_id']}",
    MessageKind.GRADING_DIGEST: lambda p: "/grade/",
    MessageKind.WEBHOOK_DISABLED: lambda p: f"/program/webhooks/{p['endpoint_id']}",
    MessageKind.PROGRAM_WELCOME: lambda p: f"/account/reset/{p['token']}",
}


def unsubscribe_url(env: JobEnvironment, user_id: int, kind: MessageKind) -> str | None:
    topic = TOPIC_OF.get(kind)
    if topic is None:
        return None
    token = Unsubscribe(env.settings.secret_key).token(user_id, topic)
    return f"{env.settings.base_url}/account/unsubscribe/{token}"


def compose(env: JobEnvironment, message: Claimed) -> OutgoingMail:
    settings = env.settings
    unsubscribe = (unsubscribe_url(env, message.user_id, message.kind)
                   if message.user_id is not None else None)
    context = {
        **message.payload,
        "link": settings.base_url + LINKS[message.kind](message.payload),
        "base_url": settings.base_url, "issuer_name": settings.issuer_name,
        "unsubscribe_url": unsubscribe,
    }
    rendered = env.templates.render(message.kind, context)
    headers = {"Auto-Submitted": "auto-generated"}  # RFC 3834: no vacation replies, please
    if unsubscribe is not None:  # RFC 2369 and RFC 8058: one click, no login
        headers["List-Unsubscribe"] = f"<{unsubscribe}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    return OutgoingMail(
        to=message.recipient, subject=rendered.subject, text=rendered.text, html=rendered.html,
        message_id=message_id(message.id, message.recipient, message.kind,
                              message.subject_key, settings.mail_domain),
        headers=headers,
    )
