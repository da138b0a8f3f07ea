"""Leaderboard and stats latency at a year of a big workspace, on PostgreSQL.

    .venv/bin/python bench/leaderboard.py [--answers N] [--database-url URL] [--keep] [--plans]

Loads 1,000,000 graded answers (20,000 members, 200 channels, a round per weekday for a year)
with COPY into a fresh database built by the app's own migrations, then times the app's own
queries, called through its services, and prints p50/p95 per query and each statement's
EXPLAIN (ANALYZE, BUFFERS) summary (`--plans`: the whole plans). Target (issue: throughput):
p95 ≤ 50 ms for every query. Without --database-url a scratch database is created on the
PostgreSQL at $OPSDRILL_TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/test) and
dropped at the end unless --keep; a --database-url that already holds this data set is reused
(migrated forward, not loaded again).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.leaderboard_data import TEAM, TODAY, Shape, load, make_plan  # noqa: E402
from bot.domain import UserRef  # noqa: E402
from bot.services.leaderboard import LeaderboardService, Period  # noqa: E402
from bot.services.stats import StatsService  # noqa: E402
from bot.storage import migrate  # noqa: E402
from bot.storage.db import make_engine, make_sessionmaker  # noqa: E402

SERVER = os.environ.get("OPSDRILL_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
TARGET_MS = 50.0
BUDGET_S = 15.0  # per query: a slow query stops early (after at least MIN_RUNS)
MIN_RUNS = 5


def _dsn(url: str, database: str | None = None) -> str:
    parsed = make_url(url)
    if database:
        parsed = parsed.set(database=database)
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


@dataclass(frozen=True, slots=True)
class Query:
    name: str
    call: Callable[[], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class Timing:
    name: str
    runs: int
    p50_ms: float
    p95_ms: float
    rows: int


async def main(args: argparse.Namespace) -> None:
    scratch = None if args.database_url else f"opsdrill_bench_{uuid.uuid4().hex[:8]}"
    url = args.database_url or _dsn(SERVER, scratch)
    if scratch:
        await _admin(f'CREATE DATABASE "{scratch}"')
    try:
        await _run(url, args)
    finally:
        if scratch and not args.keep:
            await _admin(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
        elif scratch:
            print(f"kept the data set: --database-url {url}")


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(_dsn(SERVER))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _run(url: str, args: argparse.Namespace) -> None:
    conn = await asyncpg.connect(_dsn(url))
    try:
        version = await conn.fetchval("SHOW server_version")
        settings = dict(
            await conn.fetch(
                "SELECT name, setting FROM pg_settings WHERE name IN "
                "('shared_buffers', 'work_mem', 'max_parallel_workers_per_gather', 'jit')"
            )
        )
        print(
            f"machine: {os.cpu_count()} cores ({len(os.sched_getaffinity(0))} usable), "
            f"PostgreSQL {version} (shared_buffers={int(settings['shared_buffers']) // 128} MB, "
            f"work_mem={settings['work_mem']} kB, "
            f"parallel workers/gather={settings['max_parallel_workers_per_gather']}, "
            f"jit={settings['jit']}), Python {sys.version.split()[0]}"
        )
    finally:
        await conn.close()

    engine = make_engine(url)
    try:
        started = time.perf_counter()
        await migrate.upgrade(engine)
        print(f"migrated to head in {time.perf_counter() - started:.1f} s")
        await _load_unless_there(url, args.answers)
        timings, plans = await _measure(engine, args)
    finally:
        await engine.dispose()
    _print_table(timings)
    for name, lines in plans:
        print(f"\n-- {name}")
        for line in lines:
            print(f"   {line}")


async def _load_unless_there(url: str, answers: int) -> None:
    conn = await asyncpg.connect(_dsn(url))
    try:
        if await conn.fetchval("SELECT count(*) FROM teams WHERE external_id = $1", TEAM):
            rows = await conn.fetchval("SELECT count(*) FROM answers")
            print(f"reusing the data set already there ({rows:,} answers); not loading")
            return
        started = time.perf_counter()
        plan = make_plan(Shape.for_answers(answers))
        generated = time.perf_counter() - started
        async with conn.transaction():
            # The rows are consistent by construction: skip the per-row foreign key triggers,
            # which would otherwise cost more than the COPY itself (superuser only).
            try:
                await conn.execute("SET LOCAL session_replication_role = replica")
            except asyncpg.InsufficientPrivilegeError:
                print("not a superuser: loading with foreign key checks (slower)")
            counts = await load(conn, plan)
        copied = time.perf_counter() - started - generated
        await conn.execute("VACUUM ANALYZE")
        vacuumed = time.perf_counter() - started - generated - copied
        print(
            f"loaded in {generated:.1f} s generating + {copied:.1f} s COPY + {vacuumed:.1f} s "
            "VACUUM ANALYZE: " + ", ".join(f"{t} {n:,}" for t, n in counts.items())
        )
        sizes = await conn.fetch(
            "SELECT relname, pg_total_relation_size(oid) AS total, pg_indexes_size(oid) AS idx "
            "FROM pg_class WHERE relname = ANY($1::text[]) ORDER BY total DESC",
            ["answers", "grades", "entries", "rounds"],
        )
        print(
            "sizes (table+indexes / indexes): "
            + ", ".join(f"{r['relname']} {r['total'] >> 20}/{r['idx'] >> 20} MB" for r in sizes)
        )
    finally:
        await conn.close()


async def _inputs(url: str) -> dict[str, Any]:
    """The heaviest realistic inputs: the busiest channel, its latest closed round, and the
    member with the most entries."""
    conn = await asyncpg.connect(_dsn(url))
    try:
        team_id = await conn.fetchval("SELECT id FROM teams WHERE external_id = $1", TEAM)
        channel_id = await conn.fetchval(
            "SELECT r.channel_id FROM entries e JOIN rounds r ON r.id = e.round_id "
            "GROUP BY r.channel_id ORDER BY count(*) DESC LIMIT 1"
        )
        round_id = await conn.fetchval(
            "SELECT id FROM rounds WHERE channel_id = $1 AND status = 'closed' "
            "ORDER BY local_date DESC LIMIT 1",
            channel_id,
        )
        member = await conn.fetchval(
            "SELECT m.external_id FROM entries e JOIN members m ON m.id = e.member_id "
            "GROUP BY m.external_id ORDER BY count(*) DESC LIMIT 1"
        )
    finally:
        await conn.close()
    return {"team": team_id, "channel": channel_id, "round": round_id, "member": member}


def _queries(engine: AsyncEngine, inputs: dict[str, Any]) -> list[Query]:
    sessions = make_sessionmaker(engine)
    boards = LeaderboardService(sessions=sessions)
    stats = StatsService(sessions=sessions)
    team, channel = inputs["team"], inputs["channel"]
    user = UserRef("slack", TEAM, inputs["member"])
    out = [Query("round_standings", lambda: boards.round_standings(inputs["round"]))]
    for period in Period:
        out.append(
            Query(f"channel_board {period.value}", _bind(boards.channel_board, channel, period))
        )
    for period in Period:
        out.append(Query(f"team_board {period.value}", _bind(boards.team_board, team, period)))
    out.append(Query("stats.for_user", lambda: stats.for_user(user)))
    return out


def _bind(board: Callable[..., Awaitable[Any]], scope: int, period: Period) -> Callable[[], Any]:
    return lambda: board(scope, period, TODAY)


async def _measure(
    engine: AsyncEngine, args: argparse.Namespace
) -> tuple[list[Timing], list[tuple[str, list[str]]]]:
    inputs = await _inputs(engine.url.render_as_string(hide_password=False))
    print(
        f"inputs: busiest channel {inputs['channel']}, its round {inputs['round']}, "
        f"most active member {inputs['member']}; today {TODAY} (a Friday)"
    )
    timings: list[Timing] = []
    plans: list[tuple[str, list[str]]] = []
    for query in _queries(engine, inputs):
        result = await query.call()  # warm: connection, prepared statements, cache
        samples: list[float] = []
        spent = time.perf_counter()
        while len(samples) < args.runs:
            t = time.perf_counter()
            await query.call()
            samples.append((time.perf_counter() - t) * 1000)
            if len(samples) >= MIN_RUNS and time.perf_counter() - spent > BUDGET_S:
                break
        rows = len(result) if isinstance(result, list) else result.rounds
        timings.append(Timing(query.name, len(samples), *_p50_p95(samples), rows))
        plans.append((query.name, await _explain(engine, query, full=args.plans)))
    return timings, plans


def _p50_p95(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[math.ceil(0.95 * len(ordered)) - 1]


async def _explain(engine: AsyncEngine, query: Query, *, full: bool) -> list[str]:
    """EXPLAIN (ANALYZE, BUFFERS) of each statement the query ran: the plan, or its summary."""
    seen: list[tuple[str, Any]] = []

    def capture(_c: Any, _cur: Any, statement: str, params: Any, _ctx: Any, _many: bool) -> None:
        seen.append((statement, params))

    event.listen(engine.sync_engine, "before_cursor_execute", capture)
    try:
        await query.call()
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", capture)
    lines: list[str] = []
    async with engine.connect() as conn:
        raw = (await conn.get_raw_connection()).driver_connection
        assert raw is not None
        for statement, params in seen:
            if not statement.lstrip().upper().startswith("SELECT"):
                continue
            plan = [
                r[0]
                for r in await raw.fetch("EXPLAIN (ANALYZE, BUFFERS) " + statement, *(params or ()))
            ]
            if full:
                lines += [" ".join(statement.split())[:160] + " …", *plan, ""]
            else:
                lines.append(_summary(plan))
    return lines


def _summary(plan: list[str]) -> str:
    """The top node, the buffers it touched and the execution time, on one line."""
    top = plan[0].split("  (")[0].strip()
    buffers = next((p.strip() for p in plan if p.strip().startswith("Buffers:")), "")
    timing = next((p.strip() for p in plan if p.strip().startswith("Execution Time")), "")
    return f"{top}; {buffers}; {timing}"


def _print_table(timings: list[Timing]) -> None:
    print(f"\n{'query':24} {'runs':>5} {'p50 ms':>9} {'p95 ms':>9} {'rows':>7}  p95 ≤ 50 ms")
    for t in timings:
        ok = "yes" if t.p95_ms <= TARGET_MS else "NO"
        print(f"{t.name:24} {t.runs:5d} {t.p50_ms:9.1f} {t.p95_ms:9.1f} {t.rows:7d}  {ok}")


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--answers", type=int, default=1_000_000)
    parser.add_argument("--database-url", help="use this database instead of a scratch one")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument("--plans", action="store_true", help="print the whole query plans")
    parser.add_argument("--runs", type=int, default=40, help="timed runs per query")
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(_args()))
