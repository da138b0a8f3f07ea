"""Sessions on a migrated, empty database of each backend, and the rows most storage tests
start from."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.storage.db import make_engine, make_sessionmaker
from bot.storage.models import Channel, Team

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(database_url)
    try:
        yield make_sessionmaker(engine)
    finally:
        await engine.dispose()


async def add_channel(sessions: async_sessionmaker[AsyncSession], *, weekdays: str) -> int:
    """A team with one channel posting at 09:00 UTC on `weekdays`; the channel's id."""
    async with sessions.begin() as session:
        team = Team(platform="memory", external_id="T1", name="", created_at=NOW)
        session.add(team)
        await session.flush()
        channel = Channel(
            team_id=team.id, external_id="C1", name="", post_time="09:00", timezone="UTC",
            weekdays=weekdays, window_minutes=60, active=True, created_at=NOW,
            schedule_changed_at=NOW,
        )  # fmt: skip
        session.add(channel)
        await session.flush()
        return channel.id
