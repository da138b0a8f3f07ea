"""leaderboard opt-out: a member can be listed as "someone" on boards and reveals

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN, which SQLite does in place: batch mode would copy the table and drop
    # the old one, and on SQLite that drop cascades to every answer and grade of its members.
    op.add_column(
        "members", sa.Column("hidden", sa.Boolean(), server_default=sa.false(), nullable=False)
    )


def downgrade() -> None:
    op.drop_column("members", "hidden")
