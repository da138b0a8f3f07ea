"""durable jobs: interview turns graded through the job queue, missed-round notices

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.storage.models

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("grading_jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("turn_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("regrade", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.alter_column("answer_id", existing_type=sa.Integer(), nullable=True)
        batch_op.create_index(batch_op.f("ix_grading_jobs_turn_id"), ["turn_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_grading_jobs_answer_id"), ["answer_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_grading_jobs_turn_id_interview_turns"),
            "interview_turns",
            ["turn_id"],
            ["id"],
            ondelete="CASCADE",
        )
    with op.batch_alter_table("grades", schema=None) as batch_op:
        batch_op.add_column(sa.Column("notice", sa.String(length=16), nullable=True))
        batch_op.add_column(
            sa.Column(
                "notice_lease_until", bot.storage.models.UTCDateTime(timezone=True), nullable=True
            )
        )
        batch_op.create_index(batch_op.f("ix_grades_notice"), ["notice"], unique=False)
    with op.batch_alter_table("rounds", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("notified_at", bot.storage.models.UTCDateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("processed_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_processed_events_processed_at"), ["processed_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("processed_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_processed_events_processed_at"))
    with op.batch_alter_table("rounds", schema=None) as batch_op:
        batch_op.drop_column("notified_at")
    with op.batch_alter_table("grades", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_grades_notice"))
        batch_op.drop_column("notice_lease_until")
        batch_op.drop_column("notice")
    with op.batch_alter_table("grading_jobs", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_grading_jobs_turn_id_interview_turns"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_grading_jobs_answer_id"))
        batch_op.drop_index(batch_op.f("ix_grading_jobs_turn_id"))
        batch_op.alter_column("answer_id", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column("regrade")
        batch_op.drop_column("turn_id")
