"""outbox, emailed links and mail preferences: background jobs and email (issue #17)

- outbox_message: every outbound message, recorded in the transaction of its cause and
  delivered by a job; at most one per (recipient, kind, subject key).
- account_token: password-reset and address-confirmation links, stored hashed.
- user.email_confirmed_at, mail_reminders, mail_digests. Accounts that exist already (the demo
  accounts among them) count as confirmed: they were made before addresses could be checked.

Revision ID: 0007_outbox_mail
Revises: 0004_accounts_security
"""
import sqlalchemy as sa
from alembic import op

import courseware.models.base

revision = "0007_outbox_mail"
down_revision = "0004_accounts_security"
branch_labels = None
depends_on = None

KINDS = ("password_reset", "confirm_address", "address_taken", "address_changed",
         "roleplay_graded", "certificate_issued", "certificate_suspended",
         "certificate_reinstated", "certificate_revoked", "renewal_open", "expires_in_30_days",
         "expires_in_7_days", "certificate_expired", "moderation_needed", "grading_digest")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    op.create_table(
        "account_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("password_fingerprint", sa.String(length=64), nullable=True),
        sa.Column("created_at", courseware.models.base.UTCDateTime(), nullable=False),
        sa.Column("expires_at", courseware.models.base.UTCDateTime(), nullable=False),
        sa.Column("used_at", courseware.models.base.UTCDateTime(), nullable=True),
        sa.CheckConstraint("purpose <> 'reset' OR password_fingerprint IS NOT NULL",
                           name=op.f("ck_account_token_reset_fingerprint")),
        sa.CheckConstraint(_in("purpose", ("reset", "confirm")),
                           name=op.f("ck_account_token_purpose")),
        sa.CheckConstraint("expires_at > created_at", name=op.f("ck_account_token_dates")),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"],
                                name=op.f("fk_account_token_user_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_token")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_account_token_token_hash")),
    )
    op.create_index("ix_account_token_user_id", "account_token", ["user_id"], unique=False)

    op.create_table(
        "outbox_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("recipient", sa.String(length=254), nullable=False),
        sa.Column("subject_key", sa.String(length=160), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", courseware.models.base.UTCDateTime(), nullable=False),
        sa.Column("next_attempt_at", courseware.models.base.UTCDateTime(), nullable=False),
        sa.Column("lease_until", courseware.models.base.UTCDateTime(), nullable=True),
        sa.Column("sent_at", courseware.models.base.UTCDateTime(), nullable=True),
        sa.CheckConstraint("(status = 'sent') = (sent_at IS NOT NULL)",
                           name=op.f("ck_outbox_message_sent_at")),
        sa.CheckConstraint(_in("channel", ("mail", "webhook")),
                           name=op.f("ck_outbox_message_channel")),
        sa.CheckConstraint(_in("kind", KINDS), name=op.f("ck_outbox_message_kind")),
        sa.CheckConstraint("status <> 'sending' OR lease_until IS NOT NULL",
                           name=op.f("ck_outbox_message_lease")),
        sa.CheckConstraint(_in("status", ("pending", "sending", "sent", "failed")),
                           name=op.f("ck_outbox_message_status")),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_outbox_message_attempts")),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"],
                                name=op.f("fk_outbox_message_user_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_message")),
        sa.UniqueConstraint("recipient", "kind", "subject_key",
                            name=op.f("uq_outbox_message_recipient_kind_subject_key")),
    )
    op.create_index("ix_outbox_message_created_at", "outbox_message", ["created_at"],
                    unique=False)
    op.create_index("ix_outbox_message_due", "outbox_message", ["status", "next_attempt_at"],
                    unique=False)

    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("email_confirmed_at",
                                      courseware.models.base.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("mail_reminders", sa.Boolean(), server_default=sa.true(),
                                      nullable=False))
        batch_op.add_column(sa.Column("mail_digests", sa.Boolean(), server_default=sa.true(),
                                      nullable=False))
    # every account made before addresses could be confirmed counts as confirmed
    op.execute('UPDATE "user" SET email_confirmed_at = created_at')


def downgrade() -> None:
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.drop_column("mail_digests")
        batch_op.drop_column("mail_reminders")
        batch_op.drop_column("email_confirmed_at")
    op.drop_index("ix_outbox_message_due", table_name="outbox_message")
    op.drop_index("ix_outbox_message_created_at", table_name="outbox_message")
    op.drop_table("outbox_message")
    op.drop_index("ix_account_token_user_id", table_name="account_token")
    op.drop_table("account_token")
