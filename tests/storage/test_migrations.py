"""Alembic builds the schema from nothing, and the models and migrations agree."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import column, insert, inspect, select, table, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from bot.services.leaderboard import LeaderboardService, Period
from bot.storage import migrate
from bot.storage.db import make_engine, make_sessionmaker
from bot.storage.models import (
    Answer,
    Base,
    Channel,
    Entry,
    Grade,
    Round,
    Team,
    TeamMonthTotal,
)
from tests.storage.conftest import add_channel

pytestmark = pytest.mark.asyncio
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


async def test_upgrade_builds_every_table_on_an_empty_database(blank_database_url: str) -> None:
    engine = make_engine(blank_database_url)
    try:
        await migrate.upgrade(engine)
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
            version = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()
        assert set(Base.metadata.tables) <= tables
        assert version is not None
        await migrate.upgrade(engine)  # a second run (every start does one) changes nothing
    finally:
        await engine.dispose()


async def test_models_and_migrations_agree(blank_database_url: str) -> None:
    engine = make_engine(blank_database_url)
    try:
        await migrate.upgrade(engine)
        await migrate.check(engine)  # raises if autogenerate would find a difference
    finally:
        await engine.dispose()


async def test_one_round_per_channel_per_local_date_is_a_constraint(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    channel_id = await add_channel(sessions, weekdays="mon")

    def a_round() -> Round:
        return Round(
            channel_id=channel_id, local_date=date(2026, 11, 23), status="missed",
            opens_at=NOW, closes_at=NOW,
        )  # fmt: skip

    async with sessions.begin() as session:
        session.add(a_round())
    with pytest.raises(IntegrityError):
        async with sessions.begin() as session:
            session.add(a_round())


async def test_times_come_back_as_aware_utc(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions.begin() as session:
        session.add(Team(platform="memory", external_id="T9", name="", created_at=NOW))
    async with sessions() as session:
        stored = (await session.scalars(select(Team.created_at))).one()
    assert stored == NOW and stored.tzinfo is not None


async def test_an_upgrade_from_0004_keeps_every_score_that_counted(
    blank_database_url: str,
) -> None:
    """0005 works out the kept scores and totals for the answers already there: the newest
    grade of an answer counts, and only if it grades the answer's latest text."""
    engine = make_engine(blank_database_url)
    try:
        await migrate.upgrade(engine, "0004")
        async with engine.begin() as conn:
            await _a_year_so_far(conn)
        await migrate.upgrade(engine)
        async with engine.connect() as conn:
            scores = (
                await conn.execute(text("SELECT member_id, score FROM entries ORDER BY id"))
            ).all()
            months = (
                await conn.execute(
                    select(
                        TeamMonthTotal.member_id, TeamMonthTotal.month, TeamMonthTotal.points
                    ).order_by(TeamMonthTotal.month, TeamMonthTotal.member_id)
                )
            ).all()
        board = await LeaderboardService(sessions=make_sessionmaker(engine)).team_board(
            1, Period.ALL, date(2026, 11, 2)
        )
    finally:
        await engine.dispose()
    assert scores == [(1, 7.0), (1, None), (2, 9.0), (3, None)]
    assert months == [
        (1, date(2026, 10, 1), 7.0),
        (1, date(2026, 11, 1), 0.0),
        (2, date(2026, 11, 1), 9.0),
        (3, date(2026, 11, 1), 0.0),
    ]
    assert [(s.user_id, s.points, s.rounds) for s in board] == [
        ("U2", 9.0, 1),
        ("U1", 7.0, 2),
        ("U3", 0.0, 1),
    ]


async def _a_year_so_far(conn: AsyncConnection) -> None:
    """Rows as 0004 stored them: a regraded answer, an answer edited since its grade, a
    graded one and an ungraded one, over two months."""
    at = [NOW + timedelta(minutes=i) for i in range(8)]
    await conn.execute(
        insert(Team), [{"id": 1, "platform": "memory", "external_id": "T1", "created_at": NOW}]
    )
    await conn.execute(
        insert(Channel),
        [{"id": 1, "team_id": 1, "external_id": "C1", "post_time": "09:00", "timezone": "UTC",
          "weekdays": "daily", "window_minutes": 60, "created_at": NOW,
          "schedule_changed_at": NOW}],
    )  # fmt: skip
    members_at_0004 = table(  # the columns members had then (later ones have defaults)
        "members", column("id"), column("team_id"), column("external_id"),
        column("display_name"), column("created_at"),
    )  # fmt: skip
    await conn.execute(
        insert(members_at_0004),
        [{"id": i, "team_id": 1, "external_id": f"U{i}", "display_name": "", "created_at": NOW}
         for i in (1, 2, 3)],
    )  # fmt: skip
    await conn.execute(
        insert(Round),
        [{"id": 1, "channel_id": 1, "local_date": date(2026, 10, 30), "status": "closed",
          "opens_at": NOW, "closes_at": NOW},
         {"id": 2, "channel_id": 1, "local_date": date(2026, 11, 2), "status": "closed",
          "opens_at": NOW, "closes_at": NOW}],
    )  # fmt: skip
    answers = [(1, 1, 1, 1), (2, 2, 1, 2), (3, 2, 2, 1), (4, 2, 3, 1)]  # id, round, member, rev
    await conn.execute(
        insert(Answer),
        [{"id": a, "round_id": r, "member_id": m, "message_id": f"m{a}", "text": "x",
          "status": "counted", "revision": rev, "submitted_at": at[a]}
         for a, r, m, rev in answers],
    )  # fmt: skip
    grades = [(1, 1, 3.0, True), (2, 1, 7.0, False), (3, 1, 6.0, False), (4, 1, 9.0, False)]
    await conn.execute(
        insert(Grade),
        [{"id": g, "answer_id": {1: 1, 2: 1, 3: 2, 4: 3}[g], "answer_revision": rev,
          "grader": "offline", "question_version": "1", "score": score, "max_score": 10.0,
          "points": [], "feedback": "", "provisional": provisional, "flags": [],
          "created_at": at[g]}
         for g, rev, score, provisional in grades],
    )  # fmt: skip
    await conn.execute(
        insert(Entry),
        [{"id": a, "round_id": r, "member_id": m, "answer_id": a, "first_answered_at": at[a]}
         for a, r, m, _ in answers],
    )  # fmt: skip
