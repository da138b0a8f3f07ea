"""Two replicas started at the same instant on an empty database both come up."""

from __future__ import annotations

import asyncio
import time

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import text

from bot.storage import migrate
from bot.storage.db import make_engine
from bot.storage.models import Base
from tests.chaos.harness import POLL, Chaos, Replica

pytestmark = pytest.mark.asyncio
WAITING = """SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
             AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'"""


@pytest.fixture
def chaos_database(blank_database_url: str) -> str:
    """No tables at all: both replicas find the schema missing and migrate."""
    return blank_database_url


async def launch_together(database_url: str, replicas: list[Replica]) -> None:
    """Launch the replicas and, on PostgreSQL, hold them at the start of their migration until
    all of them got there, so "at the same instant" does not depend on how fast each process
    imports. An uncommitted `alembic_version` of our own makes each replica's CREATE TABLE (or
    its migration lock) wait; rolling it back lets them all go at once, into an empty database.
    On SQLite there is nothing to line up: BEGIN IMMEDIATE queues them anyway."""
    engine = make_engine(database_url)
    try:
        if engine.dialect.name != "postgresql":
            for replica in replicas:
                replica.launch()
            return
        async with engine.connect() as connection:
            gate = await connection.begin()
            await connection.execute(text("CREATE TABLE alembic_version (version_num text)"))
            for replica in replicas:
                replica.launch()
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and all(r.running for r in replicas):
                await connection.execute(text("SELECT pg_stat_clear_snapshot()"))  # a fresh view
                waiting = await connection.scalar(text(WAITING))
                if waiting is not None and waiting >= len(replicas):
                    break
                await asyncio.sleep(POLL)
            # Otherwise they go anyway: the test still checks that every one comes up.
            await gate.rollback()
    finally:
        await engine.dispose()


async def test_two_replicas_started_at_once_on_an_empty_database_both_come_up(
    chaos: Chaos,
) -> None:
    first, second = chaos.replica(), chaos.replica()

    await launch_together(chaos.database_url, [first, second])
    await asyncio.gather(chaos.wait_ready(first), chaos.wait_ready(second))

    head = ScriptDirectory.from_config(migrate.alembic_config()).get_current_head()
    versions = await chaos.query("SELECT version_num FROM alembic_version")
    assert [v for (v,) in versions] == [head]
    for table in Base.metadata.tables:
        await chaos.query(f"SELECT count(*) FROM {table}")  # raises if the table is missing
    assert await first.stop() == 0
    assert await second.stop() == 0
