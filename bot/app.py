"""The composition root: builds every piece from settings and wires them together."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import cast

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.background import Background
from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.grading.base import Grader
from bot.grading.fallback import FallbackGrader
from bot.grading.limit import AdaptiveLimit
from bot.grading.offline import OfflineGrader
from bot.ports import ChatAdapter, DefersEvents
from bot.questions.bank import Bank, load_bank
from bot.questions.rotation import parse_plan
from bot.router import Router
from bot.scheduler import RoundScheduler
from bot.services.admin import AdminService
from bot.services.answers import AnswerService
from bot.services.attempts import AttemptService
from bot.services.catalog import sync_questions
from bot.services.channels import ChannelService
from bot.services.closing import RoundCloser
from bot.services.export import ExportService
from bot.services.grading import FollowUpWriter, GradingService
from bot.services.inbox import Arrivals, Inbox
from bot.services.interview import InterviewService
from bot.services.leaderboard import LeaderboardService
from bot.services.messenger import Messenger
from bot.services.recap import RecapService
from bot.services.review import ReviewService
from bot.services.round_views import RoundViews
from bot.services.rounds import RoundService
from bot.services.squads import SquadService
from bot.services.stats import StatsService
from bot.storage import migrate
from bot.storage.db import make_engine, make_sessionmaker

log = logging.getLogger(__name__)


class ConfigError(Exception):
    """Settings that cannot work, explained for the operator."""


def uses_llm(settings: Settings) -> bool:
    """Whether grading goes to Claude: asked for, or `auto` with a key."""
    if settings.grader == "offline":
        return False
    return settings.grader == "anthropic" or settings.anthropic_api_key is not None


def _follow_up_writer(grader: Grader) -> FollowUpWriter | None:
    """The LLM behind `grader`, when it writes mock-interview follow-ups (Claude does)."""
    primary = grader.primary if isinstance(grader, FallbackGrader) else grader
    return cast(FollowUpWriter, primary) if hasattr(primary, "follow_up") else None


def build_grader(
    settings: Settings,
    bank: Bank,
    *,
    limit: AdaptiveLimit | None = None,
    offline: OfflineGrader | None = None,
) -> Grader:
    """Offline without a key; with one, Claude first (its calls under `limit`) and the offline
    grader as the fallback."""
    offline = offline or OfflineGrader(bank)
    if not uses_llm(settings):
        return offline
    key = settings.anthropic_api_key
    if key is None:
        raise ConfigError("OPSDRILL_GRADER=anthropic needs ANTHROPIC_API_KEY to be set.")
    from bot.grading.anthropic import AnthropicGrader  # the SDK is large: loaded when used

    llm = AnthropicGrader(
        api_key=key.get_secret_value(),
        model=settings.model,
        base_url=settings.anthropic_base_url,
        timeout=settings.grader_timeout,
        max_retries=settings.grader_retries,
        limit=limit,
    )
    return FallbackGrader(llm, offline)


@dataclass
class App:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    clock: Clock
    bank: Bank
    messenger: Messenger
    grading: GradingService
    leaderboard: LeaderboardService
    stats: StatsService
    channels: ChannelService
    rounds: RoundService
    closer: RoundCloser
    views: RoundViews
    answers: AnswerService
    interviews: InterviewService
    recaps: RecapService
    router: Router
    scheduler: RoundScheduler
    background: Background
    inbox: Inbox
    receipts_engine: AsyncEngine | None = None
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _workers: list[asyncio.Task[None]] = field(default_factory=list)

    @classmethod
    async def create(
        cls,
        settings: Settings,
        *,
        adapters: Iterable[ChatAdapter] = (),
        clock: Clock | None = None,
        grader: Grader | None = None,
        bank: Bank | None = None,
        upgrade: bool = True,
        engine: AsyncEngine | None = None,
    ) -> App:
        """Everything wired, the database migrated and the questions synced; nothing started.
        `engine` (made from settings when None) is shared with adapters that keep platform
        data in the database; the app disposes of it on stop."""
        clock = clock or SystemClock()
        bank = bank or load_bank(settings.bank_dirs)
        llm_limit = None
        if grader is None and uses_llm(settings):
            llm_limit = AdaptiveLimit(settings.llm_concurrency)
        offline = OfflineGrader(bank)
        grader = grader or build_grader(settings, bank, limit=llm_limit, offline=offline)
        engine = engine or make_engine(settings.database_url)
        if upgrade:
            await migrate.upgrade(engine)
        sessions = make_sessionmaker(engine)
        receipts_engine, receipts = None, None  # SQLite: one writer, one connection for all
        if engine.dialect.name != "sqlite":
            receipts_engine = make_engine(settings.database_url, pool_size=1, max_overflow=0)
            receipts = make_sessionmaker(receipts_engine)
            async with receipts_engine.connect():  # connected now, not at the first send
                pass
        question_rows = await sync_questions(sessions, bank, clock.now())
        messenger = Messenger({a.platform: a for a in adapters})
        background = Background()
        arrivals = Arrivals()
        inbox = Inbox(sessions=sessions, clock=clock, arrivals=arrivals)
        for adapter in adapters:
            if isinstance(adapter, DefersEvents):
                inbox.register(adapter.platform, adapter.handle_deferred)
        grading = GradingService(
            sessions=sessions,
            clock=clock,
            grader=grader,
            messenger=messenger,
            lease=timedelta(seconds=settings.grading_lease),
            regrade_after=timedelta(seconds=settings.regrade_after),
            llm_limit=llm_limit,
            offline=None if grader.id == offline.id else offline,
            round_daily_cap=settings.round_daily_cap,
            follow_ups=_follow_up_writer(grader),
            batch=settings.grading_workers,
            receipts=receipts,
            arrivals=arrivals,
        )
        leaderboard = LeaderboardService(sessions=sessions)
        stats = StatsService(sessions=sessions)
        channels = ChannelService(
            sessions=sessions, clock=clock, settings=settings, messenger=messenger
        )
        closer = RoundCloser(
            sessions=sessions,
            clock=clock,
            messenger=messenger,
            grading=grading,
            leaderboard=leaderboard,
            background=background,
            reveal_grace=timedelta(seconds=settings.reveal_grace),
        )
        join_windows = (
            {"discord": timedelta(seconds=settings.discord_join_window)}
            if settings.discord_join_window
            else {}
        )
        rounds = RoundService(
            sessions=sessions,
            clock=clock,
            bank=bank,
            question_rows=question_rows,
            messenger=messenger,
            closer=closer,
            weekday_plan=parse_plan(settings.weekday_plan),
            post_concurrency=settings.post_concurrency,
            joined_platforms=frozenset(join_windows),
        )
        answers = AnswerService(
            sessions=sessions,
            clock=clock,
            messenger=messenger,
            grading=grading,
            background=background,
            edit_quiet=timedelta(seconds=settings.edit_quiet),
            join_windows=join_windows,
        )
        interviews = InterviewService(
            sessions=sessions,
            clock=clock,
            bank=bank,
            question_rows=question_rows,
            grader=grader,
            grading=grading,
            messenger=messenger,
            background=background,
            stats=stats,
            daily_cap=settings.mock_daily_cap,
        )
        grading.turns = interviews
        views = RoundViews(sessions=sessions, clock=clock, joined_platforms=frozenset(join_windows))
        squads = SquadService(sessions=sessions)
        recaps = RecapService(
            sessions=sessions, clock=clock, messenger=messenger, channels=channels,
            leaderboard=leaderboard, squads=squads, background=background,
        )  # fmt: skip
        router = Router(
            clock=clock,
            rounds=rounds,
            closer=closer,
            views=views,
            answers=answers,
            attempts=AttemptService(sessions=sessions, clock=clock),
            channels=channels,
            leaderboard=leaderboard,
            admin=AdminService(channels=channels, bank=bank, clock=clock),
            stats=stats,
            interviews=interviews,
            review=ReviewService(
                sessions=sessions, clock=clock, messenger=messenger, background=background
            ),
            squads=squads,
            recaps=recaps,
            export=ExportService(sessions=sessions),
            messenger=messenger,
            background=background,
            inbox=inbox,
        )
        scheduler = RoundScheduler(
            sessions=sessions, clock=clock, rounds=rounds, interviews=interviews, recaps=recaps
        )
        channels.on_schedule_change(scheduler.reschedule)
        return cls(
            settings=settings,
            engine=engine,
            sessions=sessions,
            clock=clock,
            bank=bank,
            messenger=messenger,
            grading=grading,
            leaderboard=leaderboard,
            stats=stats,
            channels=channels,
            rounds=rounds,
            closer=closer,
            views=views,
            answers=answers,
            interviews=interviews,
            recaps=recaps,
            router=router,
            scheduler=scheduler,
            background=background,
            inbox=inbox,
            receipts_engine=receipts_engine,
        )

    async def start(self, *, schedule: bool = True, workers: bool = True) -> None:
        """Connect the adapters, read back what was said while the bot was away, resume
        unfinished grading and start the schedule (which catches up on rounds)."""
        for adapter in self.messenger.adapters:
            await adapter.start(self.router.handle)
        for adapter in self.messenger.adapters:
            await self.answers.catch_up_all(adapter.platform)
        if workers:
            self._workers.append(asyncio.create_task(self.inbox.work(self._stop)))
            self._workers.append(asyncio.create_task(self.grading.work(self._stop)))
        if schedule:
            await self.scheduler.start()

    async def stop(self) -> None:
        self._stop.set()
        await self.inbox.close()
        await self.scheduler.stop()
        await self.background.close()
        for task in self._workers:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(task, timeout=5)
        self._workers.clear()
        await self.grading.close()
        for adapter in self.messenger.adapters:
            try:
                await adapter.stop()
            except Exception:
                log.exception("adapter %s did not stop cleanly", adapter.platform)
        await self.engine.dispose()
        if self.receipts_engine is not None:
            await self.receipts_engine.dispose()
