"""APScheduler wiring: per channel, a cron trigger in its own time zone that opens the round and
one that closes it, plus a periodic sweep that catches anything a trigger could not do and
ends mock interviews left idle.
Jobs only call services; whether a round opens is decided by the database, not the timer."""

from __future__ import annotations

import logging
from datetime import UTC, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.services.interview import InterviewService
from bot.services.rounds import RoundService, schedule_of
from bot.storage import repo
from bot.storage.models import Channel

log = logging.getLogger(__name__)
KEEP_EVENT_MARKS = timedelta(days=7)  # platforms stop retrying an event within hours


class RoundScheduler:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        rounds: RoundService,
        interviews: InterviewService | None = None,
        sweep_every: timedelta = timedelta(minutes=5),
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._rounds = rounds
        self._interviews = interviews
        self._sweep_every = sweep_every
        self._scheduler = AsyncIOScheduler(
            timezone=UTC,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600},
        )

    async def start(self) -> None:
        """Catch up on anything missed while the bot was down, then schedule every channel."""
        await self.sweep()
        async with self._sessions() as session:
            channels = (await session.scalars(select(Channel).where(Channel.active))).all()
        for channel in channels:
            self._schedule(channel)
        self._scheduler.add_job(
            self.sweep,
            IntervalTrigger(seconds=self._sweep_every.total_seconds()),
            id="sweep",
            replace_existing=True,
        )
        self._scheduler.start()

    async def sweep(self) -> None:
        """Bring every channel up to date, end idle mock interviews, forget old event marks."""
        await self._rounds.sync_all()
        if self._interviews is not None:
            try:
                await self._interviews.expire_idle()
            except Exception:
                log.exception("could not end idle mock interviews")
        try:
            async with self._sessions.begin() as session:
                await repo.prune_processed_events(session, self._clock.now() - KEEP_EVENT_MARKS)
        except Exception:
            log.exception("could not prune handled-event marks")

    async def stop(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)

    async def reschedule(self, channel_id: int) -> None:
        """Install (or replace) a channel's jobs after its schedule changed."""
        async with self._sessions() as session:
            channel = await session.get(Channel, channel_id)
        if channel is None or not channel.active:
            for kind in ("open", "close"):
                job = self._scheduler.get_job(f"{kind}:{channel_id}")
                if job is not None:
                    job.remove()
            return
        self._schedule(channel)

    def job_ids(self) -> list[str]:
        return sorted(job.id for job in self._scheduler.get_jobs())

    def _schedule(self, channel: Channel) -> None:
        schedule = schedule_of(channel)
        for kind, trigger in (
            ("open", schedule.open_trigger()),
            ("close", schedule.close_trigger()),
        ):
            self._scheduler.add_job(
                self._rounds.sync_channel,
                trigger,
                args=[channel.id],
                id=f"{kind}:{channel.id}",
                replace_existing=True,
            )
        log.info(
            "channel %s: rounds at %s %s on %s, open for %s min",
            channel.id, channel.post_time, channel.timezone, channel.weekdays,
            channel.window_minutes,
        )  # fmt: skip
