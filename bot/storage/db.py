"""Engine and session factory, made by a function from settings, never at import."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.ext.asyncio import AsyncSession as AsyncSession

DURABLE = "opsdrill_durable"
"""Execution option for a transaction whose commit must reach the disk before it returns (what
is acknowledged to a platform). On SQLite every other commit survives a crash of the process,
not of the machine; PostgreSQL syncs every commit and ignores this."""

_ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}


def async_url(url: str) -> str:
    """Accept the usual `sqlite:///…` / `postgresql://…` forms and pick the async driver."""
    parsed = make_url(url.replace("postgres://", "postgresql://", 1))
    backend = parsed.get_backend_name()
    if backend not in _ASYNC_DRIVERS:
        raise ValueError(f"unsupported database {backend!r}: use SQLite or PostgreSQL")
    return parsed.set(drivername=_ASYNC_DRIVERS[backend]).render_as_string(hide_password=False)


def make_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An async engine for `url`; SQLite gets foreign keys, WAL and a busy timeout."""
    target = async_url(url)
    if target.startswith("sqlite") and ":memory:" not in target:
        # SQLite takes one writer at a time: connections of our own waiting on each other's
        # locks only add SQLite's busy-wait sleeps. One connection queues them in order.
        kwargs = {"pool_size": 1, "max_overflow": 0, **kwargs}
    engine = create_async_engine(target, **kwargs)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            # We issue BEGIN ourselves (below) instead of the driver's lazy, deferred one.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            if engine.url.database not in (None, "", ":memory:"):
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

        @event.listens_for(engine.sync_engine, "begin")
        def _begin_immediate(connection: Any) -> None:
            # WAL with synchronous=NORMAL syncs at checkpoints, not at each commit (5 ms each
            # here): a commit survives the process dying, and a DURABLE one is synced to disk,
            # with every commit before it. Set per transaction, as it cannot change inside one.
            durable = connection.get_execution_options().get(DURABLE)
            connection.exec_driver_sql(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
            # Take the write lock up front: two deferred transactions that both read and then
            # write can deadlock, and SQLite answers that with "database is locked" at once.
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
