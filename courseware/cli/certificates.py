"""`flask --app app certificates ...` and `keys ...`."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy.orm import Session

from courseware.domain.clock import utcnow
from courseware.domain.codes import MalformedCode, format_code, parse_code
from courseware.domain.statuses import (
    CertificateChange,
    CertificateStatus,
    CheckOutcome,
    PublicReason,
)
from courseware.models import Certificate
from courseware.services import accounts, certificates, credentials, keys
from courseware.services.audit import COMMAND_LINE
from courseware.web import db
from courseware.web.signing import issuer, sealer

certificates_cli = AppGroup("certificates", help="Issue, verify, revoke and suspend.")


def _find(session: Session, code: str) -> Certificate:
    try:
        canonical = parse_code(code)
    except MalformedCode as exc:
        raise click.ClickException(str(exc)) from None
    cert = certificates.find(session, canonical)
    if cert is None:
        raise click.ClickException(f"no certificate has the code {format_code(canonical)}")
    return cert


@certificates_cli.command("issue")
@click.argument("email")
@click.option("--track", "track_slug", required=True)
@click.option("--reason", required=True, help="Why (recognition of prior learning).")
def issue(email: str, track_slug: str, reason: str) -> None:
    """Issue a certificate by hand; prints the new code alone on its last line."""
    with db.database().session() as s:
        user = accounts.find_by_email(s, email)
        if user is None:
            raise click.ClickException(f"no account has the email {email}")
        try:
            cert = certificates.manual_issue(s, COMMAND_LINE, user, track_slug, reason, utcnow(),
                                             certificates.IssueContext.from_config(current_app.config))
        except certificates.CertificateError as exc:
            raise click.ClickException(str(exc)) from None
        s.commit()
        click.echo(f"issued {cert.track_version.data['title']} to {user.name}, "
                   f"expires {cert.expires_at:%Y-%m-%d}")
        click.echo(format_code(cert.code))


@certificates_cli.command("verify")
@click.argument("code")
def verify(code: str) -> None:
    """Print the status; exit 0 only when valid."""
    with db.database().session(write=False) as s:
        cert = _find(s, code)
        record = certificates.public_record(cert, utcnow(), current_app.config["BASE_URL"])
    click.echo(f"{format_code(cert.code)}: {record['status']}"
               f"{' (eligible to mentor)' if record['eligible'] else ''}")
    click.echo(f"holder: {record['holder']['name']}; track: {record['track']['title']}; "
               f"issued {record['issued_at']}; expires {record['expires_at']}")
    if record["revocation_reason"]:
        click.echo(f"reason: {record['revocation_reason']}")
    sys.exit(0 if record["status"] == CertificateStatus.VALID else 1)


def _change(code: str, change: CertificateChange, note: str,
            public_reason: str | None = None, public_text: str = "") -> None:
    with db.database().session() as s:
        cert = _find(s, code)
        try:
            certificates.change_state(s, COMMAND_LINE, cert, change, note, utcnow(),
                                      public_reason=public_reason, public_text=public_text)
        except certificates.CertificateError as exc:
            raise click.ClickException(str(exc)) from None
        s.commit()
    click.echo(f"{format_code(cert.code)} {change.past}")


_NOTE_HELP = "Internal note for staff and the audit log; never published."
_public_reason = click.option(
    "--public-reason", type=click.Choice([r.value for r in PublicReason]), default=None,
    help="What programs are told (one of a fixed list); none is published without it.")
_public_text = click.option("--public-text", default="",
                            help="Optional text published word for word with the reason.")


@certificates_cli.command("revoke")
@click.argument("code")
@click.option("--reason", required=True, help=_NOTE_HELP)
@_public_reason
@_public_text
def revoke(code: str, reason: str, public_reason: str | None, public_text: str) -> None:
    """Revoke for good (audited)."""
    _change(code, CertificateChange.REVOKE, reason, public_reason, public_text)


@certificates_cli.command("suspend")
@click.argument("code")
@click.option("--reason", required=True, help=_NOTE_HELP)
@_public_reason
@_public_text
def suspend(code: str, reason: str, public_reason: str | None, public_text: str) -> None:
    """Put a reversible hold on a certificate (audited)."""
    _change(code, CertificateChange.SUSPEND, reason, public_reason, public_text)


@certificates_cli.command("reinstate")
@click.argument("code")
@click.option("--reason", default="", help="Optional note for the audit log.")
def reinstate(code: str, reason: str) -> None:
    """Lift a suspension (audited)."""
    _change(code, CertificateChange.REINSTATE, reason)


@certificates_cli.command("check-credential")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--jwks", "jwks_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Check the signature against this JWKS file instead of this site's keys.")
def check_credential(file: Path, jwks_file: Path | None) -> None:
    """Check a signed credential: signature, issuer, status lists, dates.

    The status lists are this site's database when the credential is this site's; for another
    issuer's credential it says it could not check them. Exit 0 only when nothing failed: a
    revoked, suspended, expired, altered or unknown credential exits 1."""
    if file.stat().st_size > credentials.MAX_CREDENTIAL_BYTES:
        click.echo(f"{file}: INVALID: larger than 64 KiB, not a credential of this issuer",
                   err=True)
        sys.exit(1)
    token = file.read_text(encoding="utf-8", errors="replace")
    jwks = None
    if jwks_file:
        try:
            jwks = json.loads(jwks_file.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise click.ClickException(f"{jwks_file}: not valid JSON ({exc})") from None
    with db.database().session(write=False) as s:
        report = credentials.check(s, token, issuer(), utcnow(), jwks=jwks)
    words = {CheckOutcome.PASSED: "ok", CheckOutcome.FAILED: "FAILED",
             CheckOutcome.UNKNOWN: "not checked"}
    for step in report.checks:
        click.echo(f"{step.topic}: {words[step.outcome]}: {step.message}")
    if report.holder or report.achievement:
        click.echo(f"achievement: {report.achievement}; holder: {report.holder}; "
                   f"valid from {report.valid_from} until {report.valid_until}")
    if report.verdict is CheckOutcome.FAILED:
        click.echo(f"{file}: INVALID", err=True)
        sys.exit(1)
    if report.verdict is CheckOutcome.UNKNOWN:
        click.echo(f"{file}: signature valid, but not every check could be made here"
                   if any(c.topic == "Signature" and c.outcome is CheckOutcome.PASSED
                          for c in report.checks)
                   else f"{file}: NOT VERIFIED: it is not this site's credential")
        sys.exit(0 if any(c.topic == "Signature" and c.outcome is CheckOutcome.PASSED
                          for c in report.checks) else 1)
    click.echo(f"{file}: signature valid; not revoked or suspended; in its validity period")


keys_cli = AppGroup("keys", help="Credential signing keys (in the database, sealed under "
                                 "KEY_ENCRYPTION_KEY).")


@keys_cli.command("rotate")
def keys_rotate() -> None:
    """Add a new signing key and make it active; every earlier public key stays published."""
    with db.database().session() as s:
        try:
            made = keys.rotate(s, sealer(), utcnow())
        except keys.SigningKeyError as exc:
            raise click.ClickException(str(exc)) from None
        s.commit()
    click.echo(f"new active key {made.thumbprint}")
    click.echo(keys.kid_url(current_app.config["BASE_URL"], made.thumbprint))


@keys_cli.command("list")
def keys_list() -> None:
    """Every signing key, the active one first, with its kid URL."""
    with db.database().session(write=False) as s:
        listed = keys.listing(s)
    if not listed:
        click.echo("no signing key yet: one is made when the first credential is signed "
                   "(or run keys rotate)")
    for info in listed:
        click.echo(f"{info.thumbprint}  {info.algorithm}  created {info.created_at:%Y-%m-%d %H:%M}"
                   f"{'  ACTIVE' if info.active else ''}  "
                   f"{keys.kid_url(current_app.config['BASE_URL'], info.thumbprint)}")


@keys_cli.command("export")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def keys_export(file: Path) -> None:
    """Write every key to FILE (private keys stay sealed: useless without the KEK)."""
    with db.database().session(write=False) as s:
        data = keys.export(s)
    fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2)
        handle.write("\n")
    click.echo(f"exported {len(data['keys'])} key(s) to {file}; the private keys in it are "
               "sealed under KEY_ENCRYPTION_KEY: keep that key, apart from this file, to restore")


@keys_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def keys_import(file: Path) -> None:
    """Add the keys of an export that this database lacks (same KEY_ENCRYPTION_KEY needed)."""
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise click.ClickException(f"{file}: not valid JSON ({exc})") from None
    with db.database().session() as s:
        try:
            report = keys.import_keys(s, sealer(), data)
        except keys.SigningKeyError as exc:
            raise click.ClickException(str(exc)) from None
        s.commit()
        active = keys.listing(s)[0].thumbprint if report.added or report.present else None
    click.echo(f"imported {len(report.added)} key(s); {len(report.present)} already here")
    if active:
        click.echo(f"active key {active}")
