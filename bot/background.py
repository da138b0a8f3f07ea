"""Work that follows an acknowledgement: reactions, replies, name look-ups; and writes taken in
batches (`GroupCommit`).

Nothing here is durable: what must survive a crash is stored before the ack (answers, grading
jobs). This only keeps slow, best-effort calls off the ack path, and tracks them so shutdown and
tests can wait for them instead of sleeping."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")


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


class GroupCommit(Generic[T, R]):
    """Writes items in batches: an item put while a batch is being written joins the next one,
    so a burst costs a transaction per batch rather than per item, and a lone item is written
    at once. `write` takes a batch and returns, in the same order, each item's result or the
    exception that item failed with."""

    def __init__(
        self, write: Callable[[list[T]], Awaitable[list[R | Exception]]], *, most: int = 500
    ) -> None:
        self._write_batch = write
        self._most = most
        self._pending: list[tuple[T, asyncio.Future[R]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def put(self, item: T) -> R:
        """Write `item` with whatever else is pending; its result once its batch is written."""
        done: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._pending.append((item, done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.ensure_future(self._write())
        return await asyncio.shield(done)  # a caller that goes away does not undo the write

    async def idle(self) -> None:
        """Wait for the batches being written."""
        while self._writer is not None and not self._writer.done():
            await asyncio.wait([self._writer])

    async def _write(self) -> None:
        while self._pending:
            batch = self._pending[: self._most]
            del self._pending[: self._most]
            try:
                results: list[R | Exception] = await self._write_batch([i for i, _ in batch])
                if len(results) != len(batch):
                    raise RuntimeError(f"{len(results)} results for a batch of {len(batch)}")
            except Exception as error:
                results = [error] * len(batch)
            for (_, done), result in zip(batch, results, strict=True):
                if done.done():
                    continue
                if isinstance(result, Exception):
                    done.set_exception(result)
                    done.exception()  # the caller may have gone; nothing left unread
                else:
                    done.set_result(result)
