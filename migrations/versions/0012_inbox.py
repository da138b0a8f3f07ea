"""inbox: platform events stored before their ack and handled after it

Revision ID: 0012
Revises: 0010
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.storage.models

revision: str = "0012"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "inbox_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("event_id", sa.String(length=128), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("received_at", bot.storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("lease_until", bot.storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox_events")),
        sa.UniqueConstraint(
            "platform", "event_id", name=op.f("uq_inbox_events_platform_event_id")
        ),
    )
    op.create_index(
        op.f("ix_inbox_events_status_id"), "inbox_events", ["status", "id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_inbox_events_status_id"), table_name="inbox_events")
    op.drop_table("inbox_events")
