"""content listing: an index on content_item (active, position, kind, slug) (issue #20)

Every learner page lists the active content in course order (learning.module_states, the module
page's own read): along this index the list comes out sorted, with no sort of its own.

Revision ID: 0014_content_listing
Revises: 0013_roster_by_name
"""
from alembic import op

revision = "0014_content_listing"
down_revision = "0013_roster_by_name"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_content_item_listing", "content_item",
                    ["active", "position", "kind", "slug"])


def downgrade() -> None:
    op.drop_index("ix_content_item_listing", table_name="content_item")
