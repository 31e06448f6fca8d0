"""Indexes for every per-learner query and every list's filter and sort (issue #20)

A learner's pages read their own submissions (no index led with learner_id, so each eligibility
check scanned everyone's passed work); the admin lists sort users by creation, certificates by
issue date and the roster by track version; an item's audit history is read by target; quiz
reports read one quiz's attempts.

Revision ID: 0008_list_indexes
Revises: 0003
"""
from alembic import op

revision = "0008_list_indexes"
down_revision = "0003"
branch_labels = None
depends_on = None

INDEXES = [
    ("ix_submission_learner", "submission", ["learner_id", "roleplay_id", "status"]),
    ("ix_user_created", "user", ["created_at", "id"]),
    ("ix_certificate_issued", "certificate", ["issued_at", "id"]),
    ("ix_certificate_track_version", "certificate", ["track_version_id", "user_id"]),
    ("ix_audit_event_target", "audit_event", ["target_type", "target_id", "at"]),
    ("ix_quiz_attempt_quiz", "quiz_attempt", ["quiz_id", "user_id"]),
    # the dashboard's counts, read from indexes rather than the tables
    ("ix_user_role", "user", ["role"]),
    ("ix_quiz_attempt_submitted", "quiz_attempt", ["submitted_at"]),
    ("ix_quiz_attempt_passed", "quiz_attempt", ["passed"]),
]


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
