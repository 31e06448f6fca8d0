"""Accounts by email: registration that reveals nothing, confirming an address, resetting a
password by link, changing one's address, and the mail a person chooses to receive.

Every link is a single-use token (courseware.domain.tokens) stored hashed; the message that
carries it is recorded in the same transaction (services.outbox). What a visitor sees never
depends on whether an address has an account: registration always says "check your email",
and so does a reset request; the mailbox learns the difference, the visitor does not.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from courseware.domain import tokens
from courseware.domain.statuses import MailTopic, MessageKind, TokenPurpose
from courseware.models import AccountToken, Certificate, User
from courseware.services import accounts, audit, certificates, outbox, sessions
from courseware.services.accounts import AccountError
from courseware.services.sql import rows_updated

TTL = {TokenPurpose.RESET: timedelta(hours=1), TokenPurpose.CONFIRM: timedelta(days=7)}


class LinkInvalid(Exception):
    """The link is unknown, expired, already used, or no longer valid (a password or address
    changed since it was sent): one answer for all, so a guess learns nothing."""


def _issue_token(session: Session, user: User, purpose: TokenPurpose, email: str,
                 now: datetime, ttl: timedelta | None = None) -> tuple[AccountToken, str]:
    raw, digest = tokens.new_token()
    token = AccountToken(
        user_id=user.id, purpose=purpose, token_hash=digest, email=email,
        password_fingerprint=(tokens.password_fingerprint(user.password_hash)
                              if purpose is TokenPurpose.RESET else None),
        created_at=now, expires_at=now + (ttl or TTL[purpose]),
    )
    session.add(token)
    session.flush()  # generate token.id: the message's subject
    return token, raw


def valid_token(session: Session, raw: str, purpose: TokenPurpose, now: datetime
                ) -> AccountToken | None:
    """The unused, unexpired token of this purpose, still valid for its account, or None."""
    if not tokens.well_formed(raw):
        return None
    token = session.scalar(select(AccountToken).where(
        AccountToken.token_hash == tokens.token_hash(raw)))
    if token is None or token.purpose is not purpose or token.used_at is not None \
            or token.expires_at <= now or not token.user.active:
        return None
    if purpose is TokenPurpose.RESET and (
            token.email != token.user.email
            or token.password_fingerprint != tokens.password_fingerprint(
                token.user.password_hash)):
        return None  # the password or the address changed since the link was sent
    return token


def _use(session: Session, token: AccountToken, now: datetime) -> None:
    """Spend the token, once: of two requests racing with one link, one wins."""
    changed = rows_updated(session, update(AccountToken)
                           .where(AccountToken.id == token.id, AccountToken.used_at.is_(None))
                           .values(used_at=now).execution_options(synchronize_session=False))
    if changed != 1:
        raise LinkInvalid()
    session.refresh(token)


# --- password reset -------------------------------------------------------------------------

def send_reset(session: Session, user: User, now: datetime, *,
               actor: audit.Actor | None = None) -> None:
    """Mail the account a link to choose a new password (valid one hour). An admin who sends
    it is the `actor`, and the audit log says so."""
    token, raw = _issue_token(session, user, TokenPurpose.RESET, user.email, now)
    outbox.add(session, kind=MessageKind.PASSWORD_RESET, recipient=user.email,
               subject_key=f"reset:{token.id}", user_id=user.id, now=now, payload={
                   "name": user.name, "token": raw, "expires_at": token.expires_at.isoformat(),
                   "by_admin": actor is not None})
    if actor is not None:
        audit.record(session, actor=actor, action="user.reset_link", target_type="user",
                     target_id=user.id, target_label=user.email)


# a new program login's first link: the person may not read their mail within the hour
WELCOME_TTL = timedelta(days=7)


def send_welcome(session: Session, user: User, program_name: str, now: datetime) -> None:
    """Mail a new program staff login a link to choose its password (a reset link that lives
    a week; it dies, like any, once used or once the password is set another way)."""
    token, raw = _issue_token(session, user, TokenPurpose.RESET, user.email, now, WELCOME_TTL)
    outbox.add(session, kind=MessageKind.PROGRAM_WELCOME, recipient=user.email,
               subject_key=f"welcome:{token.id}", user_id=user.id, now=now, payload={
                   "name": user.name, "token": raw, "program": program_name,
                   "expires_at": token.expires_at.isoformat()})


def request_reset(session: Session, email: str, now: datetime) -> None:
    """A visitor asked for a reset link: sent when an active account has this address, and
    nothing otherwise. (It runs as a job, so the visitor's request does the same work and
    takes the same time either way.)"""
    user = accounts.find_by_email(session, email)
    if user is not None and user.active:
        send_reset(session, user, now)


def reset_password(session: Session, raw: str, new_password: str, now: datetime,
                   ctx: certificates.IssueContext, *, fast_hash: bool = False) -> User:
    """Set the password from a reset link: the link is spent, every session of the account
    ends, and (the link reached the mailbox) the address counts as confirmed."""
    token = valid_token(session, raw, TokenPurpose.RESET, now)
    if token is None:
        raise LinkInvalid()
    password = accounts.check_password(new_password)
    _use(session, token, now)
    user = token.user
    user.password_hash = accounts.hasher(fast_hash).hash(password)
    sessions.revoke_all(session, user, now)  # every session of this account ends
    audit.record(session, actor=user, action="user.password_reset", target_type="user",
                 target_id=user.id, target_label=user.email)
    if user.email_confirmed_at is None:
        _mark_confirmed(session, user, token, now, ctx)
    session.flush()
    return user


# --- registration and confirmation ------------------------------------------------------------

def register(session: Session, *, email: str, name: str, password: str, now: datetime,
             fast_hash: bool = False) -> User | None:
    """Self-registration. A new address gets an unconfirmed account and a confirmation link;
    an address that has an account gets a message saying so, with a reset link, instead (None).
    Both hash the password, so the time taken does not tell them apart either."""
    email = accounts.check_email(email)
    name = accounts.clean_name(name)
    accounts.check_password(password)
    existing = accounts.find_by_email(session, email)
    if existing is None:
        try:
            user = accounts.create_user(session, email=email, name=name, password=password,
                                        fast_hash=fast_hash, confirmed=False)
        except AccountError:  # registered a moment ago by a concurrent request
            existing = accounts.find_by_email(session, email)
        else:
            send_confirmation(session, user, now)
            return user
    else:
        accounts.hasher(fast_hash).hash(password)
    if existing is not None and existing.active:
        _tell_address_taken(session, existing, now)
    return None


def _tell_address_taken(session: Session, owner: User, now: datetime) -> None:
    """Someone asked to use this address for another account: its owner hears so, with a
    link to reset their password in case that was them."""
    token, raw = _issue_token(session, owner, TokenPurpose.RESET, owner.email, now)
    outbox.add(session, kind=MessageKind.ADDRESS_TAKEN, recipient=owner.email,
               subject_key=f"taken:{token.id}", user_id=owner.id, now=now, payload={
                   "name": owner.name, "token": raw, "expires_at": token.expires_at.isoformat()})


def send_confirmation(session: Session, user: User, now: datetime, *,
                      new_email: str | None = None) -> None:
    """Mail a confirmation link: for the account's address, or for the address it would change
    to (`new_email`; the change happens when the link is followed)."""
    email = new_email or user.email
    token, raw = _issue_token(session, user, TokenPurpose.CONFIRM, email, now)
    outbox.add(session, kind=MessageKind.CONFIRM_ADDRESS, recipient=email,
               subject_key=f"confirm:{token.id}", user_id=user.id, now=now, payload={
                   "name": user.name, "token": raw, "change": new_email is not None,
                   "expires_at": token.expires_at.isoformat()})


@dataclass(frozen=True)
class Confirmation:
    user: User
    previous_email: str | None  # set when the link changed the account's address
    issued: list[Certificate]


def confirm(session: Session, raw: str, now: datetime,
            ctx: certificates.IssueContext) -> Confirmation:
    """Follow a confirmation link. A new address replaces the old one (which is told); an
    account confirmed for the first time receives every certificate it has earned meanwhile."""
    token = valid_token(session, raw, TokenPurpose.CONFIRM, now)
    if token is None:
        raise LinkInvalid()
    _use(session, token, now)
    user = token.user
    previous = None
    if token.email != user.email:
        owner = accounts.find_by_email(session, token.email)
        if owner is not None:
            raise AccountError("This address now belongs to another account, so it cannot "
                               "become yours.", "email")
        previous, user.email = user.email, token.email
        try:
            with session.begin_nested():
                session.flush()
        except IntegrityError:
            raise AccountError("This address now belongs to another account, so it cannot "
                               "become yours.", "email") from None
        outbox.add(session, kind=MessageKind.ADDRESS_CHANGED, recipient=previous,
                   subject_key=f"changed:{token.id}", user_id=user.id, now=now,
                   payload={"name": user.name, "new_email": user.email})
        # any other pending link for this account (an old address, another change) is void
        session.execute(update(AccountToken)
                        .where(AccountToken.user_id == user.id,
                               AccountToken.purpose == TokenPurpose.CONFIRM,
                               AccountToken.used_at.is_(None))
                        .values(used_at=now).execution_options(synchronize_session=False))
        audit.record(session, actor=user, action="user.email_change", target_type="user",
                     target_id=user.id, target_label=user.email, details={"from": previous})
    issued: list[Certificate] = []
    if user.email_confirmed_at is None:
        issued = _mark_confirmed(session, user, token, now, ctx)
    else:
        user.email_confirmed_at = now
    session.flush()
    return Confirmation(user, previous, issued)


def _mark_confirmed(session: Session, user: User, token: AccountToken, now: datetime,
                    ctx: certificates.IssueContext) -> list[Certificate]:
    """The address is confirmed: issue what the learner has earned meanwhile, as they would
    have received it (they are the actor; the confirmation is the cause)."""
    user.email_confirmed_at = now
    session.flush()
    return certificates.issue_earned(session, user, now, ctx, actor=user,
                                     cause={"address_confirmed": token.id})


def request_email_change(session: Session, user: User, new_email: str, password: str,
                         now: datetime, *, fast_hash: bool = False) -> None:
    """Send a confirmation link to the new address (the password proves it is the holder who
    asks). If another account has that address, that mailbox is told so instead: the form
    answers the same either way."""
    try:
        accounts.hasher(fast_hash).verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        raise AccountError("Your current password is not right.", "password") from None
    email = accounts.check_email(new_email)
    if email == user.email:
        raise AccountError("That is already your address.", "email")
    owner = accounts.find_by_email(session, email)
    if owner is None:
        send_confirmation(session, user, now, new_email=email)
    elif owner.active:
        _tell_address_taken(session, owner, now)


# --- what a person wants to receive -----------------------------------------------------------

def set_preferences(session: Session, user: User, *, reminders: bool, digests: bool) -> None:
    user.mail_reminders, user.mail_digests = reminders, digests
    session.flush()


def unsubscribe(session: Session, user_id: int, topic: MailTopic) -> User | None:
    """Turn one kind of optional mail off (a one-click link: no login); the account, or None."""
    user = session.get(User, user_id)
    if user is None:
        return None
    if topic is MailTopic.REMINDERS:
        user.mail_reminders = False
    else:
        user.mail_digests = False
    session.flush()
    return user
