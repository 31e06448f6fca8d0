"""roster by name: an expression index on user (lower(name), id) (issue #20)

The admin mentor roster pages by person, in name order without case: keyset pages on
(lower(name), id) read along this index, so a page costs the same at a million certificates as
at a thousand. Each person's best certificate is then looked up through the certificate unique
constraint that leads with user_id.

Revision ID: 0013_roster_by_name
Revises: 0012_webhooks
"""
import sqlalchemy as sa
from alembic import op

revision = "0013_roster_by_name"
down_revision = "0012_webhooks"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_user_lower_name", "user", [sa.text("lower(name)"), "id"])


def downgrade() -> None:
    op.drop_index("ix_user_lower_name", table_name="user")
