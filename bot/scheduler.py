"""APScheduler wiring: cron triggers in the channels' own time zones that open and close rounds,
plus a periodic sweep that catches anything a trigger could not do and ends mock interviews
left idle.

Channels with the same schedule share one trigger: ten thousand channels due at 09:00 UTC are
one job, not ten thousand. Whatever fires at the same moment joins one batch (`_run_due`), so
a minute's channels go through the database together and post side by side.
Jobs only call services; whether a round opens is decided by the database, not the timer."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.services import inbox
from bot.services.interview import InterviewService
from bot.services.recap import RecapService
from bot.services.rounds import RoundService, schedule_of
from bot.storage import repo
from bot.storage.models import Channel
from bot.timetable import Schedule

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
        recaps: RecapService | None = None,
        sweep_every: timedelta = timedelta(minutes=5),
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._rounds = rounds
        self._interviews = interviews
        self._recaps = recaps
        self._sweep_every = sweep_every
        self._scheduler = AsyncIOScheduler(
            timezone=UTC,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600},
        )
        self._groups: dict[str, set[int]] = {}  # job id -> the channels it brings up to date
        self._groups_of: dict[int, tuple[str, ...]] = {}  # channel id -> its job ids
        self._due: set[int] = set()
        self._runner: asyncio.Future[None] | None = None

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
        """Bring every channel up to date, post the weekly recaps due, end idle mock
        interviews, forget old event marks."""
        await self._rounds.sync_all()
        await self._post_recaps()
        if self._interviews is not None:
            try:
                await self._interviews.expire_idle()
            except Exception:
                log.exception("could not end idle mock interviews")
        try:
            async with self._sessions.begin() as session:
                await repo.prune_processed_events(session, self._clock.now() - KEEP_EVENT_MARKS)
                await inbox.prune(session, self._clock.now() - inbox.KEEP_DONE)
        except Exception:
            log.exception("could not prune handled-event marks and inbox rows")

    async def stop(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)

    async def reschedule(self, channel_id: int) -> None:
        """Install (or move) a channel's triggers after its schedule changed."""
        async with self._sessions() as session:
            channel = await session.get(Channel, channel_id)
        if channel is None or not channel.active:
            self._leave_groups(channel_id)
            return
        self._schedule(channel)

    async def fire(self, at: datetime) -> None:
        """Run the jobs whose triggers fire at `at`, together, as the timer would then (for
        tests and tools that drive time themselves)."""
        jobs = [
            job
            for job in self._scheduler.get_jobs()
            if isinstance(job.trigger, CronTrigger)
            and job.trigger.get_next_fire_time(None, at) == at
        ]
        await asyncio.gather(*(job.func(*job.args) for job in jobs))

    def job_ids(self) -> list[str]:
        return sorted(job.id for job in self._scheduler.get_jobs())

    def job_ids_of(self, channel_id: int) -> list[str]:
        """The jobs that open and close the channel's rounds."""
        return sorted(self._groups_of.get(channel_id, ()))

    def _schedule(self, channel: Channel) -> None:
        wanted = []
        for job_id, trigger in _triggers(schedule_of(channel)):
            wanted.append(job_id)
            if job_id not in self._groups:
                self._groups[job_id] = set()
                self._scheduler.add_job(
                    self._fire, trigger, args=[job_id], id=job_id, replace_existing=True
                )
        self._leave_groups(channel.id, keep=wanted)
        for job_id in wanted:
            self._groups[job_id].add(channel.id)
        self._groups_of[channel.id] = tuple(wanted)
        log.info(
            "channel %s: rounds at %s %s on %s, open for %s min",
            channel.id, channel.post_time, channel.timezone, channel.weekdays,
            channel.window_minutes,
        )  # fmt: skip

    def _leave_groups(self, channel_id: int, keep: Sequence[str] = ()) -> None:
        for job_id in self._groups_of.pop(channel_id, ()):
            if job_id in keep:
                continue
            members = self._groups.get(job_id)
            if members is None:
                continue
            members.discard(channel_id)
            if not members:
                del self._groups[job_id]
                if self._scheduler.get_job(job_id) is not None:
                    self._scheduler.remove_job(job_id)

    async def _fire(self, job_id: str) -> None:
        """A trigger fired: its channels join the batch being brought up to date."""
        self._due.update(self._groups.get(job_id, ()))
        if self._runner is None or self._runner.done():
            self._runner = asyncio.ensure_future(self._run_due())
        await asyncio.shield(self._runner)

    async def _run_due(self) -> None:
        # Triggers that fire while a batch runs make the next batch.
        while self._due:
            batch = sorted(self._due)
            self._due.clear()
            await self._rounds.sync_channels(batch)
            await self._post_recaps()

    async def _post_recaps(self) -> None:
        """The weekly recaps due, after the rounds (drawn and posted in the background)."""
        if self._recaps is None:
            return
        try:
            await self._recaps.sync_all()
        except Exception:
            log.exception("could not post the weekly recaps due")


@lru_cache(maxsize=4096)
def _triggers(schedule: Schedule) -> tuple[tuple[str, CronTrigger], ...]:
    """The jobs that open and close rounds on `schedule`, by job id."""
    return tuple(
        (f"{kind} {_describe(trigger)}", trigger)
        for kind, trigger in (
            ("open", schedule.open_trigger()),
            ("close", schedule.close_trigger()),
        )
    )


def _describe(trigger: CronTrigger) -> str:
    """A cron trigger as a job id, e.g. `mon,tue,wed,thu,fri 09:00 Europe/Berlin`."""
    fields = {f.name: str(f) for f in trigger.fields}
    return (
        f"{fields['day_of_week']} {int(fields['hour']):02d}:{int(fields['minute']):02d} "
        f"{trigger.timezone}"
    )
