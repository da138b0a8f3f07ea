"""Run Alembic migrations from inside the app, on the app's own engine."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.shipped import shipped_dir

MIGRATIONS = shipped_dir("migrations")

MIGRATION_LOCK = 0x6F70_7364_7269_6C6C  # "opsdrill": the advisory lock key every process shares


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the database to `revision` (the newest by default). Safe to run every start, from
    any number of processes at once: they take turns, and the later ones find nothing to do."""
    async with engine.begin() as connection:
        await _take_turn(connection)
        await connection.run_sync(lambda c: command.upgrade(alembic_config(c), revision))


async def _take_turn(connection: AsyncConnection) -> None:
    """Hold the migration lock until this transaction ends.

    Without it, two replicas starting on an empty PostgreSQL both find no tables and both
    create them; the slower one dies on a unique violation in the catalog. On SQLite the
    engine's BEGIN IMMEDIATE already takes the database's write lock."""
    if connection.dialect.name == "postgresql":
        await connection.execute(
            text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK}
        )


async def check(engine: AsyncEngine) -> None:
    """Raise if the models and the migrations disagree (`alembic check`)."""
    async with engine.connect() as connection:
        await connection.run_sync(lambda c: command.check(alembic_config(c)))
