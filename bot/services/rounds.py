"""Daily rounds: open on schedule (exactly once), take answers, close with the reveal."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import date, datetime
from functools import partial

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.domain import ChannelRef
from bot.questions.bank import Bank
from bot.questions.schema import Question
from bot.services import cards
from bot.services.closing import RoundCloser, channel_ref
from bot.services.messenger import Messenger
from bot.services.opening import LOOKBACK, POST_LEASE, Due, RoundOpener, cached_schedule
from bot.services.posting import LATE_AFTER, Fanout, Posting, PostRecorder, post_question
from bot.storage import repo, rotations
from bot.storage.models import Channel, QuestionVersion, Round, Team
from bot.timetable import Schedule, Slot

__all__ = ["LATE_AFTER", "LOOKBACK", "POST_LEASE", "RoundService", "schedule_of"]

log = logging.getLogger(__name__)

CHUNK = 500  # channels brought up to date together: a few statements for all of them


def schedule_of(channel: Channel) -> Schedule:
    return cached_schedule(
        channel.post_time, channel.timezone, channel.weekdays, channel.window_minutes
    )


class RoundService:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        bank: Bank,
        question_rows: dict[str, int],
        messenger: Messenger,
        closer: RoundCloser,
        weekday_plan: dict[int, str] | None = None,
        post_concurrency: int = 100,
        joined_platforms: frozenset[str] = frozenset(),
    ) -> None:
        self._sessions = sessions
        self._joined = joined_platforms  # where an answer in several messages is joined
        self._clock = clock
        self._messenger = messenger
        self._closer = closer
        self._opener = RoundOpener(
            sessions=sessions, bank=bank, question_rows=question_rows,
            weekday_plan=weekday_plan or {},
        )  # fmt: skip
        self._fanout = Fanout(post_concurrency)
        self._recorder = PostRecorder(sessions=sessions)
        self._questions: dict[int, Question] = {}  # question rows never change: parsed once

    # --- the schedule ----------------------------------------------------------------------

    async def sync_all(self) -> None:
        """Bring every active channel up to date: open due rounds, close expired ones, record
        missed ones. Safe to call at any time, from any number of processes."""
        async with self._sessions() as session:
            ids = (
                await session.scalars(select(Channel.id).where(Channel.active).order_by(Channel.id))
            ).all()
        await self.sync_channels(ids)

    async def sync_channel(self, channel_id: int) -> None:
        await self.sync_channels([channel_id])

    async def sync_channels(self, channel_ids: Sequence[int]) -> None:
        """`sync_all` for these channels: a few hundred at a time through the database, their
        questions posted side by side. Returns once every post is made and recorded."""
        work: list[asyncio.Task[None]] = []
        ids = sorted(set(channel_ids))
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start : start + CHUNK]
            try:
                await self._sync_chunk(chunk, work)
            except Exception:
                log.exception("could not bring channels %s…%s up to date", chunk[0], chunk[-1])
        await asyncio.gather(*work)
        await self._recorder.drain()

    async def _sync_chunk(self, chunk: list[int], work: list[asyncio.Task[None]]) -> None:
        now = self._clock.now()
        await self._closer.close_expired_many(chunk, now)
        for posting in await self._opener.open_due(chunk, now):
            work.append(self._submit(posting))
        for posting in await self._claim_stuck(chunk, now):
            work.append(self._submit(posting))
        for ref, (channel_id, days) in (await self._claim_missed_notices(chunk, now)).items():
            work.append(
                self._fanout.submit(ref, partial(self._tell_missed, ref, channel_id, days, now))
            )

    def _submit(self, posting: Posting) -> asyncio.Task[None]:
        return self._fanout.submit(
            posting.ref,
            partial(
                post_question, posting, messenger=self._messenger, clock=self._clock,
                recorder=self._recorder, joined=posting.ref.platform in self._joined,
            ),
        )  # fmt: skip

    async def post_now(self, ref: ChannelRef) -> str:
        """Post today's question now (admins), unless today's round already exists; what
        happened, in words for the admin."""
        now = self._clock.now()
        async with self._sessions() as session:
            channel = await repo.find_channel(session, ref)
            if channel is None:
                return "This channel is not set up for OpsDrill yet."
            schedule = schedule_of(channel)
            today = schedule.local(now).date()
            existing = (
                await session.execute(
                    select(Round).where(Round.channel_id == channel.id, Round.local_date == today)
                )
            ).scalar_one_or_none()
        if existing is not None and existing.status != "missed":
            state = "is open" if existing.status in ("open", "posting") else "has already run"
            return f"Today's round {state}; the next one opens on schedule."
        due = Due(
            channel.id, ref, tuple(channel.categories or ()) or None,
            tuple(channel.difficulties or ()) or None, channel.schedule_changed_at,
            opens=[Slot(today, now, now + schedule.window)],
        )  # fmt: skip
        if existing is not None:  # a missed round today: reuse its date for the real one
            async with self._sessions.begin() as session:
                await session.delete(await session.get_one(Round, existing.id))
                if existing.question_id is not None:  # it was in the rotation: no longer
                    await rotations.forget(session, [channel.id])
        postings = await self._opener.claim([due], now)
        if not postings:
            return "Another OpsDrill process posted today's round a moment ago."
        await self._submit(postings[0])
        await self._recorder.drain()
        return "Posted today's question."

    async def _post(self, round_id: int, *, again: bool = False) -> None:
        """Post a round's question now and record where it went (see `post_question`)."""
        async with self._sessions() as session:
            [posting] = await self._postings(session, [round_id], again=again)
        await post_question(
            posting, messenger=self._messenger, clock=self._clock, recorder=self._recorder,
            joined=posting.ref.platform in self._joined,
        )  # fmt: skip
        await self._recorder.drain()

    async def _claim_stuck(self, chunk: list[int], now: datetime) -> list[Posting]:
        """Rounds whose posting process died (their lease ran out), claimed to post again."""
        async with self._sessions.begin() as session:
            claimed = (
                await session.scalars(
                    update(Round)
                    .where(
                        Round.channel_id.in_(chunk),
                        Round.status == "posting",
                        Round.lease_until < now,
                    )
                    .values(lease_until=now + POST_LEASE)
                    .returning(Round.id)
                    .execution_options(synchronize_session=False)
                )
            ).all()
            if not claimed:
                return []
            return await self._postings(session, sorted(claimed), again=True)

    async def _postings(
        self, session: AsyncSession, round_ids: list[int], *, again: bool
    ) -> list[Posting]:
        rows = await session.execute(
            select(Round, Channel, Team, QuestionVersion)
            .join(Channel, Channel.id == Round.channel_id)
            .join(Team, Team.id == Channel.team_id)
            .join(QuestionVersion, QuestionVersion.id == Round.question_id)
            .where(Round.id.in_(round_ids))
            .order_by(Round.id)
        )
        postings = []
        for rnd, channel, team, question_row in rows.tuples():
            question = self._questions.get(question_row.id)
            if question is None:
                question = Question.model_validate(question_row.content)
                self._questions[question_row.id] = question
            postings.append(
                Posting(rnd.id, channel_ref(channel, team), question, rnd.opens_at,
                        rnd.closes_at, again=again)
            )  # fmt: skip
        return postings

    async def _claim_missed_notices(
        self, chunk: list[int], now: datetime
    ) -> dict[ChannelRef, tuple[int, list[date]]]:
        """Missed rounds no channel was told of yet, claimed for telling, by channel."""
        async with self._sessions.begin() as session:
            missed = (
                await session.execute(
                    update(Round)
                    .where(
                        Round.channel_id.in_(chunk),
                        Round.status == "missed",
                        Round.notified_at.is_(None),
                    )
                    .values(notified_at=now)
                    .returning(Round.channel_id, Round.local_date)
                    .execution_options(synchronize_session=False)
                )
            ).all()
            if not missed:
                return {}
            days: dict[int, list[date]] = {}
            for channel_id, day in missed:
                days.setdefault(channel_id, []).append(day)
            rows = await session.execute(
                select(Channel, Team)
                .join(Team, Team.id == Channel.team_id)
                .where(Channel.id.in_(days))
                .order_by(Channel.id)
            )
            return {
                channel_ref(channel, team): (channel.id, sorted(days[channel.id]))
                for channel, team in rows.tuples()
            }

    async def _tell_missed(
        self, ref: ChannelRef, channel_id: int, missed: list[date], now: datetime
    ) -> None:
        """Say once, in one line, which rounds the channel lost while the bot was down."""
        try:
            await self._messenger.post(ref, cards.missed_card(missed))
        except Exception:
            log.exception("could not tell channel %s about missed rounds; will retry", channel_id)
            async with self._sessions.begin() as session:
                await session.execute(
                    update(Round)
                    .where(
                        Round.channel_id == channel_id,
                        Round.local_date.in_(missed),
                        Round.notified_at == now,
                    )
                    .values(notified_at=None)
                )
