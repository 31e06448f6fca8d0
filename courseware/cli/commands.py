"""Command line: `flask --app app <group> <command>`."""

from __future__ import annotations

import sys

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import select

from courseware.domain.content import ContentError, load_catalogue
from courseware.infra import migrate
from courseware.models import User
from courseware.services import accounts
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


def _catalogue():  # type: ignore[no-untyped-def]
    try:
        return load_catalogue(current_app.config["CONTENT_ROOT"])
    except ContentError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        click.echo(f"{len(exc.problems)} problem{'s' if len(exc.problems) != 1 else ''} found",
                   err=True)
        sys.exit(1)


@content_cli.command("check")
def content_check() -> None:
    """Validate every content file; print path:line: problem; exit 1 on any."""
    catalogue = _catalogue()
    click.echo(
        f"ok: {len(catalogue.modules)} modules, {len(catalogue.quizzes)} quizzes, "
        f"{len(catalogue.roleplays)} role-plays, {len(catalogue.tracks)} tracks"
    )


@content_cli.command("sync")
def content_sync() -> None:
    """Check, then load the content into the database."""
    catalogue = _catalogue()
    with db.database().session() as s:
        report = sync_catalogue(s, catalogue)
        s.commit()
    for label, names in (("added", report.added), ("updated", report.updated),
                         ("retired", report.retired)):
        for name in names:
            click.echo(f"  {label}: {name}")
    click.echo(report.summary())


@users_cli.command("create")
@click.argument("email")
@click.option("--name", required=True)
@click.option("--role", type=click.Choice(["learner", "trainer", "admin"]), default="learner")
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
        from courseware.services import audit

        audit.record(s, actor=None, action="user.create", target_type="user", target_id=user.id,
                     target_label=user.email, details={"role": role})
        s.commit()
    click.echo(f"created {role} {user.email}")


@click.command("demo")
@with_appcontext
def demo() -> None:
    """Create the demo accounts if missing, and print them with their passwords."""
    with db.database().session() as s:
        for email, name, role, password in DEMO_ACCOUNTS:
            if s.scalar(select(User).where(User.email == email)) is None:
                accounts.create_user(s, email=email, name=name, password=password, role=role,
                                     fast_hash=current_app.config.get("FAST_PASSWORD_HASH",
                                                                      False))
        s.commit()
    click.echo("Demo accounts (local use only):")
    for email, _name, role, password in DEMO_ACCOUNTS:
        click.echo(f"  {role:<8} {email:<24} {password}")


def register_cli(app: Flask) -> None:
    from courseware.cli.certificates import certificates_cli, keys_rotate

    keys_cli.add_command(keys_rotate)
    for group in (db_cli, content_cli, users_cli, keys_cli, certificates_cli):
        app.cli.add_command(group)
    app.cli.add_command(demo)
