"""calibration: trainer calibration runs, blind double marking and blind moderation

Content of kind "calibration" (anchor responses); calibration_run and calibration_answer; a
submission records whether it was drawn for a blind second grade (status double_marking while it
waits for it) and which grade decided it; grades of kind double_mark; moderation records a
moderator's decision after their own blind grade, with the agreement of the grades.

Revision ID: 0006_calibration
Revises: 0009_audit_request_id
"""
import sqlalchemy as sa
from alembic import op

import courseware.models.base

revision = "0006_calibration"
down_revision = "0009_audit_request_id"
branch_labels = None
depends_on = None

OLD_OPEN = "status IN ('draft', 'submitted', 'moderation')"
NEW_OPEN = "status IN ('draft', 'submitted', 'moderation', 'double_marking')"
OLD_STATUS = "status IN ('draft', 'submitted', 'moderation', 'returned', 'passed')"
NEW_STATUS = "status IN ('draft', 'submitted', 'moderation', 'returned', 'passed', " \
             "'double_marking')"
OLD_KINDS = "kind IN ('module', 'quiz', 'roleplay', 'track')"
NEW_KINDS = "kind IN ('module', 'quiz', 'roleplay', 'track', 'calibration')"
OLD_GRADES = "kind IN ('grade', 'moderation', 'amendment')"
NEW_GRADES = "kind IN ('grade', 'moderation', 'amendment', 'double_mark')"
OPEN_RUN = "status = 'in_progress'"


def _check(table: str, name: str, condition: str) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.drop_constraint(op.f(f"ck_{table}_{name}"), type_="check")
        batch_op.create_check_constraint(op.f(f"ck_{table}_{name}"), condition)


def upgrade() -> None:
    _check("content_item", "kind", NEW_KINDS)
    _check("grade", "kind", NEW_GRADES)
    with op.batch_alter_table("submission", schema=None) as batch_op:
        batch_op.drop_index("uq_submission_open", sqlite_where=sa.text(OLD_OPEN),
                            postgresql_where=sa.text(OLD_OPEN))
    with op.batch_alter_table("submission", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_submission_status"), type_="check")
        batch_op.create_check_constraint(op.f("ck_submission_status"), NEW_STATUS)
        batch_op.add_column(sa.Column("double_mark", sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column("decided_grade_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key("fk_submission_decided_grade_id_grade", "grade",
                                    ["decided_grade_id"], ["id"])
        batch_op.create_index("uq_submission_open", ["learner_id", "roleplay_id"], unique=True,
                              sqlite_where=sa.text(NEW_OPEN), postgresql_where=sa.text(NEW_OPEN))
    # what the learner was shown so far: the latest grade of a decided submission
    op.execute("UPDATE submission SET decided_grade_id = (SELECT g.id FROM grade g "
               "WHERE g.submission_id = submission.id ORDER BY g.number DESC LIMIT 1) "
               "WHERE status IN ('passed', 'returned')")

    op.create_table(
        "calibration_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("trainer_id", sa.Integer(), nullable=False),
        sa.Column("roleplay_id", sa.Integer(), nullable=False),
        sa.Column("calibration_version_id", sa.Integer(), nullable=False),
        sa.Column("roleplay_version_id", sa.Integer(), nullable=False),
        sa.Column("rubric_hash", sa.String(length=64), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("order", sa.JSON(), nullable=False),
        sa.Column("exact_required", sa.Integer(), nullable=False),
        sa.Column("adjacent_required", sa.Integer(), nullable=False),
        sa.Column("started_at", courseware.models.base.UTCDateTime(), nullable=False),
        sa.Column("completed_at", courseware.models.base.UTCDateTime(), nullable=True),
        sa.Column("exact_percent", sa.Float(), nullable=True),
        sa.Column("adjacent_percent", sa.Float(), nullable=True),
        sa.Column("critical_agreed", sa.Boolean(), nullable=True),
        sa.CheckConstraint("status IN ('in_progress', 'passed', 'failed')",
                           name=op.f("ck_calibration_run_status")),
        sa.CheckConstraint(
            "(status = 'in_progress' AND completed_at IS NULL) OR (status <> 'in_progress' "
            "AND completed_at IS NOT NULL AND exact_percent IS NOT NULL AND adjacent_percent "
            "IS NOT NULL AND critical_agreed IS NOT NULL)",
            name=op.f("ck_calibration_run_completed")),
        sa.ForeignKeyConstraint(["calibration_version_id"], ["content_version.id"],
                                name=op.f("fk_calibration_run_calibration_version_id_content_version")),
        sa.ForeignKeyConstraint(["roleplay_id"], ["content_item.id"],
                                name=op.f("fk_calibration_run_roleplay_id_content_item")),
        sa.ForeignKeyConstraint(["roleplay_version_id"], ["content_version.id"],
                                name=op.f("fk_calibration_run_roleplay_version_id_content_version")),
        sa.ForeignKeyConstraint(["trainer_id"], ["user.id"],
                                name=op.f("fk_calibration_run_trainer_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calibration_run")),
        sa.UniqueConstraint("trainer_id", "roleplay_id", "number",
                            name=op.f("uq_calibration_run_trainer_id_roleplay_id_number")),
    )
    with op.batch_alter_table("calibration_run", schema=None) as batch_op:
        batch_op.create_index("uq_calibration_run_open", ["trainer_id", "roleplay_id"],
                              unique=True, sqlite_where=sa.text(OPEN_RUN),
                              postgresql_where=sa.text(OPEN_RUN))
    op.create_table(
        "calibration_answer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("anchor_id", sa.String(length=100), nullable=False),
        sa.Column("levels", sa.JSON(), nullable=False),
        sa.Column("comments", sa.JSON(), nullable=False),
        sa.Column("created_at", courseware.models.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["calibration_run.id"],
                                name=op.f("fk_calibration_answer_run_id_calibration_run")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calibration_answer")),
        sa.UniqueConstraint("run_id", "anchor_id",
                            name=op.f("uq_calibration_answer_run_id_anchor_id")),
    )
    op.create_table(
        "moderation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("grade_id", sa.Integer(), nullable=False),
        sa.Column("reviewed_grade_id", sa.Integer(), nullable=False),
        sa.Column("moderator_id", sa.Integer(), nullable=False),
        sa.Column("cause", sa.String(length=16), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("agreement", sa.JSON(), nullable=False),
        sa.Column("exact_percent", sa.Float(), nullable=False),
        sa.Column("adjacent_percent", sa.Float(), nullable=False),
        sa.Column("outcome_agreed", sa.Boolean(), nullable=False),
        sa.Column("decided_at", courseware.models.base.UTCDateTime(), nullable=False),
        sa.CheckConstraint("decision IN ('confirmed', 'overturned')",
                           name=op.f("ck_moderation_decision")),
        sa.CheckConstraint("cause IN ('critical', 'disagreement')",
                           name=op.f("ck_moderation_cause")),
        sa.CheckConstraint("decision = 'confirmed' OR reason IS NOT NULL",
                           name=op.f("ck_moderation_reason")),
        sa.ForeignKeyConstraint(["grade_id"], ["grade.id"],
                                name=op.f("fk_moderation_grade_id_grade")),
        sa.ForeignKeyConstraint(["moderator_id"], ["user.id"],
                                name=op.f("fk_moderation_moderator_id_user")),
        sa.ForeignKeyConstraint(["reviewed_grade_id"], ["grade.id"],
                                name=op.f("fk_moderation_reviewed_grade_id_grade")),
        sa.ForeignKeyConstraint(["submission_id"], ["submission.id"],
                                name=op.f("fk_moderation_submission_id_submission")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_moderation")),
        sa.UniqueConstraint("grade_id", name=op.f("uq_moderation_grade_id")),
    )


def downgrade() -> None:
    op.drop_table("moderation")
    op.drop_table("calibration_answer")
    with op.batch_alter_table("calibration_run", schema=None) as batch_op:
        batch_op.drop_index("uq_calibration_run_open", sqlite_where=sa.text(OPEN_RUN),
                            postgresql_where=sa.text(OPEN_RUN))
    op.drop_table("calibration_run")
    # work waiting for a second mark goes back to the state it would have had without one
    op.execute("UPDATE submission SET status = (SELECT g.outcome FROM grade g WHERE "
               "g.submission_id = submission.id ORDER BY g.number DESC LIMIT 1) "
               "WHERE status = 'double_marking'")
    op.execute("DELETE FROM grade WHERE kind = 'double_mark'")
    with op.batch_alter_table("submission", schema=None) as batch_op:
        batch_op.drop_index("uq_submission_open", sqlite_where=sa.text(NEW_OPEN),
                            postgresql_where=sa.text(NEW_OPEN))
    with op.batch_alter_table("submission", schema=None) as batch_op:
        batch_op.drop_constraint("fk_submission_decided_grade_id_grade", type_="foreignkey")
        batch_op.drop_column("decided_grade_id")
        batch_op.drop_column("double_mark")
        batch_op.drop_constraint(op.f("ck_submission_status"), type_="check")
        batch_op.create_check_constraint(op.f("ck_submission_status"), OLD_STATUS)
        batch_op.create_index("uq_submission_open", ["learner_id", "roleplay_id"], unique=True,
                              sqlite_where=sa.text(OLD_OPEN), postgresql_where=sa.text(OLD_OPEN))
    op.execute("UPDATE content_item SET current_version_id = NULL WHERE kind = 'calibration'")
    op.execute("DELETE FROM content_version WHERE item_id IN "
               "(SELECT id FROM content_item WHERE kind = 'calibration')")
    op.execute("DELETE FROM content_item WHERE kind = 'calibration'")
    _check("grade", "kind", OLD_GRADES)
    _check("content_item", "kind", OLD_KINDS)
