"""A channel's kept rotation is moved on only from the version it was read at."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.questions.rotation import Rotation
from bot.storage import rotations
from bot.storage.models import ChannelRotation
from tests.storage.conftest import add_channel

pytestmark = pytest.mark.asyncio


async def test_a_move_from_an_outdated_read_drops_the_row_instead_of_writing_it(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    channel_id = await add_channel(sessions, weekdays="daily")
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
