"""webhooks: programs' endpoints and the log of every attempt (issue #19)

- webhook_endpoint: a program's HTTPS endpoint, the events it wants, its signing secret
  (sealed), whether it is on, since when it fails, soft deletion.
- webhook_attempt: one row per HTTP attempt (status, duration, error, 1 KB of the answer).
- outbox_message.kind: the webhook kinds (one per event, and a test event) and the mail that
  tells a program its endpoint was turned off.

Revision ID: 0012_webhooks
Revises: 0011_programs_more
"""
import sqlalchemy as sa
from alembic import op

import courseware.models.base

revision = "0012_webhooks"
down_revision = "0011_programs_more"
branch_labels = None
depends_on = None

UTC = courseware.models.base.UTCDateTime

MAIL_KINDS = ("password_reset", "confirm_address", "address_taken", "address_changed",
              "roleplay_graded", "certificate_issued", "certificate_suspended",
              "certificate_reinstated", "certificate_revoked", "renewal_open",
              "expires_in_30_days", "expires_in_7_days", "certificate_expired",
              "moderation_needed", "grading_digest", "program_welcome")
NEW_KINDS = ("webhook_disabled", "webhook.certificate.suspended",
             "webhook.certificate.reinstated", "webhook.certificate.revoked",
             "webhook.certificate.expiring", "webhook.certificate.expired",
             "webhook.certificate.renewed", "webhook.test")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_outbox_message_kind"), type_="check")
        batch_op.create_check_constraint(op.f("ck_outbox_message_kind"),
                                         _in("kind", MAIL_KINDS + NEW_KINDS))

    op.create_table(
        "webhook_endpoint",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=True),
        sa.Column("events", sa.String(length=240), nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("previous_secret", sa.Text(), nullable=True),
        sa.Column("previous_secret_until", UTC(), nullable=True),
        sa.Column("created_at", UTC(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("disabled_at", UTC(), nullable=True),
        sa.Column("disabled_reason", sa.String(length=300), nullable=True),
        sa.Column("failing_since", UTC(), nullable=True),
        sa.Column("last_attempt_at", UTC(), nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("deleted_at", UTC(), nullable=True),
        sa.CheckConstraint("events <> ''", name=op.f("ck_webhook_endpoint_events")),
        sa.CheckConstraint("enabled OR disabled_at IS NOT NULL",
                           name=op.f("ck_webhook_endpoint_disabled")),
        sa.CheckConstraint("previous_secret IS NULL OR previous_secret_until IS NOT NULL",
                           name=op.f("ck_webhook_endpoint_previous_secret")),
        sa.ForeignKeyConstraint(["program_id"], ["program.id"],
                                name=op.f("fk_webhook_endpoint_program_id_program")),
        sa.ForeignKeyConstraint(["created_by_id"], ["user.id"],
                                name=op.f("fk_webhook_endpoint_created_by_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_endpoint")),
    )
    op.create_index("ix_webhook_endpoint_program_id", "webhook_endpoint", ["program_id", "id"])

    op.create_table(
        "webhook_attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("endpoint_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("attempted_at", UTC(), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("response_excerpt", sa.Text(), nullable=True),
        sa.CheckConstraint(_in("kind", MAIL_KINDS + NEW_KINDS),
                           name=op.f("ck_webhook_attempt_kind")),
        sa.CheckConstraint("duration_ms >= 0", name=op.f("ck_webhook_attempt_duration")),
        sa.ForeignKeyConstraint(["message_id"], ["outbox_message.id"],
                                name=op.f("fk_webhook_attempt_message_id_outbox_message")),
        sa.ForeignKeyConstraint(["endpoint_id"], ["webhook_endpoint.id"],
                                name=op.f("fk_webhook_attempt_endpoint_id_webhook_endpoint")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_attempt")),
    )
    op.create_index("ix_webhook_attempt_endpoint", "webhook_attempt", ["endpoint_id", "id"])
    op.create_index("ix_webhook_attempt_message", "webhook_attempt", ["message_id", "id"])


def downgrade() -> None:
    op.drop_table("webhook_attempt")
    op.drop_table("webhook_endpoint")
    op.execute(f"DELETE FROM outbox_message WHERE {_in('kind', NEW_KINDS)}")
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_outbox_message_kind"), type_="check")
        batch_op.create_check_constraint(op.f("ck_outbox_message_kind"), _in("kind", MAIL_KINDS))
