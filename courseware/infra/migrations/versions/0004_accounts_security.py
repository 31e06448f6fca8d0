"""Accounts and sessions a certification body can trust (issue #15)

- certificate: a public reason from a fixed list and optional public text, apart from the
  internal note (staff only), for suspensions and revocations; earlier free-text reasons
  become internal notes, and no reason is published for them
- user_session: server-side sessions (the cookie holds a random id, the row its SHA-256);
  user.session_version goes (sessions are revoked by row)
- user.must_change_password (a breached or weak password seen at login), user.demo
- login_throttle: per scope (account and client, client, unknown devices, known device), with
  an exponential delay instead of a lock for everyone
- totp_secret (sealed), recovery_code (hashed), passkey: second factors
- audit_event.client_address

Revision ID: 0004_accounts_security
Revises: 0005_credentials_keys
"""
import sqlalchemy as sa
from alembic import op

from courseware.models.base import UTCDateTime

revision = "0004_accounts_security"
down_revision = "0005_credentials_keys"
branch_labels = None
depends_on = None

PUBLIC_REASONS = "('administrative_hold', 'conduct_review', 'requirements_not_met', " \
                 "'issued_in_error')"


def upgrade() -> None:
    _upgrade_certificate()
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.drop_column("session_version")
        batch_op.add_column(sa.Column("must_change_password", sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column("demo", sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("client_address", sa.String(length=45), nullable=True))
    op.create_table(
        "user_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", UTCDateTime(), nullable=False),
        sa.Column("user_agent", sa.String(length=200), nullable=True),
        sa.Column("device", sa.String(length=80), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"],
                                name=op.f("fk_user_session_user_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_session")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_user_session_token_hash")),
    )
    op.create_index("ix_user_session_user_id", "user_session", ["user_id"], unique=False)
    # the old counters were per address and meant something else: start afresh
    op.drop_table("login_throttle")
    op.create_table(
        "login_throttle",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", UTCDateTime(), nullable=False),
        sa.Column("blocked_until", UTCDateTime(), nullable=True),
        sa.CheckConstraint("failures >= 0", name=op.f("ck_login_throttle_failures")),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_login_throttle")),
    )
    op.create_table(
        "totp_secret",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("sealed_secret", sa.Text(), nullable=False),
        sa.Column("last_step", sa.BigInteger(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"],
                                name=op.f("fk_totp_secret_user_id_user")),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_totp_secret")),
    )
    op.create_table(
        "recovery_code",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("used_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"],
                                name=op.f("fk_recovery_code_user_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recovery_code")),
    )
    op.create_index("ix_recovery_code_user_id", "recovery_code", ["user_id"], unique=False)
    op.create_table(
        "passkey",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("credential_id", sa.String(length=1400), nullable=False),
        sa.Column("public_key", sa.LargeBinary(), nullable=False),
        sa.Column("sign_count", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("last_used_at", UTCDateTime(), nullable=True),
        sa.CheckConstraint("sign_count >= 0", name=op.f("ck_passkey_sign_count")),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], name=op.f("fk_passkey_user_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_passkey")),
        sa.UniqueConstraint("credential_id", name=op.f("uq_passkey_credential_id")),
    )
    op.create_index("ix_passkey_user_id", "passkey", ["user_id"], unique=False)


def _upgrade_certificate() -> None:
    with op.batch_alter_table("certificate", schema=None) as batch_op:
        for prefix in ("revocation", "suspension"):
            batch_op.add_column(sa.Column(f"{prefix}_public_reason", sa.String(length=32),
                                          nullable=True))
            batch_op.add_column(sa.Column(f"{prefix}_public_text", sa.Text(), nullable=True))
            batch_op.add_column(sa.Column(f"{prefix}_note", sa.Text(), nullable=True))
    # what was written as the reason stays, but as the internal note: it was never chosen to
    # be published, so nothing is published for these records from now on
    op.execute("UPDATE certificate SET revocation_note = revocation_reason, "
               "suspension_note = suspension_reason")
    with op.batch_alter_table("certificate", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_certificate_revocation_reason"), type_="check")
        batch_op.drop_constraint(op.f("ck_certificate_suspension_reason"), type_="check")
        batch_op.drop_column("revocation_reason")
        batch_op.drop_column("suspension_reason")
        batch_op.create_check_constraint(
            op.f("ck_certificate_revocation_note"),
            "revoked_at IS NULL OR revocation_note IS NOT NULL")
        batch_op.create_check_constraint(
            op.f("ck_certificate_suspension_note"),
            "suspended_at IS NULL OR suspension_note IS NOT NULL")
        for prefix in ("revocation", "suspension"):
            batch_op.create_check_constraint(
                op.f(f"ck_certificate_{prefix}_public_reason"),
                f"{prefix}_public_reason IS NULL OR {prefix}_public_reason IN {PUBLIC_REASONS}")


def downgrade() -> None:
    op.drop_index("ix_passkey_user_id", table_name="passkey")
    op.drop_table("passkey")
    op.drop_index("ix_recovery_code_user_id", table_name="recovery_code")
    op.drop_table("recovery_code")
    op.drop_table("totp_secret")
    op.drop_table("login_throttle")
    op.create_table(
        "login_throttle",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_started_at", UTCDateTime(), nullable=False),
        sa.Column("locked_until", UTCDateTime(), nullable=True),
        sa.CheckConstraint("failures >= 0", name=op.f("ck_login_throttle_failures")),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_login_throttle")),
    )
    op.drop_index("ix_user_session_user_id", table_name="user_session")
    op.drop_table("user_session")
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_column("client_address")
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.drop_column("demo")
        batch_op.drop_column("must_change_password")
        batch_op.add_column(sa.Column("session_version", sa.Integer(), nullable=False,
                                      server_default="1"))
    _downgrade_certificate()


def _downgrade_certificate() -> None:
    with op.batch_alter_table("certificate", schema=None) as batch_op:
        batch_op.add_column(sa.Column("revocation_reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("suspension_reason", sa.Text(), nullable=True))
    op.execute("UPDATE certificate SET revocation_reason = revocation_note, "
               "suspension_reason = suspension_note")
    with op.batch_alter_table("certificate", schema=None) as batch_op:
        for prefix in ("revocation", "suspension"):
            batch_op.drop_constraint(op.f(f"ck_certificate_{prefix}_public_reason"),
                                     type_="check")
            batch_op.drop_constraint(op.f(f"ck_certificate_{prefix}_note"), type_="check")
            batch_op.drop_column(f"{prefix}_public_reason")
            batch_op.drop_column(f"{prefix}_public_text")
            batch_op.drop_column(f"{prefix}_note")
        batch_op.create_check_constraint(
            op.f("ck_certificate_revocation_reason"),
            "revoked_at IS NULL OR revocation_reason IS NOT NULL")
        batch_op.create_check_constraint(
            op.f("ck_certificate_suspension_reason"),
            "suspended_at IS NULL OR suspension_reason IS NOT NULL")
