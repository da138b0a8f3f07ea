"""Closing rounds: no more answers, grading finished (or given up at a grace time), reveal.

The schedule closes rounds without waiting: a round's reveal runs in the background, so one
channel's slow grading never holds up another channel's post or close."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.background import Background
from bot.clock import Clock
from bot.domain import ChannelRef, MessageRef
from bot.questions.schema import Question
from bot.services import cards
from bot.services.grading import GradingService
from bot.services.leaderboard import LeaderboardService
from bot.services.messenger import Messenger
from bot.storage import repo
from bot.storage.models import Answer, Channel, Entry, Grade, QuestionVersion, Round, Team

log = logging.getLogger(__name__)

REVEAL_LEASE = timedelta(minutes=2)
REVEAL_GRACE = timedelta(minutes=10)  # a reveal waits this long at most for grading
FINISH_POLL = 1.0  # seconds between checks whether a closed round's answers are all graded


class RoundCloser:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        messenger: Messenger,
        grading: GradingService,
        leaderboard: LeaderboardService,
        background: Background,
        reveal_grace: timedelta = REVEAL_GRACE,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._messenger = messenger
        self._grading = grading
        self._leaderboard = leaderboard
        self._background = background
        self._reveal_grace = reveal_grace
        self._finishing: set[int] = set()

    async def close_expired(self, channel_id: int, now: datetime) -> None:
        """Close the channel's rounds whose deadline passed; reveal closed ones not revealed."""
        await self.close_expired_many([channel_id], now)

    async def close_expired_many(self, channel_ids: Sequence[int], now: datetime) -> None:
        """`close_expired` for many channels, in a few statements for all of them."""
        async with self._sessions() as session:
            due = (
                await session.scalars(
                    select(Round.id)
                    .where(
                        Round.channel_id.in_(channel_ids),
                        Round.status.in_(("open", "posting")),
                        Round.closes_at <= now,
                    )
                    .order_by(Round.id)
                )
            ).all()
            unrevealed = (
                await session.scalars(
                    select(Round.id)
                    .where(
                        Round.channel_id.in_(channel_ids),
                        Round.status == "closed",
                        Round.revealed_at.is_(None),
                    )
                    .order_by(Round.id)
                )
            ).all()
        closed = await self._close(due, now) if due else []
        for round_id in (*closed, *unrevealed):
            self._finish_later(round_id)

    async def _close(self, round_ids: Sequence[int], now: datetime) -> list[int]:
        """Stop the rounds taking answers; the ones this call closed. A round that never got
        posted has nothing to reveal: it is missed."""
        async with self._sessions.begin() as session:
            closed = (
                await session.scalars(
                    update(Round)
                    .where(Round.id.in_(round_ids), Round.status == "open")
                    .values(status="closed", closed_at=now)
                    .returning(Round.id)
                    .execution_options(synchronize_session=False)
                )
            ).all()
            await session.execute(
                update(Round)
                .where(Round.id.in_(round_ids), Round.status == "posting")
                .values(status="missed", lease_until=None)
                .execution_options(synchronize_session=False)
            )
        return list(closed)

    async def close_round(self, round_id: int, *, wait: bool = True) -> bool:
        """Stop taking answers; the reveal follows once every answer is graded (or the grace
        time is up). With `wait=False` (the schedule) the reveal happens in the background,
        so one channel's grading never holds up another's. True if this call closed it."""
        closed = bool(await self._close([round_id], self._clock.now()))
        if closed:
            if wait:
                await self._finish(round_id)
            else:
                self._finish_later(round_id)
        return closed

    def _finish_later(self, round_id: int) -> None:
        if round_id not in self._finishing:
            self._background.spawn(self._finish(round_id), what=f"the reveal of round {round_id}")

    async def _finish(self, round_id: int) -> None:
        """Grade what is left of a closed round (beside the workers), then post the reveal."""
        if round_id in self._finishing:
            return
        self._finishing.add(round_id)
        try:
            async with self._sessions() as session:
                closed_at = await session.scalar(
                    select(Round.closed_at).where(Round.id == round_id)
                )
            deadline = (closed_at or self._clock.now()) + self._reveal_grace
            patience = time.monotonic() + self._reveal_grace.total_seconds()
            while True:
                await self._grading.drain(round_id=round_id)
                if not await self._ungraded(round_id):
                    break
                if self._clock.now() >= deadline or time.monotonic() >= patience:
                    log.warning("round %s: revealing with answers still ungraded", round_id)
                    break
                await asyncio.sleep(FINISH_POLL)
            await self._reveal(round_id)
        finally:
            self._finishing.discard(round_id)

    async def _ungraded(self, round_id: int) -> int:
        """Counted answers of the round with no grade of their latest text yet."""
        async with self._sessions() as session:
            graded = select(Grade.id).where(
                Grade.answer_id == Answer.id, Grade.answer_revision == Answer.revision
            )
            return int(
                await session.scalar(
                    select(func.count())
                    .select_from(Entry)
                    .join(Answer, Answer.id == Entry.answer_id)
                    .where(Entry.round_id == round_id, ~graded.exists())
                )
                or 0
            )

    async def close_current(self, ref: ChannelRef) -> str:
        """Close the channel's open round now (admins); what happened, in words for the admin."""
        async with self._sessions() as session:
            channel = await repo.find_channel(session, ref)
            rnd = None if channel is None else await repo.open_round(session, channel.id)
        if rnd is None:
            return "There is no open round in this channel."
        if await self.close_round(rnd.id):
            return "Closed the round and posted the model answer."
        return "That round was closed a moment ago."

    async def _reveal(self, round_id: int) -> None:
        now = self._clock.now()
        async with self._sessions.begin() as session:
            claim = await session.execute(
                update(Round)
                .where(
                    Round.id == round_id,
                    Round.revealed_at.is_(None),
                    (Round.lease_until.is_(None)) | (Round.lease_until < now),
                )
                .values(lease_until=now + REVEAL_LEASE)
            )
            if not claim.rowcount:  # type: ignore[attr-defined]
                return
            rnd, ref, question = await round_context(session, round_id)
        standings = await self._leaderboard.round_standings(round_id)
        thread = MessageRef(ref, rnd.message_id or "", rnd.thread_id)
        try:
            await self._messenger.reply(
                thread, cards.reveal_card(question, standings), broadcast=True
            )
        except Exception:
            log.exception("could not post the reveal of round %s to %s; will retry", round_id, ref)
            return
        async with self._sessions.begin() as session:
            await session.execute(
                update(Round)
                .where(Round.id == round_id)
                .values(revealed_at=self._clock.now(), lease_until=None)
            )


def channel_ref(channel: Channel, team: Team) -> ChannelRef:
    return ChannelRef(team.platform, team.external_id, channel.external_id)


async def round_context(session: AsyncSession, round_id: int) -> tuple[Round, ChannelRef, Question]:
    """A posted round with where it lives and the question as it was posted."""
    rnd, channel, team, question_row = (
        await session.execute(
            select(Round, Channel, Team, QuestionVersion)
            .join(Channel, Channel.id == Round.channel_id)
            .join(Team, Team.id == Channel.team_id)
            .join(QuestionVersion, QuestionVersion.id == Round.question_id)
            .where(Round.id == round_id)
        )
    ).one()
    return rnd, channel_ref(channel, team), Question.model_validate(question_row.content)
