"""Command line: `flask --app app <group> <command>`."""

from __future__ import annotations

import sys

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from courseware.domain.content import Catalogue, ContentError, load_catalogue
from courseware.domain.content.source import in_order
from courseware.domain.statuses import Role
from courseware.infra import migrate
from courseware.services import accounts, audit
from courseware.services.content_sync import sync_catalogue
from courseware.web import db

DEMO_ACCOUNTS = (
    ("admin@example.org", "Ada Admin", "admin", "demo-admin-password"),
    ("trainer@example.org", "Tomas Trainer", "trainer", "demo-trainer-password"),
    ("trainer2@example.org", "Tariq Trainer", "trainer", "demo-trainer2-password"),
    ("learner@example.org", "Lena Learner", "learner", "demo-learner-password"),
)

db_cli = AppGroup("db", help="Database schema.")
content_cli = AppGroup("courseware", help="Course content: check and sync.")
users_cli = AppGroup("users", help="Accounts.")
keys_cli = AppGroup("keys", help="Credential signing keys.")


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
@click.option("--role", type=click.Choice([role.value for role in Role]),
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


@click.command("demo")
@with_appcontext
def demo() -> None:
    """Create the demo accounts if missing, and print them with their passwords."""
    with db.database().session() as s:
        for email, name, role, password in DEMO_ACCOUNTS:
            if accounts.find_by_email(s, email) is None:
                accounts.create_user(s, email=email, name=name, password=password, role=role,
                                     fast_hash=current_app.config.get("FAST_PASSWORD_HASH",
                                                                      False))
        s.commit()
    click.echo("Demo accounts (local use only):")
    for email, _name, role, password in DEMO_ACCOUNTS:
        click.echo(f"  {role:<8} {email:<24} {password}")


def register_cli(app: Flask) -> None:
    from courseware.cli.certificates import certificates_cli, keys_rotate
    from courseware.cli.jobs import jobs_cli

    keys_cli.add_command(keys_rotate)
    for group in (db_cli, content_cli, users_cli, keys_cli, certificates_cli, jobs_cli):
        app.cli.add_command(group)
    app.cli.add_command(demo)
