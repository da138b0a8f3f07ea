"""squads: named groups of members in a team, ranked against each other

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.storage.models

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "squads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("created_at", bot.storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_squads_team_id_teams"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_squads")),
        sa.UniqueConstraint("team_id", "name", name=op.f("uq_squads_team_id_name")),
    )
    op.create_table(
        "squad_members",
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("squad_id", sa.Integer(), nullable=False),
        sa.Column("joined_at", bot.storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_squad_members_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["squad_id"],
            ["squads.id"],
            name=op.f("fk_squad_members_squad_id_squads"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("member_id", name=op.f("pk_squad_members")),
    )
    op.create_index(
        op.f("ix_squad_members_squad_id"), "squad_members", ["squad_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_squad_members_squad_id"), table_name="squad_members")
    op.drop_table("squad_members")
    op.drop_table("squads")
