"""programs: organisations, their staff logins, API keys and rosters (issue #19)

- program: an organisation (requested through the public form, or made active by an admin).
- user.program_id and role 'program': a staff login belongs to exactly one program.
- api_key: SHA-256 of each key, a visible prefix, scopes, expiry, last use, revocation.
- roster_entry: the certificates a program follows, once each.

Revision ID: 0010_programs
Revises: 0007_outbox_mail
"""
import sqlalchemy as sa
from alembic import op

import courseware.models.base

revision = "0010_programs"
down_revision = "0007_outbox_mail"
branch_labels = None
depends_on = None

UTC = courseware.models.base.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "program",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("contact_email", sa.String(length=254), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("request_note", sa.Text(), nullable=True),
        sa.Column("created_at", UTC(), nullable=False),
        sa.Column("decided_at", UTC(), nullable=True),
        sa.CheckConstraint("status IN ('requested', 'active', 'declined')",
                           name=op.f("ck_program_status")),
        sa.CheckConstraint("length(country) = 2", name=op.f("ck_program_country")),
        sa.CheckConstraint("(status = 'requested') = (decided_at IS NULL)",
                           name=op.f("ck_program_decided_at")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_program")),
        sa.UniqueConstraint("name", name=op.f("uq_program_name")),
    )
    op.create_index("ix_program_status", "program", ["status", "created_at"])

    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("program_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_user_program_id_program"), "program",
                                    ["program_id"], ["id"])
        batch_op.drop_constraint(op.f("ck_user_role"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_user_role"), "role IN ('learner', 'trainer', 'admin', 'program')")
        batch_op.create_check_constraint(
            op.f("ck_user_program"), "(role = 'program') = (program_id IS NOT NULL)")
        batch_op.create_index("ix_user_program_id", ["program_id"])

    op.create_table(
        "api_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("prefix", sa.String(length=24), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("scopes", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTC(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("expires_at", UTC(), nullable=True),
        sa.Column("last_used_at", UTC(), nullable=True),
        sa.Column("revoked_at", UTC(), nullable=True),
        sa.Column("revoked_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("scopes <> ''", name=op.f("ck_api_key_scopes")),
        sa.CheckConstraint("expires_at IS NULL OR expires_at > created_at",
                           name=op.f("ck_api_key_dates")),
        sa.ForeignKeyConstraint(["program_id"], ["program.id"],
                                name=op.f("fk_api_key_program_id_program")),
        sa.ForeignKeyConstraint(["created_by_id"], ["user.id"],
                                name=op.f("fk_api_key_created_by_id_user")),
        sa.ForeignKeyConstraint(["revoked_by_id"], ["user.id"],
                                name=op.f("fk_api_key_revoked_by_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_key")),
        sa.UniqueConstraint("prefix", name=op.f("uq_api_key_prefix")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_key_key_hash")),
    )
    op.create_index("ix_api_key_program_id", "api_key", ["program_id", "created_at"])

    op.create_table(
        "roster_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("certificate_id", sa.Integer(), nullable=False),
        sa.Column("added_at", UTC(), nullable=False),
        sa.Column("added_by_id", sa.Integer(), nullable=True),
        sa.Column("added_by_key_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(["program_id"], ["program.id"],
                                name=op.f("fk_roster_entry_program_id_program")),
        sa.ForeignKeyConstraint(["certificate_id"], ["certificate.id"],
                                name=op.f("fk_roster_entry_certificate_id_certificate")),
        sa.ForeignKeyConstraint(["added_by_id"], ["user.id"],
                                name=op.f("fk_roster_entry_added_by_id_user")),
        sa.ForeignKeyConstraint(["added_by_key_id"], ["api_key.id"],
                                name=op.f("fk_roster_entry_added_by_key_id_api_key")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_roster_entry")),
        sa.UniqueConstraint("program_id", "certificate_id",
                            name=op.f("uq_roster_entry_program_id_certificate_id")),
    )
    op.create_index("ix_roster_entry_certificate_id", "roster_entry", ["certificate_id"])
    op.create_index("ix_roster_entry_program_page", "roster_entry", ["program_id", "id"])


def downgrade() -> None:
    op.drop_table("roster_entry")
    op.drop_table("api_key")
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.drop_index("ix_user_program_id")
        batch_op.drop_constraint(op.f("ck_user_program"), type_="check")
        batch_op.drop_constraint(op.f("ck_user_role"), type_="check")
        batch_op.create_check_constraint(op.f("ck_user_role"),
                                         "role IN ('learner', 'trainer', 'admin')")
        batch_op.drop_constraint(op.f("fk_user_program_id_program"), type_="foreignkey")
        batch_op.drop_column("program_id")
    op.drop_index("ix_program_status", table_name="program")
    op.drop_table("program")
