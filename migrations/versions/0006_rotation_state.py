"""rotation state: each channel's place in the question rotation, so choosing the next
question reads one row instead of the channel's whole history (filled in as channels post)

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rotations",
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("uses", sa.JSON(), nullable=False),
        sa.Column("last_date", sa.Date(), nullable=True),
        sa.Column("last_category", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["channels.id"],
            name=op.f("fk_rotations_channel_id_channels"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("channel_id", name=op.f("pk_rotations")),
    )


def downgrade() -> None:
    op.drop_table("rotations")
