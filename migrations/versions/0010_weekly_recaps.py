"""weekly recaps: each channel's recap day, and one recap row per channel and week

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.storage.models

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN, which SQLite does in place: batch mode would copy `channels` and drop
    # the old table, and on SQLite that drop cascades to every round of the channel.
    op.add_column(
        "channels",
        sa.Column("recap_day", sa.Integer(), server_default=sa.text("0"), nullable=True),
    )
    op.create_table(
        "recaps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("week", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("first_day", sa.Date(), nullable=False),
        sa.Column("last_day", sa.Date(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=True),
        sa.Column("message_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", bot.storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("posted_at", bot.storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["channels.id"],
            name=op.f("fk_recaps_channel_id_channels"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recaps")),
        sa.UniqueConstraint("channel_id", "week", name=op.f("uq_recaps_channel_id_week")),
    )


def downgrade() -> None:
    op.drop_table("recaps")
    op.drop_column("channels", "recap_day")
