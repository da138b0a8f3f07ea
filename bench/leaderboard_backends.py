"""The database side of bench/leaderboard.py: PostgreSQL (COPY, EXPLAIN ANALYZE) or SQLite
(executemany, EXPLAIN QUERY PLAN), each loading the same generated data set."""

from __future__ import annotations

import sqlite3
import time
import uuid
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.leaderboard_data import TEAM, TODAY, Shape, load, make_plan

UNVACUUMED_DAYS = 3


def _dsn(url: str, database: str | None = None) -> str:
    parsed = make_url(url)
    if database:
        parsed = parsed.set(database=database)
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


class Postgres:
    """A scratch database on `server` (created, and dropped unless kept), or `url`."""

    def __init__(self, *, server: str, url: str | None, keep: bool) -> None:
        self.scratch = None if url else f"opsdrill_bench_{uuid.uuid4().hex[:8]}"
        self.url = url or _dsn(server, self.scratch)
        self._server, self._keep = server, keep

    async def create(self) -> None:
        if self.scratch:
            await self._admin(f'CREATE DATABASE "{self.scratch}"')

    async def drop(self) -> None:
        if self.scratch and not self._keep:
            await self._admin(f'DROP DATABASE IF EXISTS "{self.scratch}" WITH (FORCE)')
        elif self.scratch:
            print(f"kept the data set: --database-url {self.url}")

    async def _admin(self, sql: str) -> None:
        conn = await asyncpg.connect(_dsn(self._server))
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    async def machine(self) -> str:
        conn = await asyncpg.connect(_dsn(self.url))
        try:
            version = await conn.fetchval("SHOW server_version")
            s = dict(
                await conn.fetch(
                    "SELECT name, setting FROM pg_settings WHERE name IN "
                    "('shared_buffers', 'work_mem', 'max_parallel_workers_per_gather', 'jit')"
                )
            )
        finally:
            await conn.close()
        return (
            f"PostgreSQL {version} (shared_buffers={int(s['shared_buffers']) // 128} MB, "
            f"work_mem={s['work_mem']} kB, "
            f"parallel workers/gather={s['max_parallel_workers_per_gather']}, jit={s['jit']})"
        )

    async def load_unless_there(self, answers: int) -> None:
        conn = await asyncpg.connect(_dsn(self.url))
        try:
            if await conn.fetchval("SELECT count(*) FROM teams WHERE external_id = $1", TEAM):
                rows = await conn.fetchval("SELECT count(*) FROM answers")
                print(f"reusing the data set already there ({rows:,} answers); not loading")
                await conn.execute("VACUUM ANALYZE")  # after a migration that rewrote rows
                await _graded_since_vacuum(conn)
                return
            started = time.perf_counter()
            plan = make_plan(Shape.for_answers(answers))
            generated = time.perf_counter() - started

            async def copy(table: str, columns: list[str], rows: Iterable[Any]) -> None:
                await conn.copy_records_to_table(table, records=rows, columns=columns)

            async with conn.transaction():
                # The rows are consistent by construction: skip the per-row foreign key
                # triggers, which would cost more than the COPY itself (superuser only).
                try:
                    await conn.execute("SET LOCAL session_replication_role = replica")
                except asyncpg.InsufficientPrivilegeError:
                    print("not a superuser: loading with foreign key checks (slower)")
                counts = await load(copy, plan)
                for table in counts.keys() - {"team_month_totals", "team_totals"}:
                    await conn.execute(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT coalesce(max(id), 1) FROM {table}))"
                    )
            copied = time.perf_counter() - started - generated
            await conn.execute("VACUUM ANALYZE")
            vacuumed = time.perf_counter() - started - generated - copied
            print(
                f"loaded in {generated:.1f} s generating + {copied:.1f} s COPY + "
                f"{vacuumed:.1f} s VACUUM ANALYZE: "
                + ", ".join(f"{t} {n:,}" for t, n in counts.items())
            )
            await _graded_since_vacuum(conn)
            sizes = await conn.fetch(
                "SELECT relname, pg_total_relation_size(oid) AS total, "
                "pg_indexes_size(oid) AS idx FROM pg_class WHERE relname = ANY($1::text[]) "
                "ORDER BY total DESC",
                ["answers", "grades", "entries", "rounds", "team_month_totals"],
            )
            print(
                "sizes (table+indexes / indexes): "
                + ", ".join(f"{r['relname']} {r['total'] >> 20}/{r['idx'] >> 20} MB" for r in sizes)
            )
        finally:
            await conn.close()

    async def explain(
        self, engine: AsyncEngine, statements: list[tuple[str, Any]], *, full: bool
    ) -> list[str]:
        """EXPLAIN (ANALYZE, BUFFERS) of each statement: the plan, or a one-line summary."""
        lines: list[str] = []
        async with engine.connect() as conn:
            raw = (await conn.get_raw_connection()).driver_connection
            assert raw is not None
            for statement, params in statements:
                plan = [
                    r[0]
                    for r in await raw.fetch(
                        "EXPLAIN (ANALYZE, BUFFERS) " + statement, *(params or ())
                    )
                ]
                if full:
                    lines += [" ".join(statement.split())[:160] + " …", *plan, ""]
                else:
                    lines.append(_summary(plan))
        return lines


async def _graded_since_vacuum(conn: asyncpg.Connection) -> None:
    """The state a live database is in: the last few days' entries were graded (so rewritten)
    after autovacuum last came by (0005 brings it round every few days), so their index
    entries need a look at the table, as do the totals those gradings kept."""
    rewritten = await conn.execute(
        "UPDATE entries SET score = score "
        "WHERE round_id IN (SELECT id FROM rounds WHERE local_date > $1)",
        TODAY - timedelta(days=UNVACUUMED_DAYS),
    )
    await conn.execute(
        "UPDATE team_month_totals SET points = points WHERE month = $1", TODAY.replace(day=1)
    )
    await conn.execute("UPDATE team_totals SET points = points")
    await conn.execute("ANALYZE")
    print(
        f"state: the last {UNVACUUMED_DAYS} days graded after autovacuum's last visit "
        f"({int(rewritten.split()[-1]):,} entries rewritten, not vacuumed)"
    )


def _summary(plan: list[str]) -> str:
    """The top node, the buffers it touched and the execution time, on one line."""
    top = plan[0].split("  (")[0].strip()
    buffers = next((p.strip() for p in plan if p.strip().startswith("Buffers:")), "")
    timing = next((p.strip() for p in plan if p.strip().startswith("Execution Time")), "")
    return f"{top}; {buffers}; {timing}"


class SQLite:
    """A database file: loaded when new, reused when it already holds the data set."""

    def __init__(self, *, url: str) -> None:
        self.url = url
        self._path = make_url(url).database or ""

    async def create(self) -> None:
        pass

    async def drop(self) -> None:
        pass

    async def machine(self) -> str:
        return f"SQLite {sqlite3.sqlite_version} (file {self._path})"

    async def load_unless_there(self, answers: int) -> None:
        db = sqlite3.connect(self._path)
        try:
            if db.execute("SELECT count(*) FROM teams WHERE external_id = ?", (TEAM,)).fetchone()[
                0
            ]:
                print("reusing the data set already there; not loading")
                return
            started = time.perf_counter()
            plan = make_plan(Shape.for_answers(answers))

            async def copy(table: str, columns: list[str], rows: Iterable[Any]) -> None:
                marks = ", ".join("?" for _ in columns)
                db.executemany(
                    f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
                    (tuple(_sqlite(v) for v in row) for row in rows),
                )

            db.execute("PRAGMA synchronous = OFF")
            counts = await load(copy, plan)
            db.commit()
            db.execute("ANALYZE")
            pages, page_size = (
                db.execute("PRAGMA page_count").fetchone()[0],
                db.execute("PRAGMA page_size").fetchone()[0],
            )
            size = pages * page_size >> 20
            print(
                f"loaded in {time.perf_counter() - started:.1f} s ({size} MB): "
                + ", ".join(f"{t} {n:,}" for t, n in counts.items())
            )
        finally:
            db.close()

    async def explain(
        self, engine: AsyncEngine, statements: list[tuple[str, Any]], *, full: bool
    ) -> list[str]:
        """EXPLAIN QUERY PLAN of each statement (SQLite measures nothing more)."""
        lines: list[str] = []
        async with engine.connect() as conn:
            raw = (await conn.get_raw_connection()).driver_connection
            assert raw is not None
            for statement, params in statements:
                cursor = await raw.execute("EXPLAIN QUERY PLAN " + statement, params or ())
                steps = [row[3] for row in await cursor.fetchall()]
                if full:
                    lines += [" ".join(statement.split())[:160] + " …", *steps, ""]
                else:
                    lines.append("; ".join(steps))
        return lines


def _sqlite(value: Any) -> Any:
    """A value as the app's models store it in SQLite (UTC datetimes without an offset)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    return value


def backend(*, url: str | None, server: str, keep: bool) -> Postgres | SQLite:
    if url and make_url(url).get_backend_name() == "sqlite":
        return SQLite(url=url)
    return Postgres(server=server, url=url, keep=keep)
