"""certificate.revoked_by_id: who revoked a certificate, on the record itself

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("certificate", schema=None) as batch_op:
        batch_op.add_column(sa.Column("revoked_by_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(op.f("fk_certificate_revoked_by_id_user"), "user",
                                    ["revoked_by_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("certificate", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("fk_certificate_revoked_by_id_user"), type_="foreignkey")
        batch_op.drop_column("revoked_by_id")
