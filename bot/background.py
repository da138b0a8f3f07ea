"""Work that follows an acknowledgement: reactions, replies, name look-ups.

Nothing here is durable: what must survive a crash is stored before the ack (answers, grading
jobs). This only keeps slow, best-effort calls off the ack path, and tracks them so shutdown and
tests can wait for them instead of sleeping."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger(__name__)


class Background:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, work: Coroutine[Any, Any, Any], *, what: str) -> None:
        """Run `work` now, without waiting for it; a failure is logged as `what`."""
        task = asyncio.ensure_future(self._guarded(work, what))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    async def idle(self) -> None:
        """Wait until nothing is in flight, including work spawned by work in flight."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self, *, grace: float = 10.0) -> None:
        """Give in-flight work `grace` seconds to finish, then cancel what is left."""
        try:
            await asyncio.wait_for(self.idle(), grace)
        except TimeoutError:
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    @staticmethod
    async def _guarded(work: Coroutine[Any, Any, Any], what: str) -> None:
        try:
            await work
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s failed", what)


async def first_of(*events: asyncio.Event, timeout: float) -> None:  # noqa: ASYNC109
    """Wait until one of `events` is set, or `timeout` seconds."""
    waiters = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
