"""`flask --app app programs ...`: program accounts and their API keys, for operators."""

from __future__ import annotations

from datetime import timedelta

import click
from flask.cli import AppGroup

from courseware.domain.clock import utcnow
from courseware.services import api_keys, audit, programs
from courseware.web import db

programs_cli = AppGroup("programs", help="Mentoring programs and their API keys.")


@programs_cli.command("create")
@click.argument("name")
@click.option("--contact", required=True, help="The program's contact address: its first "
              "staff login, mailed a link to choose a password.")
@click.option("--country", default="GB", show_default=True,
              help="ISO 3166-1 alpha-2 country code.")
@click.option("--staff-name", default="", help="The login's name (default: the program's).")
def create(name: str, contact: str, country: str, staff_name: str) -> None:
    """Create an active program and its first staff login; prints the program's id last."""
    moment = utcnow()
    with db.database().session() as s:
        try:
            program, staff = programs.create(s, name=name, contact_email=contact,
                                             country=country, staff_name=staff_name,
                                             actor=audit.COMMAND_LINE, now=moment)
        except programs.ProgramError as exc:
            raise click.ClickException(str(exc)) from None
        s.commit()
        click.echo(f"created program {program.name}; {staff.email} is mailed a link to choose "
                   "a password")
        click.echo(str(program.id))


@programs_cli.command("key")
@click.argument("name")
@click.option("--scope", "scopes", multiple=True, required=True,
              help="verify, roster or webhooks; repeat it, or separate with commas.")
@click.option("--name", "label", default="command line", show_default=True,
              help="What the key is for.")
@click.option("--expires-days", "--expires", "expires_days", type=click.IntRange(1, 1098),
              default=None, help="Days until the key expires (default: never).")
def key(name: str, scopes: tuple[str, ...], label: str, expires_days: int | None) -> None:
    """A new API key for the program NAME, printed once, alone on the last line."""
    moment = utcnow()
    with db.database().session() as s:
        program = programs.by_name(s, name)
        if program is None:
            raise click.ClickException(f"no program is named {name}")
        try:
            made, plaintext = api_keys.create(
                s, program, name=label, scopes=scopes,
                expires_at=moment + timedelta(days=expires_days) if expires_days else None,
                actor=audit.COMMAND_LINE, now=moment)
        except api_keys.ApiKeyError as exc:
            raise click.ClickException(str(exc)) from None
        s.commit()
        expiry = f"expires {made.expires_at:%Y-%m-%d}" if made.expires_at else "never expires"
        click.echo(f"key {made.prefix} for {program.name}, scopes {made.scopes}, {expiry}; "
                   "shown once:")
        click.echo(plaintext)
