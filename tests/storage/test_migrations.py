"""Alembic builds the schema from nothing, and the models and migrations agree."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from bot.storage import migrate
from bot.storage.db import make_engine, make_sessionmaker
from bot.storage.models import Base, Channel, Round, Team

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


async def test_one_round_per_channel_per_local_date_is_a_constraint(database_url: str) -> None:
    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    try:
        async with sessions.begin() as session:
            team = Team(platform="memory", external_id="T1", name="", created_at=NOW)
            session.add(team)
            await session.flush()
            channel = Channel(
                team_id=team.id, external_id="C1", name="", post_time="09:00", timezone="UTC",
                weekdays="mon", window_minutes=60, active=True, created_at=NOW,
                schedule_changed_at=NOW,
            )  # fmt: skip
            session.add(channel)
            await session.flush()
            channel_id = channel.id

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
    finally:
        await engine.dispose()


async def test_times_come_back_as_aware_utc(database_url: str) -> None:
    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    try:
        async with sessions.begin() as session:
            session.add(Team(platform="memory", external_id="T9", name="", created_at=NOW))
        async with sessions() as session:
            from sqlalchemy import select

            stored = (await session.scalars(select(Team.created_at))).one()
        assert stored == NOW and stored.tzinfo is not None
    finally:
        await engine.dispose()
