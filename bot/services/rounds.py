"""Daily rounds: open on schedule (exactly once), take answers, close with the reveal."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from datetime import time as wall_time
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.domain import (
    ChannelRef,
)
from bot.questions.bank import Bank
from bot.questions.rotation import next_question
from bot.questions.schema import Question
from bot.schedule import Schedule, Slot, parse_weekdays
from bot.services import cards
from bot.services.closing import RoundCloser, channel_ref, round_context
from bot.services.messenger import Messenger
from bot.storage import repo
from bot.storage.models import Channel, QuestionVersion, Round, Team

log = logging.getLogger(__name__)

POST_LEASE = timedelta(minutes=2)
LOOKBACK = timedelta(days=7)
LATE_AFTER = timedelta(minutes=5)  # a post this long after the scheduled time says it is late


def schedule_of(channel: Channel) -> Schedule:
    return Schedule(
        post_time=wall_time.fromisoformat(channel.post_time),
        zone=ZoneInfo(channel.timezone),
        weekdays=parse_weekdays(channel.weekdays),
        window=timedelta(minutes=channel.window_minutes),
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
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._bank = bank
        self._question_rows = question_rows
        self._messenger = messenger
        self._closer = closer
        self._plan = weekday_plan or {}

    # --- the schedule ----------------------------------------------------------------------

    async def sync_all(self) -> None:
        """Bring every active channel up to date: open due rounds, close expired ones, record
        missed ones. Safe to call at any time, from any number of processes."""
        async with self._sessions() as session:
            ids = (await session.scalars(select(Channel.id).where(Channel.active))).all()
        for channel_id in ids:
            try:
                await self.sync_channel(channel_id)
            except Exception:
                log.exception("could not bring channel %s up to date", channel_id)

    async def sync_channel(self, channel_id: int) -> None:
        now = self._clock.now()
        await self._closer.close_expired(channel_id, now)
        async with self._sessions() as session:
            channel = await session.get(Channel, channel_id)
            if channel is None or not channel.active:
                return
            schedule = schedule_of(channel)
            since = max(channel.schedule_changed_at, now - LOOKBACK)
            slots = list(schedule.slots_between(since, now))
            taken = set(
                (
                    await session.scalars(
                        select(Round.local_date).where(
                            Round.channel_id == channel_id,
                            Round.local_date.in_([s.local_date for s in slots]),
                        )
                    )
                ).all()
            )
        for slot in slots:
            if slot.local_date in taken:
                continue
            if now < slot.closes_at:
                await self._open(channel_id, slot)
            else:
                await self._record_missed(channel_id, slot, channel.schedule_changed_at)
        await self._retry_stuck(channel_id, now)
        await self._tell_missed(channel_id)

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
            channel_id = channel.id
        if existing is not None and existing.status != "missed":
            state = "is open" if existing.status in ("open", "posting") else "has already run"
            return f"Today's round {state}; the next one opens on schedule."
        slot = Slot(today, now, now + schedule.window)
        if existing is not None:  # a missed round today: reuse its date for the real one
            async with self._sessions.begin() as session:
                await session.delete(await session.get_one(Round, existing.id))
        round_id = await self._open(channel_id, slot)
        if round_id is None:
            return "Another OpsDrill process posted today's round a moment ago."
        return "Posted today's question."

    async def _open(self, channel_id: int, slot: Slot) -> int | None:
        """Claim the slot (the unique key makes it exactly once), then post the question."""
        now = self._clock.now()
        async with self._sessions.begin() as session:
            channel = await session.get_one(Channel, channel_id)
            question = await self._choose(session, channel, slot.local_date)
            round_id = await repo.insert_ignoring_conflict(
                session,
                Round,
                {
                    "channel_id": channel_id,
                    "question_id": self._question_rows[question.id],
                    "local_date": slot.local_date,
                    "status": "posting",
                    "opens_at": slot.opens_at,
                    "closes_at": slot.closes_at,
                    "lease_until": now + POST_LEASE,
                },
                conflict=["channel_id", "local_date"],
            )
        if round_id is None:
            return None
        await self._post(round_id)
        return int(round_id)

    async def _choose(self, session: AsyncSession, channel: Channel, day: date) -> Question:
        history = (
            await session.execute(
                select(QuestionVersion.slug, QuestionVersion.category)
                .join(Round, Round.question_id == QuestionVersion.id)
                .where(Round.channel_id == channel.id)
                .order_by(Round.local_date)
            )
        ).all()
        eligible = self._bank.eligible(
            categories=channel.categories, difficulties=channel.difficulties
        ) or list(self._bank)
        return next_question(
            eligible,
            [slug for slug, _ in history],
            seed=f"channel:{channel.id}",
            last_category=history[-1][1] if history else None,
            wanted=self._plan.get(day.weekday()),
        )

    async def _post(self, round_id: int, *, again: bool = False) -> None:
        """Post the round's question and record where it went. `again`: an earlier attempt
        may have reached the platform with its response lost, so look for it first; the post
        carries the round's key for exactly that."""
        async with self._sessions() as session:
            rnd, ref, question = await round_context(session, round_id)
        key = f"round-{round_id}"
        now = self._clock.now()
        try:
            posted = None
            if again:
                posted = await self._messenger.find_post(ref, key, since=rnd.opens_at)
            if posted is None:
                late = now - rnd.opens_at > LATE_AFTER
                card = cards.question_card(question, closes_at=rnd.closes_at, late=late)
                posted = await self._messenger.post(ref, card, key=key)
        except Exception:
            log.exception(
                "could not post round %s (question %s) to %s; will retry",
                round_id, question.id, ref,
            )  # fmt: skip
            return
        async with self._sessions.begin() as session:
            result = await session.execute(
                update(Round)
                .where(Round.id == round_id, Round.status == "posting")
                .values(
                    status="open",
                    message_id=posted.message_id,
                    thread_id=posted.thread_id or posted.message_id,
                    posted_at=self._clock.now(),
                    lease_until=None,
                )
            )
        if not result.rowcount:  # type: ignore[attr-defined]
            log.warning(
                "round %s was posted to %s after it had been given up (%s); it stays closed",
                round_id, ref, posted.message_id,
            )  # fmt: skip
            return
        log.info("posted round %s (question %s) to %s", round_id, question.id, ref)

    async def _record_missed(self, channel_id: int, slot: Slot, changed_at: datetime) -> None:
        """A window that passed with no round. The channel is told (once) only of windows that
        lay wholly inside the current schedule: one that a schedule change or a resume cut
        into was not the bot's to post."""
        async with self._sessions.begin() as session:
            inserted = await repo.insert_ignoring_conflict(
                session,
                Round,
                {
                    "channel_id": channel_id,
                    "question_id": None,
                    "local_date": slot.local_date,
                    "status": "missed",
                    "opens_at": slot.opens_at,
                    "closes_at": slot.closes_at,
                    "notified_at": None if slot.opens_at >= changed_at else self._clock.now(),
                },
                conflict=["channel_id", "local_date"],
            )
        if inserted is not None:
            log.warning(
                "channel %s missed its round of %s: the bot was not running between %s and %s",
                channel_id, slot.local_date, slot.opens_at, slot.closes_at,
            )  # fmt: skip

    async def _retry_stuck(self, channel_id: int, now: datetime) -> None:
        """Re-post rounds whose posting process died, and re-send reveals that failed."""
        async with self._sessions.begin() as session:
            stuck = (
                await session.scalars(
                    select(Round.id).where(
                        Round.channel_id == channel_id,
                        Round.status == "posting",
                        Round.lease_until < now,
                    )
                )
            ).all()
            claimed = []
            for round_id in stuck:
                result = await session.execute(
                    update(Round)
                    .where(Round.id == round_id, Round.status == "posting", Round.lease_until < now)
                    .values(lease_until=now + POST_LEASE)
                )
                if result.rowcount:  # type: ignore[attr-defined]
                    claimed.append(round_id)
        for round_id in claimed:
            await self._post(round_id, again=True)

    async def _tell_missed(self, channel_id: int) -> None:
        """Say once, in one line, which rounds the channel lost while the bot was down."""
        now = self._clock.now()
        async with self._sessions.begin() as session:
            missed = (
                await session.scalars(
                    update(Round)
                    .where(
                        Round.channel_id == channel_id,
                        Round.status == "missed",
                        Round.notified_at.is_(None),
                    )
                    .values(notified_at=now)
                    .returning(Round.local_date)
                )
            ).all()
            if not missed:
                return
            channel, team = (
                await session.execute(
                    select(Channel, Team)
                    .join(Team, Team.id == Channel.team_id)
                    .where(Channel.id == channel_id)
                )
            ).one()
        try:
            await self._messenger.post(
                channel_ref(channel, team), cards.missed_card(sorted(missed))
            )
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

    # --- closing ---------------------------------------------------------------------------
