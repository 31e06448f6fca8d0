"""credentials: signing keys in the database, status-list positions, a subject id per person

* signing_key: the issuer's keys (RS256), private keys sealed under KEY_ENCRYPTION_KEY. Keys of
  old installations lived as files in instance/keys (Ed25519); none are carried over: a new key
  is made on first need, and no production credential was signed with the old ones.
* status_entry: each certificate's position in the revocation and suspension lists (W3C
  Bitstring Status List), drawn at random; existing certificates get theirs here, with the bit
  set where the certificate is revoked or suspended now.
* user.subject_id: a stable `urn:uuid:` per person, the credentialSubject id of their
  credentials; generated here for existing accounts.

Revision ID: 0005_credentials_keys
Revises: 0006_calibration
"""
import random
import uuid

import sqlalchemy as sa
from alembic import op

import courseware.models.base

revision = "0005_credentials_keys"
down_revision = "0006_calibration"
branch_labels = None
depends_on = None

MIN_ENTRIES = 131_072  # herd privacy: the smallest list the specification allows


def upgrade() -> None:
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("subject_id", sa.String(length=45), nullable=True))
    bind = op.get_bind()
    users = sa.table("user", sa.column("id", sa.Integer()), sa.column("subject_id", sa.String()))
    for (user_id,) in bind.execute(sa.select(users.c.id)).all():
        bind.execute(users.update().where(users.c.id == user_id)
                     .values(subject_id=f"urn:uuid:{uuid.uuid4()}"))
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.alter_column("subject_id", existing_type=sa.String(length=45), nullable=False)
        batch_op.create_unique_constraint(op.f("uq_user_subject_id"), ["subject_id"])

    op.create_table(
        "signing_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("thumbprint", sa.String(length=64), nullable=False),
        sa.Column("algorithm", sa.String(length=8), nullable=False),
        sa.Column("public_jwk", sa.JSON(), nullable=False),
        sa.Column("private_key_sealed", sa.Text(), nullable=False),
        sa.Column("created_at", courseware.models.base.UTCDateTime(), nullable=False),
        sa.CheckConstraint("algorithm IN ('RS256')", name=op.f("ck_signing_key_algorithm")),
        sa.CheckConstraint("generation >= 1", name=op.f("ck_signing_key_generation")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signing_key")),
        sa.UniqueConstraint("generation", name=op.f("uq_signing_key_generation")),
        sa.UniqueConstraint("thumbprint", name=op.f("uq_signing_key_thumbprint")),
    )
    entries = op.create_table(
        "status_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("list_index", sa.Integer(), nullable=False),
        sa.Column("certificate_id", sa.Integer(), nullable=False),
        sa.Column("is_set", sa.Boolean(), nullable=False),
        sa.CheckConstraint("list_index >= 0", name=op.f("ck_status_entry_list_index")),
        sa.CheckConstraint("purpose IN ('revocation', 'suspension')",
                           name=op.f("ck_status_entry_purpose")),
        sa.ForeignKeyConstraint(["certificate_id"], ["certificate.id"],
                                name=op.f("fk_status_entry_certificate_id_certificate")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_entry")),
        sa.UniqueConstraint("purpose", "certificate_id",
                            name=op.f("uq_status_entry_purpose_certificate_id")),
        sa.UniqueConstraint("purpose", "list_index",
                            name=op.f("uq_status_entry_purpose_list_index")),
    )
    with op.batch_alter_table("status_entry", schema=None) as batch_op:
        batch_op.create_index("ix_status_entry_set", ["purpose", "is_set"], unique=False)

    certificates = sa.table("certificate", sa.column("id", sa.Integer()),
                            sa.column("revoked_at", sa.DateTime()),
                            sa.column("suspended_at", sa.DateTime()))
    rows = bind.execute(sa.select(certificates.c.id, certificates.c.revoked_at,
                                  certificates.c.suspended_at).order_by(certificates.c.id)).all()
    length = MIN_ENTRIES
    while length < 2 * len(rows):
        length *= 2
    # one random position per certificate, the same in both lists, none used twice
    positions = random.SystemRandom().sample(range(length), len(rows))
    values = []
    for (cert_id, revoked_at, suspended_at), position in zip(rows, positions, strict=True):
        values.append({"purpose": "revocation", "list_index": position, "certificate_id": cert_id,
                       "is_set": revoked_at is not None})
        values.append({"purpose": "suspension", "list_index": position, "certificate_id": cert_id,
                       "is_set": suspended_at is not None})
    if values:
        op.bulk_insert(entries, values)


def downgrade() -> None:
    with op.batch_alter_table("status_entry", schema=None) as batch_op:
        batch_op.drop_index("ix_status_entry_set")
    op.drop_table("status_entry")
    op.drop_table("signing_key")
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("uq_user_subject_id"), type_="unique")
        batch_op.drop_column("subject_id")
