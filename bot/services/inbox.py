"""The inbox: platform events stored before their ack and handled after it.

A platform that wants its ack within seconds (Slack) hands each event over as a `Deferred`;
`put` returns once the event is committed. Everything that arrived while the previous commit
ran is written by one INSERT … ON CONFLICT DO NOTHING and one commit (a group commit), so a
burst costs a transaction per batch rather than per event, and a platform's retry of an event
already stored changes nothing.

After the ack, `work` takes stored events in arrival order, under a lease, and gives each back
to its adapter (`DefersEvents.handle_deferred`), which parses it and delivers it to the core as
if it had just arrived. A crash leaves the events stored: the next start, or another replica
once the lease has run out, takes them. Handling must therefore be idempotent, which the core
is (answers are keyed by their message id).

While events keep arriving, work that can wait (handling stored events, grading) waits for a
gap in them (`Arrivals`), so acks never queue behind it."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.background import GroupCommit, first_of
from bot.clock import Clock
from bot.domain import Deferred
from bot.storage import repo
from bot.storage.db import DURABLE
from bot.storage.models import InboxEvent

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], Awaitable[None]]

LEASE = timedelta(seconds=10)
"""How long a claim holds before someone else may take the events: short, so what a crashed
process held is handled within seconds of its restart; renewed while the batch is worked."""
MAX_ATTEMPTS = 5
WRITE_BATCH = 500
CLAIM_BATCH = 50
KEEP_DONE = timedelta(days=1)
"""How long a handled event's row stays: a platform's retry of it within that time is dropped
at the door (Slack gives up retrying after about an hour)."""


class Arrivals:
    """When the last event arrived. Work that can wait calls `gap` before each step, and so
    runs in the gaps between arrivals; never deferred for longer than `max_defer` at a time,
    so a steady stream of events does not starve it."""

    def __init__(self, *, quiet: float = 0.05, max_defer: float = 2.0) -> None:
        self.quiet = quiet
        self.max_defer = max_defer
        self._last = -max_defer

    def mark(self) -> None:
        self._last = time.monotonic()

    async def gap(self, stop: asyncio.Event | None = None) -> None:
        """Return once no event has arrived for `quiet` seconds (or `max_defer` has passed)."""
        deadline = time.monotonic() + self.max_defer
        while stop is None or not stop.is_set():
            now = time.monotonic()
            waited = now - self._last
            if waited >= self.quiet or now >= deadline:
                return
            await asyncio.sleep(min(self.quiet - waited, deadline - now))


@dataclass(frozen=True, slots=True)
class _Claimed:
    id: int
    platform: str
    payload: str


class Inbox:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        arrivals: Arrivals | None = None,
        lease: timedelta = LEASE,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._lease = lease
        self.arrivals = arrivals or Arrivals()
        self._handlers: dict[str, Handler] = {}
        self._writes: GroupCommit[dict[str, Any], None] = GroupCommit(self._write, most=WRITE_BATCH)
        self._stored = asyncio.Event()

    def register(self, platform: str, handler: Handler) -> None:
        """Who handles `platform`'s stored events; events of platforms without one are left
        for a replica that has it."""
        self._handlers[platform] = handler

    # --- before the ack ------------------------------------------------------------------------

    async def put(self, event: Deferred) -> None:
        """Store `event`; returns once it is committed (raises if the store failed, so the
        platform gets an error and delivers it again)."""
        if not event.event_id:
            raise ValueError("a deferred event needs the platform's event id")
        row = {
            "platform": event.platform,
            "event_id": event.event_id[:128],
            "payload": json.dumps(event.payload, separators=(",", ":")),
            "status": "new",
            "attempts": 0,
            "received_at": self._clock.now(),
        }
        self.arrivals.mark()
        await self._writes.put(row)

    async def _write(self, batch: list[dict[str, Any]]) -> list[Exception | None]:
        """One batch of pending events in one transaction."""
        try:
            async with self._sessions.begin() as session:
                await session.connection(execution_options={DURABLE: True})  # acked next
                await repo.insert_many_ignoring_conflict(session, InboxEvent, batch, conflict=_KEY)
        except Exception:
            log.exception("could not store %d incoming event(s)", len(batch))
            raise
        self._stored.set()
        return [None] * len(batch)

    # --- after the ack -------------------------------------------------------------------------

    async def work(self, stop: asyncio.Event, *, poll: float = 5.0) -> None:
        """Handle stored events as they come, and every `poll` seconds whatever is left over
        (from a crash, or a failed attempt whose lease ran out), until `stop`."""
        while not stop.is_set():
            self._stored.clear()
            try:
                handled = await self.process(stop)
            except Exception:
                log.exception("inbox: handling stored events failed; retrying after the poll")
                handled = 0
            if not handled:
                await first_of(self._stored, stop, timeout=poll)

    async def process(self, stop: asyncio.Event | None = None) -> int:
        """Handle the runnable stored events, oldest first, in the gaps between arrivals; how
        many were taken. One that fails stays leased and is tried again when the lease runs
        out, at most MAX_ATTEMPTS times."""
        taken = 0
        while claimed := await self._claim():
            done: list[int] = []
            renew_at = self._clock.now() + self._lease / 2
            for n, event in enumerate(claimed):
                await self.arrivals.gap(stop)
                if self._clock.now() >= renew_at:
                    renew_at = self._clock.now() + self._lease / 2
                    await self._renew([e.id for e in claimed[n:]])
                try:
                    await self._handlers[event.platform](json.loads(event.payload))
                except Exception:
                    log.exception(
                        "inbox: a stored %s event (row %d) failed; it is tried again in %s",
                        event.platform, event.id, self._lease,
                    )  # fmt: skip
                    continue
                done.append(event.id)
            await self._finish(done)
            taken += len(claimed)
            if stop is not None and stop.is_set():
                break
        return taken

    async def drain(self) -> int:
        """Wait for the writer, then handle everything runnable (for shutdown and tests)."""
        await self.close()
        return await self.process()

    async def close(self) -> None:
        """Let the events being stored reach the database."""
        await self._writes.idle()

    async def _claim(self) -> list[_Claimed]:
        if not self._handlers:
            return []
        now = self._clock.now()
        runnable = or_(
            InboxEvent.status == "new",
            (InboxEvent.status == "working") & (InboxEvent.lease_until < now),
        )
        stmt = (
            select(InboxEvent.id, InboxEvent.platform, InboxEvent.payload, InboxEvent.attempts)
            .where(runnable, InboxEvent.platform.in_(sorted(self._handlers)))
            .order_by(InboxEvent.id)
            .limit(CLAIM_BATCH)
            .with_for_update(skip_locked=True)
        )
        async with self._sessions.begin() as session:
            rows = (await session.execute(stmt)).all()
            spent = [row.id for row in rows if row.attempts >= MAX_ATTEMPTS]
            claimed = [_Claimed(r.id, r.platform, r.payload) for r in rows if r.id not in spent]
            if spent:
                log.error("inbox: giving up on %d stored event(s) after %d attempts: rows %s",
                          len(spent), MAX_ATTEMPTS, spent)  # fmt: skip
                await session.execute(
                    update(InboxEvent)
                    .where(InboxEvent.id.in_(spent), runnable)
                    .values(status="failed")
                )
            if claimed:
                # Guarded by the state the rows were read in: a row another process took
                # meanwhile is not taken again.
                taken = set(
                    await session.scalars(
                        update(InboxEvent)
                        .where(InboxEvent.id.in_([event.id for event in claimed]), runnable)
                        .values(
                            status="working",
                            lease_until=now + self._lease,
                            attempts=InboxEvent.attempts + 1,
                        )
                        .returning(InboxEvent.id)
                    )
                )
                claimed = [event for event in claimed if event.id in taken]
        if spent and not claimed:
            return await self._claim()
        return claimed

    async def _renew(self, ids: list[int]) -> None:
        async with self._sessions.begin() as session:
            await session.execute(
                update(InboxEvent)
                .where(InboxEvent.id.in_(ids), InboxEvent.status == "working")
                .values(lease_until=self._clock.now() + self._lease)
            )

    async def _finish(self, ids: list[int]) -> None:
        if not ids:
            return
        async with self._sessions.begin() as session:
            await session.execute(
                update(InboxEvent)
                .where(InboxEvent.id.in_(ids), InboxEvent.status == "working")
                .values(status="done", lease_until=None)
            )


_KEY = ["platform", "event_id"]


async def prune(session: AsyncSession, before: datetime) -> int:
    """Forget handled events received before `before`; how many rows went."""
    result = await session.execute(
        delete(InboxEvent).where(InboxEvent.status == "done", InboxEvent.received_at < before)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
