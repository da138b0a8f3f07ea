"""GroupCommit: what arrives while a batch is written goes in the next one; every caller gets
its own item's result, or the error that kept it from being written, and never waits forever."""

from __future__ import annotations

import asyncio

import pytest

from bot.background import GroupCommit

pytestmark = pytest.mark.asyncio


class _Writer:
    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.started = asyncio.Event()
        self.release = asyncio.Event()
        self.release.set()

    async def write(self, batch: list[int]) -> list[int | Exception]:
        self.batches.append(batch)
        self.started.set()
        await self.release.wait()
        return [ValueError(f"odd {n}") if n % 2 else n * 10 for n in batch]


async def test_items_put_while_a_batch_is_written_go_together_in_the_next_one() -> None:
    writer = _Writer()
    writer.release.clear()
    commits = GroupCommit(writer.write)
    first = asyncio.ensure_future(commits.put(0))
    await writer.started.wait()
    rest = [asyncio.ensure_future(commits.put(n)) for n in (2, 4, 6)]
    writer.release.set()
    async with asyncio.timeout(5):
        assert await first == 0
        assert await asyncio.gather(*rest) == [20, 40, 60]
    assert writer.batches == [[0], [2, 4, 6]]


async def test_each_caller_gets_its_own_items_result_or_error() -> None:
    commits = GroupCommit(_Writer().write)
    async with asyncio.timeout(5):
        results = await asyncio.gather(*(commits.put(n) for n in range(4)), return_exceptions=True)
    assert results[0] == 0 and results[2] == 20
    assert isinstance(results[1], ValueError) and isinstance(results[3], ValueError)


async def test_a_writer_that_fails_or_answers_wrongly_fails_its_batch_without_a_hang() -> None:
    async def broken(batch: list[int]) -> list[int | Exception]:
        if batch == [1]:
            raise OSError("disk full")
        return []  # fewer results than items

    commits = GroupCommit(broken)
    async with asyncio.timeout(5):
        with pytest.raises(OSError, match="disk full"):
            await commits.put(1)
        with pytest.raises(RuntimeError, match="0 results for a batch of 1"):
            await commits.put(2)
