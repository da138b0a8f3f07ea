"""Posting many channels' questions at once.

Posting is waiting on the platform, so channels post side by side (`Fanout`), a bounded number
at a time; the platform's own limit is per channel. Where each question went is written in
batches (`PostRecorder`): one transaction for all that landed since the last one, instead of a
commit per channel."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.domain import ChannelRef, MessageRef
from bot.questions.schema import Question
from bot.services import cards
from bot.services.messenger import Messenger
from bot.storage.models import Round

log = logging.getLogger(__name__)

LATE_AFTER = timedelta(minutes=5)  # a post this long after the scheduled time says it is late
RECORD_BATCH = 500  # posts recorded per transaction at most


@dataclass(frozen=True, slots=True)
class Posting:
    """A round to post: its question, where, and its window. `again`: an earlier attempt may
    have reached the platform with its response lost, so look for it (by the round's key)
    before posting."""

    round_id: int
    ref: ChannelRef
    question: Question
    opens_at: datetime
    closes_at: datetime
    again: bool = False

    @property
    def key(self) -> str:
        return f"round-{self.round_id}"


class Fanout:
    """Platform calls for many channels at once: at most `limit` in flight, and the calls for
    one channel in the order they were handed in."""

    def __init__(self, limit: int) -> None:
        self._slots = asyncio.Semaphore(limit)
        self._last: dict[ChannelRef, asyncio.Task[None]] = {}

    def submit(
        self, channel: ChannelRef, work: Callable[[], Awaitable[None]]
    ) -> asyncio.Task[None]:
        previous = self._last.get(channel)
        task = asyncio.ensure_future(self._run(previous, work))
        self._last[channel] = task
        task.add_done_callback(lambda done: self._forget(channel, done))
        return task

    async def _run(
        self, previous: asyncio.Task[None] | None, work: Callable[[], Awaitable[None]]
    ) -> None:
        if previous is not None:
            await asyncio.wait([previous])  # its outcome is its own
        async with self._slots:
            try:
                await work()
            except Exception:
                log.exception("a platform call for many channels failed")

    def _forget(self, channel: ChannelRef, done: asyncio.Task[None]) -> None:
        if self._last.get(channel) is done:
            del self._last[channel]


class PostRecorder:
    """Records where posted questions went: the round opens (`posting` → `open`) unless it was
    given up meanwhile. Posts that land while a batch is being written wait for the next one,
    so a burst writes few, larger batches while a lone post is written at once."""

    def __init__(self, *, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._pending: list[tuple[Posting, MessageRef, datetime]] = []
        self._writer: asyncio.Task[None] | None = None

    def add(self, posting: Posting, posted: MessageRef, at: datetime) -> None:
        self._pending.append((posting, posted, at))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.ensure_future(self._write_pending())

    async def drain(self) -> None:
        """Until every post added so far is written (or its write failed and was logged)."""
        while self._writer is not None and not self._writer.done():
            await asyncio.wait([self._writer])

    async def _write_pending(self) -> None:
        while self._pending:
            batch = self._pending[:RECORD_BATCH]
            del self._pending[:RECORD_BATCH]
            try:
                await self._write(batch)
            except Exception:
                # The rounds stay `posting`; once their lease runs out the retry finds each
                # post by its key instead of posting it again.
                log.exception(
                    "could not record %d posted rounds (%s…); they will be found again",
                    len(batch), batch[0][0].round_id,
                )  # fmt: skip

    async def _write(self, batch: Sequence[tuple[Posting, MessageRef, datetime]]) -> None:
        table = Round.metadata.tables[Round.__tablename__]
        async with self._sessions.begin() as session:
            await session.execute(
                update(table)
                .where(table.c.id == bindparam("b_id"), table.c.status == "posting")
                .values(
                    status="open",
                    message_id=bindparam("b_message"),
                    thread_id=bindparam("b_thread"),
                    posted_at=bindparam("b_at", type_=table.c.posted_at.type),
                    lease_until=None,
                ),
                [
                    {
                        "b_id": p.round_id,
                        "b_message": ref.message_id,
                        "b_thread": ref.thread_id or ref.message_id,
                        "b_at": at,
                    }
                    for p, ref, at in batch
                ],
            )
            stored = dict(
                (
                    await session.execute(
                        select(Round.id, Round.message_id).where(
                            Round.id.in_([p.round_id for p, _, _ in batch])
                        )
                    )
                )
                .tuples()
                .all()
            )
        for p, ref, _ in batch:
            if stored.get(p.round_id) != ref.message_id:
                log.warning(
                    "round %s was posted to %s after it had been given up (%s); it stays closed",
                    p.round_id, p.ref, ref.message_id,
                )  # fmt: skip
            else:
                log.info("posted round %s (question %s) to %s", p.round_id, p.question.id, p.ref)


async def post_question(
    posting: Posting,
    *,
    messenger: Messenger,
    clock: Clock,
    recorder: PostRecorder,
    joined: bool = False,
) -> None:
    """Post one round's question (or find the earlier attempt) and hand it to the recorder; a
    failure is logged and the round is retried once its posting lease runs out."""
    try:
        posted = None
        if posting.again:
            posted = await messenger.find_post(posting.ref, posting.key, since=posting.opens_at)
        if posted is None:
            late = clock.now() - posting.opens_at > LATE_AFTER
            card = cards.question_card(
                posting.question, closes_at=posting.closes_at, late=late, joined=joined
            )
            posted = await messenger.post(posting.ref, card, key=posting.key)
    except Exception:
        log.exception(
            "could not post round %s (question %s) to %s; will retry",
            posting.round_id, posting.question.id, posting.ref,
        )  # fmt: skip
        return
    recorder.add(posting, posted, clock.now())
