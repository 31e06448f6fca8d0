"""certificate_evidence: a certificate's evidence moves to a table of its own

Verification reads certificate rows all day and never the evidence (about 1.6 KB of JSON per
certificate). Kept in the row, it made a million certificates ten times larger to search.

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "certificate_evidence",
        sa.Column("certificate_id", sa.Integer(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["certificate_id"], ["certificate.id"],
                                name=op.f("fk_certificate_evidence_certificate_id_certificate")),
        sa.PrimaryKeyConstraint("certificate_id", name=op.f("pk_certificate_evidence")),
    )
    op.execute("INSERT INTO certificate_evidence (certificate_id, evidence) "
               "SELECT id, evidence FROM certificate")
    with op.batch_alter_table("certificate", schema=None) as batch_op:
        batch_op.drop_column("evidence")


def downgrade() -> None:
    with op.batch_alter_table("certificate", schema=None) as batch_op:
        batch_op.add_column(sa.Column("evidence", sa.JSON(), nullable=True))
    op.execute("UPDATE certificate SET evidence = (SELECT e.evidence FROM certificate_evidence e "
               "WHERE e.certificate_id = certificate.id)")
    with op.batch_alter_table("certificate", schema=None) as batch_op:
        batch_op.alter_column("evidence", existing_type=sa.JSON(), nullable=False)
    op.drop_table("certificate_evidence")
