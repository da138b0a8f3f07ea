"""The kept scores and totals stay right when writes for one member meet (PostgreSQL: its
transactions really run at once)."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.storage import tally
from bot.storage.db import make_engine, make_sessionmaker
from bot.storage.models import (
    Answer,
    Channel,
    Entry,
    Grade,
    Member,
    Round,
    Team,
    TeamMonthTotal,
    TeamTotal,
)

pytestmark = pytest.mark.asyncio
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


async def test_two_grades_of_one_member_stored_at_once_both_count(pg_database_url: str) -> None:
    engine = make_engine(pg_database_url)
    sessions = make_sessionmaker(engine)
    try:
        async with sessions.begin() as session:
            await _two_rounds_answered_by_one_member(session)
        first_recounted = asyncio.Event()

        async def grade(answer_id: int, round_id: int, score: float, hold: float) -> None:
            async with sessions.begin() as session:
                session.add(_grade(answer_id, score))
                await tally.recount(session, round_id=round_id, member_id=1)
                first_recounted.set()
                await asyncio.sleep(hold)  # still uncommitted while the other recounts

        async def grade_second() -> None:
            await first_recounted.wait()
            await grade(2, 2, 5.0, hold=0)

        await asyncio.gather(grade(1, 1, 7.0, hold=0.3), grade_second())

        async with sessions() as session:
            month = (await session.execute(select(TeamMonthTotal.points))).scalar_one()
            total = (await session.execute(select(TeamTotal.points, TeamTotal.rounds))).one()
        assert month == 12.0
        assert tuple(total) == (12.0, 2)
    finally:
        await engine.dispose()


async def test_totals_follow_entries_and_vanish_with_the_last_one(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        await _two_rounds_answered_by_one_member(session)
        session.add_all([_grade(1, 7.0), _grade(2, 5.0)])
        await tally.recount(session, round_id=1, member_id=1)
        await tally.recount(session, round_id=2, member_id=1)
    assert await _totals(sessions) == ([(date(2026, 11, 1), 12.0, 2)], [(12.0, 2)])

    async with sessions.begin() as session:  # the first round's answer withdrawn
        await session.execute(delete(Entry).where(Entry.round_id == 1))
        await tally.recount(session, round_id=1, member_id=1)
    assert await _totals(sessions) == ([(date(2026, 11, 1), 5.0, 1)], [(5.0, 1)])

    async with sessions.begin() as session:  # and the second: nothing left to count
        await session.execute(delete(Entry).where(Entry.round_id == 2))
        await tally.recount(session, round_id=2, member_id=1)
    assert await _totals(sessions) == ([], [])


async def _totals(
    sessions: async_sessionmaker[AsyncSession],
) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    async with sessions() as session:
        months = await session.execute(
            select(TeamMonthTotal.month, TeamMonthTotal.points, TeamMonthTotal.rounds)
        )
        totals = await session.execute(select(TeamTotal.points, TeamTotal.rounds))
        return [tuple(r) for r in months], [tuple(r) for r in totals]


async def _two_rounds_answered_by_one_member(session: AsyncSession) -> None:
    rows: list[tuple[type, dict[str, object]]] = [
        (Team, {"id": 1, "platform": "memory", "external_id": "T1", "created_at": NOW}),
        (Channel, {"id": 1, "team_id": 1, "external_id": "C1", "post_time": "09:00",
                   "timezone": "UTC", "weekdays": "daily", "window_minutes": 60,
                   "created_at": NOW, "schedule_changed_at": NOW}),
        (Member, {"id": 1, "team_id": 1, "external_id": "U1", "created_at": NOW}),
    ]  # fmt: skip
    for day in (1, 2):
        rows += [
            (Round, {"id": day, "channel_id": 1, "local_date": date(2026, 11, day),
                     "status": "open", "opens_at": NOW, "closes_at": NOW}),
            (Answer, {"id": day, "round_id": day, "member_id": 1, "message_id": f"m{day}",
                      "text": "x", "status": "counted", "revision": 1, "submitted_at": NOW}),
            (Entry, {"round_id": day, "member_id": 1, "answer_id": day,
                     "first_answered_at": NOW, "channel_id": 1,
                     "local_date": date(2026, 11, day)}),
        ]  # fmt: skip
    for model, values in rows:
        await session.execute(insert(model).values(**values))


def _grade(answer_id: int, score: float) -> Grade:
    return Grade(
        answer_id=answer_id, answer_revision=1, grader="offline", question_version="1",
        score=score, max_score=10.0, points=[], feedback="", flags=[], usage=None,
        created_at=NOW,
    )  # fmt: skip
