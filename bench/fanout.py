"""Fan-out benchmark: N channels due the same minute, each must get its question once.

    .venv/bin/python bench/fanout.py [--channels 10000] [--database sqlite|postgresql]
                                     [--replicas 1] [--latency 0.02] [--history-days 0]

Sets up N channels (spread over a few time zones, all due at the same UTC minute) in a fresh
database, starts the app on the real clock with its real scheduler, against an in-process chat
platform that takes `--latency` seconds per post and refuses a second post to a channel within
a second (Slack's 1 message/s/channel). Prints the time from the due minute to the first and
the last post, posts per second, the CPU seconds this process used, and checks every channel got
exactly one question. Target (issue "keep up with a burst"): 10,000 channels within 60 s.
PostgreSQL: OPSDRILL_BENCH_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/test) is
used to create and drop a scratch database.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
from sqlalchemy import func, insert, select  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from adapters.console.memory import MemoryAdapter  # noqa: E402
from bot.app import App  # noqa: E402
from bot.clock import SystemClock  # noqa: E402
from bot.config import SHIPPED_QUESTIONS, Settings  # noqa: E402
from bot.domain import Card, ChannelRef, MessageRef  # noqa: E402
from bot.questions.bank import load_bank  # noqa: E402
from bot.services.catalog import sync_questions  # noqa: E402
from bot.storage import migrate  # noqa: E402
from bot.storage.db import make_engine, make_sessionmaker  # noqa: E402
from bot.storage.models import Channel, Round, Team  # noqa: E402

PG_URL = os.environ.get("OPSDRILL_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Asia/Tokyo",
         "America/Los_Angeles", "Australia/Adelaide", "America/Sao_Paulo"]  # fmt: skip
WINDOW_MINUTES = 60


class RateLimited(RuntimeError):
    """What Slack answers a second post to a channel within a second (HTTP 429)."""


@dataclass
class PacedPlatform(MemoryAdapter):
    """The in-memory platform with a round trip per post and Slack's per-channel rate limit."""

    platform: str = "slack"
    latency: float = 0.02
    post_times: dict[str, list[float]] = field(default_factory=dict)
    """Wall-clock times (time.time) of the accepted posts, by channel id."""
    refused: int = 0
    questions: set[str] = field(default_factory=set)
    """Channels that got a question (a post keyed `round-…`)."""

    async def post(self, channel: ChannelRef, card: Card, *, key: str | None = None) -> MessageRef:
        await asyncio.sleep(self.latency)
        now = time.time()
        times = self.post_times.setdefault(channel.channel_id, [])
        if times and now - times[-1] < 1.0:
            self.refused += 1
            raise RateLimited(f"{channel.channel_id}: more than one message a second")
        times.append(now)
        if (key or "").startswith("round-"):
            self.questions.add(channel.channel_id)
        return await super().post(channel, card, key=key)


async def fresh_database(kind: str, scratch: Path) -> tuple[str, str | None]:
    """A URL to an empty database, and the PostgreSQL database to drop afterwards."""
    if kind == "sqlite":
        return f"sqlite:///{scratch / 'fanout.db'}", None
    name = f"opsdrill_bench_{uuid.uuid4().hex[:8]}"
    await _pg_admin(f'CREATE DATABASE "{name}"')
    return make_url(PG_URL).set(database=name).render_as_string(hide_password=False), name


async def drop_database(name: str) -> None:
    """Drop a database `fresh_database` created."""
    await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _pg_admin(sql: str) -> None:
    dsn = make_url(PG_URL).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def seed(url: str, *, channels: int, due: datetime, history_days: int) -> None:
    """N channels in one team, each with its post time at `due` in its own zone, and (with
    `history_days`) that many past rounds each, so choosing a question has a history to read."""
    engine = make_engine(url)
    try:
        await migrate.upgrade(engine)
        sessions = make_sessionmaker(engine)
        created = due - timedelta(days=history_days + 1)
        changed = datetime.now(UTC)  # no earlier round is owed: nothing to catch up on at start
        question_rows = list((await sync_questions(sessions, load_bank([SHIPPED_QUESTIONS]),
                                                   created)).values())  # fmt: skip
        async with sessions.begin() as session:
            team_id = await session.scalar(
                insert(Team)
                .values(platform="slack", external_id="T1", name="bench", created_at=created)
                .returning(Team.id)
            )
            rows = []
            for n in range(channels):
                zone = ZONES[n % len(ZONES)]
                rows.append({
                    "team_id": team_id, "external_id": f"C{n:06d}", "name": f"c{n}",
                    "post_time": due.astimezone(ZoneInfo(zone)).strftime("%H:%M"),
                    "timezone": zone, "weekdays": "mon,tue,wed,thu,fri,sat,sun",
                    "window_minutes": WINDOW_MINUTES, "active": True, "created_at": created,
                    "schedule_changed_at": changed,
                })  # fmt: skip
            await session.execute(insert(Channel), rows)
            ids = list((await session.scalars(select(Channel.id).order_by(Channel.id))).all())
        for day in range(history_days, 0, -1):
            opens = due - timedelta(days=day)
            async with sessions.begin() as session:
                await session.execute(
                    insert(Round),
                    [
                        {
                            "channel_id": cid,
                            "question_id": question_rows[(cid + day) % len(question_rows)],
                            "local_date": opens.astimezone(ZoneInfo(ZONES[i % len(ZONES)])).date(),
                            "status": "closed",
                            "opens_at": opens,
                            "posted_at": opens,
                            "closes_at": opens + timedelta(minutes=WINDOW_MINUTES),
                            "closed_at": opens + timedelta(minutes=WINDOW_MINUTES),
                            "revealed_at": opens + timedelta(minutes=WINDOW_MINUTES),
                            "message_id": f"{cid}.{day}",
                            "thread_id": f"{cid}.{day}",
                        }
                        for i, cid in enumerate(ids)
                    ],
                )
    finally:
        await engine.dispose()


async def bench(args: argparse.Namespace) -> int:
    lead = args.lead if args.lead is not None else 20 + args.channels / 250
    # The due minute: far enough ahead for seeding and start-up to finish before it.
    due = (datetime.now(UTC) + timedelta(seconds=lead + 60)).replace(second=0, microsecond=0)
    scratch = Path(tempfile.mkdtemp(prefix="opsdrill-fanout-"))
    url, pg_name = await fresh_database(args.database, scratch)
    apps: list[App] = []
    try:
        started = time.perf_counter()
        await seed(url, channels=args.channels, due=due, history_days=args.history_days)
        seeded = time.perf_counter() - started
        print(
            f"{args.channels} channels on {args.database}, {args.history_days} days of history "
            f"each, seeded in {seeded:.1f} s; due at {due:%H:%M} UTC"
        )
        platform = PacedPlatform(latency=args.latency)
        settings = Settings(_env_file=None, DATABASE_URL=url, OPSDRILL_GRADER="offline")  # type: ignore[call-arg]
        started = time.perf_counter()
        for _ in range(args.replicas):
            app = await App.create(settings, adapters=[platform], clock=SystemClock())
            apps.append(app)
        await asyncio.gather(*(app.start(workers=False) for app in apps))
        print(f"{args.replicas} replica(s) started in {time.perf_counter() - started:.1f} s")
        ahead = (due - datetime.now(UTC)).total_seconds()
        if ahead < 1:
            print(f"start-up ran {-ahead:.1f} s past the due minute: rerun with a longer --lead")
            return 2
        await asyncio.sleep(ahead)
        cpu_at_due = time.process_time()
        deadline = time.monotonic() + args.timeout
        while len(platform.questions) < args.channels:
            if time.monotonic() > deadline:
                break
            await asyncio.sleep(0.05)
        cpu = time.process_time() - cpu_at_due
        await asyncio.sleep(args.quiet)  # anything posted twice would show up now
        return await report(args, apps[0], platform, due, cpu)
    finally:
        # Jobs still running are cut off at shutdown; what they log then is not the result.
        logging.getLogger("apscheduler").setLevel(logging.CRITICAL)
        for app in apps:
            await app.stop()
        if pg_name is not None:
            await drop_database(pg_name)


async def report(
    args: argparse.Namespace, app: App, platform: PacedPlatform, due: datetime, cpu: float
) -> int:
    questions = Counter(
        s.message.channel.channel_id
        for s in platform.posts()
        if s.message is not None and (s.key or "").startswith("round-")
    )
    expected = {f"C{n:06d}" for n in range(args.channels)}
    missing = sorted(expected - set(questions))
    doubled = sorted(c for c, n in questions.items() if n > 1)
    times = sorted(t for ts in platform.post_times.values() for t in ts)
    async with app.sessions() as session:
        statuses = dict(
            (await session.execute(select(Round.status, func.count()).group_by(Round.status)))
            .tuples()
            .all()
        )
    statuses.pop("closed", None)  # the seeded history
    print(
        f"posts: {len(times)}; questions: {sum(questions.values())} in {len(questions)} "
        f"channels; missing {len(missing)} {missing[:5]}; twice {len(doubled)} {doubled[:5]}; "
        f"refused by the rate limit: {platform.refused}; rounds today by status: {statuses}"
    )
    if not times:
        print("nothing was posted")
        return 1
    start = due.timestamp()
    last = times[-1] - start
    print(f"due -> first post {times[0] - start:.2f} s, due -> last post {last:.2f} s, "
          f"{len(times) / max(last, 1e-9):.0f} posts/s, CPU {cpu:.2f} s "
          f"({cpu / len(times) * 1000:.2f} ms per post)")  # fmt: skip
    ok = (
        not missing and not doubled and not platform.refused and statuses == {"open": args.channels}
    )
    print("OK" if ok and last <= 60 else "NOT OK" if not ok else "OK, but slower than 60 s")
    return 0 if ok else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--channels", type=int, default=10_000)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--replicas", type=int, default=1, help="apps on the same database")
    parser.add_argument("--latency", type=float, default=0.02, help="seconds per post")
    parser.add_argument("--history-days", type=int, default=0, help="past rounds per channel")
    parser.add_argument("--lead", type=float, default=None, help="seconds kept for start-up")
    parser.add_argument("--timeout", type=float, default=600, help="seconds to wait for posts")
    parser.add_argument("--quiet", type=float, default=2.0, help="seconds to wait for doubles")
    parser.add_argument("--log-level", default="WARNING")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    logging.basicConfig(level=args.log_level, format="%(levelname)s %(name)s: %(message)s")
    sys.exit(asyncio.run(bench(args)))


if __name__ == "__main__":
    main()
