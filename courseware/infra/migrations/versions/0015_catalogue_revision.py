"""catalogue revision: one row that every sync changing the catalogue sets anew (issue #20)

Every learner page reads the active content (27 rows, the same for everyone) with the learner's
own marks. A process now keeps the catalogue it read under this revision, read in the same
statement as the marks, and reads the catalogue again only when the revision has changed.

Revision ID: 0015_catalogue_revision
Revises: 0014_content_listing
"""
import secrets

import sqlalchemy as sa
from alembic import op

revision = "0015_catalogue_revision"
down_revision = "0014_content_listing"
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table(
        "catalogue_revision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.String(length=32), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_catalogue_revision_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalogue_revision")),
    )
    op.bulk_insert(table, [{"id": 1, "revision": secrets.token_hex(16)}])


def downgrade() -> None:
    op.drop_table("catalogue_revision")
