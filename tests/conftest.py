"""Databases for tests: a fresh SQLite file, and a fresh PostgreSQL database per test (cloned
from a migrated template). With OPSDRILL_REQUIRE_POSTGRES=1 (CI), an unreachable PostgreSQL
fails the run instead of skipping."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from bot.config import Settings
from bot.storage import migrate
from bot.storage.db import make_engine
from tests.fakes.anthropic_api import FakeAnthropic

PG_URL = os.environ.get("OPSDRILL_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REQUIRE_PG = os.environ.get("OPSDRILL_REQUIRE_POSTGRES") == "1"

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]


def _dsn(database: str | None = None) -> str:
    url = make_url(PG_URL)
    if database:
        url = url.set(database=database)
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(_dsn(), timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _postgres_or_skip() -> None:
    try:
        asyncio.run(_admin("SELECT 1"))
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        message = f"PostgreSQL at {make_url(PG_URL).render_as_string()} is unreachable: {exc}"
        if REQUIRE_PG:
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """A migrated database that each test's database is cloned from."""
    _postgres_or_skip()
    name = f"opsdrill_tpl_{uuid.uuid4().hex[:8]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))

    _upgrade(_dsn(name))
    yield name
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _upgrade(url: str) -> None:
    async def run() -> None:
        engine = make_engine(url)
        try:
            await migrate.upgrade(engine)
        finally:
            await engine.dispose()

    asyncio.run(run())


def _fresh_pg(template: str | None) -> Iterator[str]:
    name = f"opsdrill_t_{uuid.uuid4().hex[:10]}"
    clause = f' TEMPLATE "{template}"' if template else ""
    asyncio.run(_admin(f'CREATE DATABASE "{name}"{clause}'))
    try:
        yield _dsn(name)
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite database that each test's database is copied from."""
    path = tmp_path_factory.mktemp("template") / "opsdrill.db"
    _upgrade(f"sqlite:///{path}")
    return path


def _copy_sqlite(source: Path, target: Path) -> None:
    """A consistent copy (SQLite's backup API: nothing left behind in a WAL file)."""
    with contextlib.closing(sqlite3.connect(source)) as src:
        with contextlib.closing(sqlite3.connect(target)) as dst:
            src.backup(dst)


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database on each backend."""
    if request.param == "sqlite":
        path = tmp_path / "opsdrill.db"
        _copy_sqlite(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    yield from _fresh_pg(request.getfixturevalue("pg_template"))


@pytest.fixture
def pg_database_url(pg_template: str) -> Iterator[str]:
    """A migrated, empty PostgreSQL database (for what only PostgreSQL can show)."""
    yield from _fresh_pg(pg_template)


@pytest.fixture(params=BACKENDS)
def blank_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no tables at all, on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'blank.db'}"
        return
    _postgres_or_skip()
    yield from _fresh_pg(None)


@pytest.fixture
async def fake_anthropic() -> AsyncIterator[FakeAnthropic]:
    """A fake Messages API on an ephemeral port (see tests/fakes/anthropic_api.py)."""
    server = FakeAnthropic()
    await server.start()
    yield server
    await server.stop()


def make_settings(database_url: str, **overrides: object) -> Settings:
    return Settings(_env_file=None, DATABASE_URL=database_url, **overrides)  # type: ignore[call-arg]
