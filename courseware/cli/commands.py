"""Command line: `flask --app app <group> <command>`."""

from __future__ import annotations

import ipaddress
import os
import secrets
import sys
from datetime import timedelta
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from courseware.domain.clock import utcnow
from courseware.domain.content import Catalogue, ContentError, load_catalogue
from courseware.domain.content.source import in_order
from courseware.domain.statuses import ASSIGNABLE_ROLES, Role
from courseware.infra import migrate
from courseware.infra.config import default_database_url
from courseware.services import accounts, audit, second_factor
from courseware.services.content_sync import sync_catalogue
from courseware.web import db

# (email, name, role): demo accounts for a local trial; their passwords are random, new on every
# run of `flask demo`, and printed once
DEMO_ACCOUNTS = (
    ("admin@example.org", "Ada Admin", "admin"),
    ("trainer@example.org", "Tomas Trainer", "trainer"),
    ("trainer2@example.org", "Tariq Trainer", "trainer"),
    ("learner@example.org", "Lena Learner", "learner"),
)

db_cli = AppGroup("db", help="Database schema.")
content_cli = AppGroup("courseware", help="Course content: check and sync.")
users_cli = AppGroup("users", help="Accounts.")
audit_cli = AppGroup("audit", help="The audit log.")


@audit_cli.command("prune")
@click.option("--days", type=int, default=None,
              help="Keep this many days (default: AUDIT_RETENTION_DAYS, 365).")
def audit_prune(days: int | None) -> None:
    """Delete security events older than the retention period (never certificate history)."""
    keep = days if days is not None else int(current_app.config["AUDIT_RETENTION_DAYS"])
    if keep < 1:
        raise click.ClickException("keep at least one day")
    with db.database().session() as s:
        count = audit.prune(s, utcnow() - timedelta(days=keep), actor=audit.COMMAND_LINE)
        s.commit()
    click.echo(f"deleted {count} security event{'s' if count != 1 else ''} older than "
               f"{keep} days")


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Apply migrations (to the latest by default)."""
    migrate.upgrade(db.database().engine, revision)
    click.echo(f"database at {revision}")


@db_cli.command("revision")
@click.option("-m", "--message", required=True)
def db_revision(message: str) -> None:
    """Autogenerate a migration from the models (for developers)."""
    migrate.revision(db.database().engine, message)


def _catalogue(*, warn: bool = False) -> Catalogue:
    """The checked content, or exit 1 after printing each problem as `path:line: message`.

    With `warn`, warnings (`path:line: warning: ...`) are printed too; they never fail a command.
    """
    try:
        catalogue = load_catalogue(current_app.config["CONTENT_ROOT"],
                                   country=current_app.config["COURSE_COUNTRY"])
    except ContentError as exc:
        for problem in in_order([*exc.problems, *(exc.warnings if warn else [])]):
            click.echo(str(problem), err=True)
        click.echo(f"{len(exc.problems)} problem{'s' if len(exc.problems) != 1 else ''} found",
                   err=True)
        sys.exit(1)
    for warning in catalogue.warnings if warn else []:
        click.echo(str(warning), err=True)
    return catalogue


@content_cli.command("check")
def content_check() -> None:
    """Validate every content file; print path:line: problem; exit 1 on any (not on warnings)."""
    catalogue = _catalogue(warn=True)
    warnings = len(catalogue.warnings)
    click.echo(
        f"ok: {len(catalogue.modules)} modules, {len(catalogue.quizzes)} quizzes, "
        f"{len(catalogue.roleplays)} role-plays, {len(catalogue.tracks)} tracks, "
        f"{len(catalogue.calibrations)} calibrations"
        + (f" ({warnings} warning{'s' if warnings != 1 else ''})" if warnings else "")
    )


@content_cli.command("sync")
def content_sync() -> None:
    """Check, then load the content into the database."""
    catalogue = _catalogue()
    with db.database().session() as s:
        report = sync_catalogue(s, catalogue, actor=audit.COMMAND_LINE)
        s.commit()
    for label, names in (("added", report.added), ("updated", report.updated),
                         ("retired", report.retired)):
        for name in names:
            click.echo(f"  {label}: {name}")
    click.echo(report.summary())


@users_cli.command("create")
@click.argument("email")
@click.option("--name", required=True)
@click.option("--role", type=click.Choice([role.value for role in ASSIGNABLE_ROLES]),
              default=Role.LEARNER.value)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def users_create(email: str, name: str, role: str, password_stdin: bool) -> None:
    """Create an account."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    with db.database().session() as s:
        try:
            user = accounts.create_user(s, email=email, name=name, password=password, role=role,
                                        fast_hash=current_app.config.get("FAST_PASSWORD_HASH",
                                                                         False))
        except accounts.AccountError as exc:
            raise click.ClickException(str(exc)) from None
        audit.record(s, actor=audit.COMMAND_LINE, action="user.create", target_type="user",
                     target_id=user.id, target_label=user.email, details={"role": role})
        s.commit()
    click.echo(f"created {role} {user.email}")


@users_cli.command("reset-second-factor")
@click.argument("email")
@click.option("--reason", required=True, help="Why (kept in the audit log).")
def users_reset_second_factor(email: str, reason: str) -> None:
    """Clear an account's second factors and end its sessions (when no admin can log in)."""
    with db.database().session() as s:
        user = accounts.find_by_email(s, email)
        if user is None:
            raise click.ClickException(f"no account has the email {email}")
        try:
            second_factor.reset(s, audit.COMMAND_LINE, user, reason, utcnow())
        except second_factor.SecondFactorError as exc:
            raise click.ClickException(str(exc)) from None
        s.commit()
    click.echo(f"second factor reset for {user.email}: they set up a new one at next login")


@click.command("demo")
@click.option("--host", default=lambda: os.environ.get("HOST", "127.0.0.1"), show_default="HOST "
              "or 127.0.0.1", help="The address the server will bind to (make run passes it).")
@with_appcontext
def demo(host: str) -> None:
    """Demo accounts for a local trial, with new random passwords, printed once.

    Only for a server on this machine alone (a loopback address) with the embedded database:
    anywhere else an account with a printed password is a way in. A production configuration
    refuses to start while a demo account exists."""
    config = current_app.config
    problem = demo_refusal(host, config["DATABASE_URL"], default_database_url(
        Path(current_app.instance_path)), production=config["PRODUCTION"])
    if problem:
        raise click.ClickException(f"no demo accounts: {problem}")
    fast = bool(config.get("FAST_PASSWORD_HASH", False))
    made = []
    with db.database().session() as s:
        for email, name, role in DEMO_ACCOUNTS:
            password = secrets.token_urlsafe(12)  # 96 random bits
            accounts.set_demo_account(s, email=email, name=name, role=role, password=password,
                                      fast_hash=fast)
            made.append((email, role, password))
        s.commit()
    click.echo("Demo accounts (local use only; new passwords on every run):")
    for email, role, password in made:
        click.echo(f"  {role:<8} {email:<24} {password}")


def demo_refusal(host: str, database_url: str, embedded: str, *, production: bool) -> str | None:
    """Why demo accounts may not be made here, or None."""
    if production:
        return "this is a production configuration (https BASE_URL or COURSEWARE_ENV=production)"
    if not is_loopback(host):
        return f"the server binds to {host}, not to this machine alone (127.0.0.1)"
    if database_url != embedded:
        return "DATABASE_URL names a database other than the embedded one in instance/"
    return None


def is_loopback(host: str) -> bool:
    host = host.strip().strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def register_cli(app: Flask) -> None:
    from courseware.cli.certificates import certificates_cli, keys_cli
    from courseware.cli.jobs import jobs_cli
    from courseware.cli.programs import programs_cli

    for group in (db_cli, content_cli, users_cli, keys_cli, certificates_cli, audit_cli,
                  jobs_cli, programs_cli):
        app.cli.add_command(group)
    app.cli.add_command(demo)
