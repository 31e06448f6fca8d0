"""audit_event.request_id: the request (or job) that caused the event, as in the request log

Revision ID: 0009_audit_request_id
Revises: 0008_list_indexes
"""
import sqlalchemy as sa
from alembic import op

revision = "0009_audit_request_id"
down_revision = "0008_list_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("request_id", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_column("request_id")
