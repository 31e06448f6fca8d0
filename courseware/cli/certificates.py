"""`flask --app app certificates ...` and `keys rotate`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy.orm import Session

from courseware.domain.clock import utcnow
from courseware.domain.codes import MalformedCode, format_code, parse_code
from courseware.domain.credential import CredentialError, KeyStore, verify_credential
from courseware.domain.statuses import CertificateChange, CertificateStatus, PublicReason
from courseware.models import Certificate
from courseware.services import accounts, certificates
from courseware.services.audit import COMMAND_LINE
from courseware.web import db

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
              help="The issuer's JWKS (default: this instance's keys).")
def check_credential(file: Path, jwks_file: Path | None) -> None:
    """Verify a signed credential offline."""
    token = file.read_text(encoding="utf-8").strip()
    if jwks_file:
        try:
            jwks = json.loads(jwks_file.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise click.ClickException(f"{jwks_file}: not valid JSON ({exc})") from None
    else:
        jwks = KeyStore(current_app.config["KEYS_DIR"]).jwks()
    try:
        result = verify_credential(token, jwks, now=utcnow())
    except CredentialError as exc:
        click.echo(f"{file}: INVALID: {exc}", err=True)
        sys.exit(1)
    credential = result["credential"]
    subject = credential.get("credentialSubject", {})
    names = [i.get("identityHash") for i in subject.get("identifier", [])
             if i.get("identityType") == "name"]
    click.echo(f"{file}: signature valid (key {result['kid']})")
    click.echo(f"achievement: {subject.get('achievement', {}).get('name')}; "
               f"holder: {', '.join(n for n in names if n)}")
    click.echo(f"valid from {credential.get('validFrom')} until {credential.get('validUntil')}"
               f"{' (expired)' if result['expired'] else ''}")
    click.echo("the signature proves who issued it; check revocation at "
               f"{credential.get('id')}")


@click.command("rotate")
@with_appcontext
def keys_rotate() -> None:
    """Add a new signing key and make it active; old public keys stay published."""
    kid = KeyStore(current_app.config["KEYS_DIR"]).rotate()
    click.echo(f"new active key {kid}")
