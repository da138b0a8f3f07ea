"""A channel's kept rotation is moved on only from the version it was read at."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from bot.questions.rotation import Rotation
from bot.storage import migrate, rotations
from bot.storage.db import make_engine, make_sessionmaker
from bot.storage.models import Channel, ChannelRotation, Team

pytestmark = pytest.mark.asyncio
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


async def test_a_move_from_an_outdated_read_drops_the_row_instead_of_writing_it(
    database_url: str,
) -> None:
    engine = make_engine(database_url)
    await migrate.upgrade(engine)
    sessions = make_sessionmaker(engine)
    try:
        async with sessions.begin() as session:
            team = Team(platform="memory", external_id="T1", name="", created_at=NOW)
            session.add(team)
            await session.flush()
            channel = Channel(
                team_id=team.id, external_id="C1", name="", post_time="09:00", timezone="UTC",
                weekdays="daily", window_minutes=60, active=True, created_at=NOW,
                schedule_changed_at=NOW,
            )  # fmt: skip
            session.add(channel)
            await session.flush()
            channel_id = channel.id
        monday = Rotation().after("retrain", "monitoring", date(2026, 11, 23))
        tuesday = monday.after("canary", "deployment", date(2026, 11, 24))
        async with sessions.begin() as session:
            await rotations.save(session, [rotations.Move(channel_id, None, monday, 1)])
        async with sessions.begin() as session:
            await rotations.save(session, [rotations.Move(channel_id, 1, tuesday, 2)])
            assert (await rotations.load(session, [channel_id]))[channel_id].round_id == 2
        # A process that read the row at round 1 too, and chose its own question from it.
        stale = monday.after("shadow", "deployment", date(2026, 11, 25))
        async with sessions.begin() as session:
            await rotations.save(session, [rotations.Move(channel_id, 1, stale, 3)])
        async with sessions() as session:
            assert (await session.scalars(select(ChannelRotation))).all() == []
    finally:
        await engine.dispose()
