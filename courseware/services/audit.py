"""The audit log: every privileged action goes through `record`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, delete, or_, select
from sqlalchemy.orm import Session

from courseware.domain.statuses import SecurityEvent
from courseware.infra import context
from courseware.models import AuditEvent, User
from courseware.services.pages import Page, page_of
from courseware.services.sql import rows_updated


@dataclass(frozen=True)
class CommandLine:
    """An operator at the server's command line: no account, but a real, deliberate actor."""

    label: str = "command line"


COMMAND_LINE = CommandLine()


@dataclass(frozen=True)
class Visitor:
    """Someone on the web who has not (yet) proved who they are: a failed login, a refusal.
    The event's target names the account they tried, and its client address where from."""

    label: str = "visitor (not logged in)"


VISITOR = Visitor()


@dataclass(frozen=True)
class ApiClient:
    """A program's integration, acting with one of its API keys: no person, but a known key
    (its visible prefix) of a known program, so the log says which key did what."""

    key_id: int
    label: str

    @classmethod
    def of(cls, key_id: int, prefix: str, program_name: str) -> ApiClient:
        return cls(key_id, f"API key {prefix} of {program_name}"[:300])

# Who caused an event. There is no default: every caller names its actor, so nothing done on the
# web can be recorded as done at the command line (or by nobody).
Actor = User | CommandLine | Visitor | ApiClient

# where a request session's events come from: the web layer sets it when it opens the session
CLIENT_ADDRESS = "client_address"


def actor_label(actor: Actor) -> str:
    if isinstance(actor, CommandLine | Visitor | ApiClient):
        return actor.label
    return f"{actor.name} <{actor.email}>"


def actor_id(actor: Actor) -> int | None:
    return None if isinstance(actor, CommandLine | Visitor | ApiClient) else actor.id


def record(
    session: Session,
    *,
    actor: Actor,
    action: str,
    target_type: str,
    target_id: object = None,
    target_label: str | None = None,
    reason: str | None = None,
    details: dict[str, Any] | None = None,
    client: str | None = None,
) -> AuditEvent:
    """One event; `client` defaults to the address the web layer put on the session's info."""
    event = AuditEvent(
        actor_id=actor_id(actor),
        actor_label=actor_label(actor),
        action=action,
        target_type=target_type,
        target_id=str(target_id) if target_id is not None else None,
        target_label=target_label,
        reason=reason,
        details=details or {},
        request_id=context.request_id(),
        client_address=(client or session.info.get(CLIENT_ADDRESS) or None),
    )
    session.add(event)
    session.flush()
    return event


def search(session: Session, page: int, **filters: Any) -> Page[AuditEvent]:
    """One page of the log, newest first, filtered as `query` describes."""
    return page_of(session, query(**filters), page)


def facets(session: Session) -> tuple[Sequence[str], Sequence[str]]:
    """The actions and target types present in the log, for the filter form."""
    actions = session.scalars(select(AuditEvent.action).distinct().order_by(AuditEvent.action))
    types = session.scalars(select(AuditEvent.target_type).distinct()
                            .order_by(AuditEvent.target_type))
    return actions.all(), types.all()


def history(session: Session, target_type: str, target_id: str) -> Sequence[AuditEvent]:
    """Everything recorded about one thing, newest first."""
    return session.scalars(select(AuditEvent).where(AuditEvent.target_type == target_type,
                                                    AuditEvent.target_id == target_id)
                           .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())).all()


SECURITY_ACTIONS = tuple(event.value for event in SecurityEvent)


def query(
    *,
    action: str | None = None,
    actor: str | None = None,
    target_type: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    about: str | None = None,
    client: str | None = None,
    security: bool = False,
) -> Select[AuditEvent]:
    """Newest first. `actor` and `about` match part of who acted and what it was about (an
    account's address, a certificate); `client` an address's start; `security` keeps the
    security events (logins, refusals, second factors, passwords, sessions)."""
    stmt = select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    if action:
        stmt = stmt.where(AuditEvent.action == action)
    if security:
        stmt = stmt.where(AuditEvent.action.in_(SECURITY_ACTIONS))
    if about:
        like = f"%{_escape_like(about)}%"
        stmt = stmt.where(or_(AuditEvent.target_label.ilike(like, escape="\\"),
                              AuditEvent.target_id.ilike(like, escape="\\")))
    if client:
        stmt = stmt.where(AuditEvent.client_address.like(f"{_escape_like(client)}%",
                                                         escape="\\"))
    if actor:
        stmt = stmt.where(AuditEvent.actor_label.ilike(f"%{_escape_like(actor)}%", escape="\\"))
    if target_type:
        stmt = stmt.where(AuditEvent.target_type == target_type)
    if since:
        stmt = stmt.where(AuditEvent.at >= since)
    if until:
        stmt = stmt.where(AuditEvent.at < until)
    return stmt


def prune(session: Session, before: datetime, *, actor: Actor) -> int:
    """Delete security events older than `before` (retention); never certificate history or any
    other event. Records how many went."""
    count = rows_updated(session, delete(AuditEvent).where(
        AuditEvent.action.in_(SECURITY_ACTIONS), AuditEvent.at < before))
    record(session, actor=actor, action="audit.prune", target_type="audit",
           details={"deleted": count, "before": before.isoformat()})
    return count


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
