"""Programs: organisations with staff logins, made by an admin (or the command line), or
requested on the public form and approved or declined by an admin.

A new staff login has no password anyone knows: it is mailed a link to choose one (through the
outbox, in the same transaction). A public request answers the same whether or not the name
or address is known, so the form tells a visitor nothing about who has an account.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from courseware.domain.statuses import ProgramStatus, Role
from courseware.models import User
from courseware.models.programs import Program
from courseware.services import account_email, accounts, audit

NAME_MAX = 120
NOTE_MAX = 2000
_COUNTRY = re.compile(r"[A-Z]{2}")


class ProgramError(ValueError):
    """Input a program cannot be made from; `field` names the form field it concerns."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


class ProgramNotFound(LookupError):
    pass


def clean_name(name: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise ProgramError("Enter the program's name.", "name")
    if len(name) > NAME_MAX:
        raise ProgramError(f"Use at most {NAME_MAX} characters for the name.", "name")
    if not name.isprintable():
        raise ProgramError("The name contains characters that cannot be shown.", "name")
    return name


def clean_country(country: str) -> str:
    """An ISO 3166-1 alpha-2 code, upper case ("GB", "DE")."""
    value = country.strip().upper()
    if not _COUNTRY.fullmatch(value):
        raise ProgramError("Enter the country as its two-letter code (GB, DE, KE...).",
                           "country")
    return value


def _contact(email: str) -> str:
    try:
        return accounts.check_email(email)
    except accounts.AccountError as exc:
        raise ProgramError(str(exc), "contact_email") from None


def find(session: Session, program_id: int) -> Program | None:
    return session.get(Program, program_id)


def by_name(session: Session, name: str) -> Program | None:
    return session.scalar(select(Program).where(
        func.lower(Program.name) == " ".join(name.split()).lower()))


def _name_taken(session: Session, name: str) -> bool:
    return by_name(session, name) is not None


def create(session: Session, *, name: str, contact_email: str, country: str, staff_name: str,
           actor: audit.Actor, now: datetime) -> tuple[Program, User]:
    """An active program and its first staff login, for the contact address (mailed a link
    to choose its password)."""
    name = clean_name(name)
    program = Program(name=name, contact_email=_contact(contact_email),
                      country=clean_country(country), status=ProgramStatus.ACTIVE,
                      created_at=now, decided_at=now)
    if _name_taken(session, name):
        raise ProgramError("A program with this name exists already.", "name")
    _insert(session, program)
    audit.record(session, actor=actor, action="program.create", target_type="program",
                 target_id=program.id, target_label=program.name,
                 details={"country": program.country})
    staff = add_staff(session, program, email=program.contact_email, name=staff_name,
                      actor=actor, now=now)
    return program, staff


def _insert(session: Session, program: Program) -> None:
    try:
        with session.begin_nested():
            session.add(program)
            session.flush()  # generate program.id
    except IntegrityError:  # made a moment ago by a concurrent request
        raise ProgramError("A program with this name exists already.", "name") from None


def add_staff(session: Session, program: Program, *, email: str, name: str,
              actor: audit.Actor, now: datetime) -> User:
    """A staff login of an active program, mailed a link to choose its password."""
    if program.status is not ProgramStatus.ACTIVE:
        raise ProgramError("Only an active program has staff logins.")
    try:
        user = accounts.create_user(
            session, email=email, name=name or program.name,
            # nobody knows this password: the person chooses theirs through the mailed link
            password=secrets.token_urlsafe(32), role=Role.PROGRAM, program_id=program.id)
    except accounts.AccountError as exc:
        field = {"email": "email", "name": "staff_name"}.get(exc.field or "")
        message = str(exc)
        if exc.field == "email" and "could not create" in message:
            message = "This address already has an account. Use another address for the login."
        raise ProgramError(message, field) from None
    account_email.send_welcome(session, user, program.name, now)
    audit.record(session, actor=actor, action="program.staff_add", target_type="user",
                 target_id=user.id, target_label=user.email,
                 details={"program_id": program.id, "program": program.name})
    return user


@dataclass(frozen=True)
class RequestReceived:
    """What the requester is told: always the same (a request, or nothing new)."""

    recorded: bool


def request(session: Session, *, name: str, contact_email: str, country: str,
            requester_name: str, note: str, now: datetime) -> RequestReceived:
    """A visitor asks for a program account. Recorded for an admin to decide, unless the
    name is taken (then nothing happens); the page answers the same either way."""
    name = clean_name(name)
    contact = _contact(contact_email)
    country = clean_country(country)
    requester = " ".join(requester_name.split())
    if not requester or len(requester) > accounts.NAME_MAX or not requester.isprintable():
        raise ProgramError("Enter your name (at most 120 characters).", "requester_name")
    note = note.strip()
    if not note:
        raise ProgramError("Say in a sentence or two what your program runs.", "note")
    if len(note) > NOTE_MAX:
        raise ProgramError(f"Use at most {NOTE_MAX} characters.", "note")
    if _name_taken(session, name):
        return RequestReceived(False)
    program = Program(name=name, contact_email=contact, country=country,
                      status=ProgramStatus.REQUESTED,
                      request_note=f"Requested by {requester}.\n\n{note}", created_at=now)
    try:
        _insert(session, program)
    except ProgramError:
        return RequestReceived(False)
    return RequestReceived(True)


def decide(session: Session, program: Program, *, approve: bool, staff_name: str,
           actor: audit.Actor, now: datetime) -> User | None:
    """Approve a request (the program becomes active; its contact address gets the first
    staff login) or decline it. Only a waiting request can be decided."""
    if program.status is not ProgramStatus.REQUESTED:
        raise ProgramError("This request was decided already.")
    program.status = ProgramStatus.ACTIVE if approve else ProgramStatus.DECLINED
    program.decided_at = now
    session.flush()
    audit.record(session, actor=actor,
                 action="program.approve" if approve else "program.decline",
                 target_type="program", target_id=program.id, target_label=program.name)
    if not approve:
        return None
    return add_staff(session, program, email=program.contact_email,
                     name=staff_name or program.name, actor=actor, now=now)


@dataclass(frozen=True)
class ProgramRow:
    program: Program
    staff: int


def listing(session: Session) -> Sequence[ProgramRow]:
    """Every program, requests waiting first (oldest first), then by name; with its staff count.
    Two statements whatever the number of programs."""
    waiting = case((Program.status == ProgramStatus.REQUESTED, 0), else_=1)
    programs = session.scalars(select(Program).order_by(
        waiting, case((Program.status == ProgramStatus.REQUESTED, Program.created_at)),
        func.lower(Program.name))).all()
    counts = dict(session.execute(
        select(User.program_id, func.count()).where(User.program_id.is_not(None))
        .group_by(User.program_id)).all())
    return [ProgramRow(p, int(counts.get(p.id, 0))) for p in programs]


def staff_of(session: Session, program_id: int) -> Sequence[User]:
    return session.scalars(select(User).where(User.program_id == program_id)
                           .order_by(User.name)).all()
