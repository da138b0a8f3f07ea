"""The inbox: events stored before the ack (a burst in a few commits, a retry once), handled
after it once each, in arrival order, by whichever replica takes them, across crashes."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import FakeClock
from bot.domain import Deferred
from bot.services.inbox import LEASE, MAX_ATTEMPTS, Arrivals, Inbox
from bot.storage.db import DURABLE
from bot.storage.models import InboxEvent
from tests.storage.conftest import NOW

pytestmark = pytest.mark.asyncio


def _event(n: int, event_id: str | None = None) -> Deferred:
    return Deferred(platform="slack", event_id=event_id or f"Ev{n}", payload={"n": n})


class Recorder:
    """A platform's handler of stored events: what it was given, in order."""

    def __init__(self, *, failing: set[int] | None = None) -> None:
        self.handled: list[int] = []
        self.failing = failing or set()

    async def __call__(self, payload: dict[str, Any]) -> None:
        if payload["n"] in self.failing:
            raise RuntimeError("handler failed")
        self.handled.append(payload["n"])


def _inbox(sessions: async_sessionmaker[AsyncSession], clock: FakeClock) -> Inbox:
    return Inbox(sessions=sessions, clock=clock, arrivals=Arrivals(quiet=0, max_defer=0))


async def _statuses(sessions: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    async with sessions() as session:
        rows = await session.execute(
            select(InboxEvent.status, func.count()).group_by(InboxEvent.status)
        )
        return {status: int(count) for status, count in rows.all()}


async def test_a_burst_is_stored_in_a_few_commits_and_handled_in_arrival_order(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    commits = 0

    def count(_: Any) -> None:
        nonlocal commits
        commits += 1

    engine = sessions.kw["bind"].sync_engine
    event.listen(engine, "commit", count)
    inbox = _inbox(sessions, FakeClock(NOW))
    await asyncio.gather(*(inbox.put(_event(n)) for n in range(200)))
    event.remove(engine, "commit", count)
    assert await _statuses(sessions) == {"new": 200}  # every put returned after its commit
    assert commits <= 10, f"{commits} commits for 200 events: no group commit"
    recorder = Recorder()
    inbox.register("slack", recorder)
    assert await inbox.drain() == 200
    assert recorder.handled == list(range(200))
    assert await _statuses(sessions) == {"done": 200}


async def test_a_retried_event_is_stored_and_handled_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    inbox = _inbox(sessions, FakeClock(NOW))
    recorder = Recorder()
    inbox.register("slack", recorder)
    await asyncio.gather(inbox.put(_event(1, "EvA")), inbox.put(_event(1, "EvA")))
    await inbox.drain()
    await inbox.put(_event(1, "EvA"))  # Slack's retry after it was handled
    await inbox.drain()
    assert recorder.handled == [1]


async def test_two_replicas_handle_each_event_exactly_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    clock = FakeClock(NOW)
    first, second = _inbox(sessions, clock), _inbox(sessions, clock)
    seen: list[int] = []

    async def handler(payload: dict[str, Any]) -> None:
        seen.append(payload["n"])
        await asyncio.sleep(0)  # let the other replica run meanwhile

    first.register("slack", handler)
    second.register("slack", handler)
    await asyncio.gather(*(first.put(_event(n)) for n in range(120)))
    await asyncio.gather(first.drain(), second.drain())
    assert sorted(seen) == list(range(120))


async def test_a_failing_event_is_retried_after_its_lease_then_given_up(
    sessions: async_sessionmaker[AsyncSession], caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock(NOW)
    inbox = _inbox(sessions, clock)
    recorder = Recorder(failing={2})
    inbox.register("slack", recorder)
    for n in range(4):
        await inbox.put(_event(n))
    await inbox.drain()
    assert recorder.handled == [0, 1, 3]  # one failure holds up nothing behind it
    assert await _statuses(sessions) == {"done": 3, "working": 1}
    await inbox.drain()
    assert recorder.handled == [0, 1, 3]  # still leased: not tried again yet
    recorder.failing.clear()
    clock.advance(LEASE + timedelta(seconds=1))
    await inbox.drain()
    assert recorder.handled == [0, 1, 3, 2]
    assert await _statuses(sessions) == {"done": 4}

    recorder.failing.add(9)
    await inbox.put(_event(9))
    for _ in range(MAX_ATTEMPTS + 1):
        await inbox.drain()
        clock.advance(LEASE + timedelta(seconds=1))
    assert await _statuses(sessions) == {"done": 4, "failed": 1}
    assert "giving up on 1 stored event(s)" in caplog.text


async def test_what_a_crashed_replica_held_is_handled_once_its_lease_runs_out(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    clock = FakeClock(NOW)
    crashed = _inbox(sessions, clock)
    crashed.register("slack", Recorder())
    for n in range(3):
        await crashed.put(_event(n))
    assert len(await crashed._claim()) == 3  # taken, then the process died
    survivor = _inbox(sessions, clock)
    recorder = Recorder()
    survivor.register("slack", recorder)
    assert await survivor.drain() == 0
    clock.advance(LEASE + timedelta(seconds=1))
    assert await survivor.drain() == 3
    assert recorder.handled == [0, 1, 2]


async def test_events_of_a_platform_this_process_does_not_run_are_left_alone(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    inbox = _inbox(sessions, FakeClock(NOW))
    inbox.register("discord", Recorder())
    await inbox.put(_event(1))
    assert await inbox.drain() == 0
    assert await _statuses(sessions) == {"new": 1}


async def test_a_failed_store_raises_to_the_caller(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    inbox = _inbox(sessions, FakeClock(NOW))
    async with sessions.begin() as session:
        await session.execute(text("ALTER TABLE inbox_events RENAME TO inbox_away"))
    with pytest.raises(Exception, match="inbox_events"):
        await inbox.put(_event(1))


async def test_on_sqlite_only_the_acknowledged_commit_waits_for_the_disk(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        if session.bind.dialect.name != "sqlite":
            pytest.skip("PostgreSQL syncs every commit")
        assert await session.scalar(text("PRAGMA synchronous")) == 1  # NORMAL
    async with sessions.begin() as session:
        await session.connection(execution_options={DURABLE: True})
        assert await session.scalar(text("PRAGMA synchronous")) == 2  # FULL
