"""leaderboards at scale: each entry carries its round's channel and date and its counted
score under one covering index, and members keep their totals per team by month and all time

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.storage.models

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# What the app now writes with every entry, worked out once for the rows already there: the
# round's channel and date, and the score that counts (bot.storage.tally): the entry's
# answer's newest grade, if it grades the answer's latest text.
BACKFILL_ENTRIES = """
UPDATE entries SET
    channel_id = (SELECT r.channel_id FROM rounds r WHERE r.id = entries.round_id),
    local_date = (SELECT r.local_date FROM rounds r WHERE r.id = entries.round_id),
    score = (
        SELECT g.score FROM answers a JOIN grades g ON g.answer_id = a.id
        WHERE a.id = entries.answer_id AND g.answer_revision = a.revision
          AND NOT EXISTS (SELECT 1 FROM grades n WHERE n.answer_id = g.answer_id AND n.id > g.id)
    )
"""
# Months of local dates, as bot.storage.tally.month_of keys them.
MONTH = {"postgresql": "CAST(date_trunc('month', e.local_date) AS DATE)",
         "sqlite": "date(e.local_date, 'start of month')"}  # fmt: skip
BACKFILL_MONTHS = """
INSERT INTO team_month_totals (team_id, month, member_id, points, rounds, first_answered_at)
SELECT c.team_id, {month}, e.member_id, coalesce(sum(e.score), 0.0), count(*),
       min(e.first_answered_at)
FROM entries e JOIN channels c ON c.id = e.channel_id
GROUP BY c.team_id, {month}, e.member_id
"""
BACKFILL_TOTALS = """
INSERT INTO team_totals (team_id, member_id, points, rounds, first_answered_at)
SELECT team_id, member_id, sum(points), sum(rounds), min(first_answered_at)
FROM team_month_totals GROUP BY team_id, member_id
"""


# Boards read entries through index-only scans, which fall back to the table for pages
# changed since the last vacuum. By default autovacuum waits for a fifth of the table (about
# ten weeks of a big workspace's answers); this brings it round every few days.
FRESH_VISIBILITY = (
    "ALTER TABLE entries SET (autovacuum_vacuum_scale_factor = 0.01, "
    "autovacuum_vacuum_insert_scale_factor = 0.01)"
)


def upgrade() -> None:
    with op.batch_alter_table("entries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("channel_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("local_date", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("score", sa.Float(), nullable=True))
    op.execute(BACKFILL_ENTRIES)
    with op.batch_alter_table("entries", schema=None) as batch_op:
        batch_op.alter_column("channel_id", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("local_date", existing_type=sa.Date(), nullable=False)
        batch_op.create_index(
            batch_op.f("ix_entries_for_boards"),
            ["channel_id", "local_date", "member_id", "score", "first_answered_at"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_entries_member_id_local_date"), ["member_id", "local_date"], unique=False
        )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(FRESH_VISIBILITY)
    op.create_table(
        "team_month_totals",
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("points", sa.Float(), nullable=False),
        sa.Column("rounds", sa.Integer(), nullable=False),
        sa.Column(
            "first_answered_at", bot.storage.models.UTCDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_team_month_totals_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["teams.id"],
            name=op.f("fk_team_month_totals_team_id_teams"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("team_id", "month", "member_id", name=op.f("pk_team_month_totals")),
    )
    with op.batch_alter_table("team_month_totals", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_team_month_totals_member_id"), ["member_id"], unique=False
        )
    op.create_table(
        "team_totals",
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("points", sa.Float(), nullable=False),
        sa.Column("rounds", sa.Integer(), nullable=False),
        sa.Column(
            "first_answered_at", bot.storage.models.UTCDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_team_totals_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_team_totals_team_id_teams"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("team_id", "member_id", name=op.f("pk_team_totals")),
    )
    with op.batch_alter_table("team_totals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_team_totals_member_id"), ["member_id"], unique=False)
    op.execute(BACKFILL_MONTHS.format(month=MONTH[op.get_bind().dialect.name]))
    op.execute(BACKFILL_TOTALS)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE entries RESET (autovacuum_vacuum_scale_factor, "
            "autovacuum_vacuum_insert_scale_factor)"
        )
    with op.batch_alter_table("team_totals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_team_totals_member_id"))
    op.drop_table("team_totals")
    with op.batch_alter_table("team_month_totals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_team_month_totals_member_id"))
    op.drop_table("team_month_totals")
    with op.batch_alter_table("entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_entries_member_id_local_date"))
        batch_op.drop_index(batch_op.f("ix_entries_for_boards"))
        batch_op.drop_column("score")
        batch_op.drop_column("local_date")
        batch_op.drop_column("channel_id")
