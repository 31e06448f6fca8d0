"""programs, more: the mail that welcomes a new program staff login (issue #19)

- outbox_message.kind may be 'program_welcome' (a link to choose the login's password).

Revision ID: 0011_programs_more
Revises: 0010_programs
"""
from alembic import op

revision = "0011_programs_more"
down_revision = "0010_programs"
branch_labels = None
depends_on = None

KINDS = ("password_reset", "confirm_address", "address_taken", "address_changed",
         "roleplay_graded", "certificate_issued", "certificate_suspended",
         "certificate_reinstated", "certificate_revoked", "renewal_open", "expires_in_30_days",
         "expires_in_7_days", "certificate_expired", "moderation_needed", "grading_digest")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _kinds(values: tuple[str, ...]) -> None:
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_outbox_message_kind"), type_="check")
        batch_op.create_check_constraint(op.f("ck_outbox_message_kind"), _in("kind", values))


def upgrade() -> None:
    _kinds((*KINDS, "program_welcome"))


def downgrade() -> None:
    op.execute("DELETE FROM outbox_message WHERE kind = 'program_welcome'")
    _kinds(KINDS)
