"""Accounts and sessions a certification body can trust (issue #15)

- certificate: a public reason from a fixed list and optional public text, apart from the
  internal note (staff only), for suspensions and revocations; earlier free-text reasons
  become internal notes, and no reason is published for them

Revision ID: 0004_accounts_security
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = "0004_accounts_security"
down_revision = "0003"
branch_labels = None
depends_on = None

PUBLIC_REASONS = "('administrative_hold', 'conduct_review', 'requirements_not_met', " \
                 "'issued_in_error')"


def upgrade() -> None:
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
