"""Inbound event → service call, by an explicit table. Commands reply with a private card."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from bot.background import Background
from bot.clock import Clock
from bot.domain import (
    AnswerDeleted,
    AnswerEdited,
    AnswerPosted,
    Card,
    ChannelRef,
    CommandInvoked,
    Deferred,
    DirectMessage,
    HomeOpened,
    InboundEvent,
    Reconnected,
)
from bot.services import cards
from bot.services.admin import AdminService
from bot.services.answers import AnswerService
from bot.services.attempts import AttemptService
from bot.services.channels import ChannelService
from bot.services.closing import RoundCloser
from bot.services.export import ExportService, to_json
from bot.services.inbox import Inbox
from bot.services.interview import InterviewService
from bot.services.leaderboard import LeaderboardService, Period
from bot.services.messenger import Messenger
from bot.services.recap import RecapService
from bot.services.review import ReviewService
from bot.services.round_views import RoundViews
from bot.services.rounds import RoundService
from bot.services.squads import SquadService, squads_card
from bot.services.stats import StatsService

log = logging.getLogger(__name__)

TEAM_WEEKS = 4  # `/drill stats team` looks back this far
CommandHandler = Callable[[CommandInvoked], Awaitable[Card]]
AdminCommand = Callable[[ChannelRef, tuple[str, ...]], Awaitable[Card]]


def _with_args(action: AdminCommand) -> CommandHandler:
    async def handler(event: CommandInvoked) -> Card:
        return await action(event.channel, event.args)

    return handler


class Router:
    def __init__(
        self,
        *,
        clock: Clock,
        rounds: RoundService,
        closer: RoundCloser,
        views: RoundViews,
        answers: AnswerService,
        attempts: AttemptService,
        channels: ChannelService,
        leaderboard: LeaderboardService,
        admin: AdminService,
        stats: StatsService,
        interviews: InterviewService,
        review: ReviewService,
        squads: SquadService,
        recaps: RecapService,
        export: ExportService,
        messenger: Messenger,
        background: Background,
        inbox: Inbox | None = None,
    ) -> None:
        self._inbox = inbox
        self._messenger = messenger
        self._background = background
        self._clock = clock
        self._rounds = rounds
        self._closer = closer
        self._views = views
        self._answers = answers
        self._channels = channels
        self._leaderboard = leaderboard
        self._stats = stats
        self._interviews = interviews
        self._squads = squads
        self._recaps = recaps
        self._export = export
        self._commands: dict[str, CommandHandler] = {
            "today": self._today,
            "leaderboard": self._leaderboard_command,
            "help": self._help,
            "stats": self._my_stats,
            "forget-me": self._forget_me,
            "mock": interviews.command,
            "post": self._post,
            "close": self._close,
            "grade": review.grade,
            "audit": review.audit,
            "contest": review.contest,
            "squad": self._squad,
            "export": self._export_command,
            "recap": self._recap,
            "replace": attempts.replace,
            "keep": attempts.keep,
        }
        configure: dict[str, AdminCommand] = {
            "schedule": admin.schedule,
            "window": admin.window,
            "pause": admin.pause,
            "resume": admin.resume,
            "categories": admin.categories,
            "difficulty": admin.difficulties,
        }
        for name, action in configure.items():
            self._commands[name] = _with_args(action)
        self._admin_only = frozenset({"post", "close", "grade", "audit", *configure})

    @property
    def commands(self) -> frozenset[str]:
        return frozenset(self._commands)

    async def handle(self, event: InboundEvent) -> Card | None:
        """Handle one event. Each service stores what it must in one transaction, keyed so a
        platform's second delivery of the same event changes nothing (answers by their message
        id, DMs by theirs), and returns before anything slow: the adapter acks after this.

        On a failure of ours, an event the platform will deliver again (it has an event id)
        raises, so the adapter answers with an error and the retry gets another chance; for
        any other the person gets a notice, also for a thread answer, where no reply awaits."""
        try:
            return await self._dispatch(event)
        except Exception:
            log.exception("failed to handle %s", type(event).__name__)
            if event.event_id is not None:
                raise
            notice = cards.notice(
                "Something went wrong on our side",
                "Your message did not reach OpsDrill; please send it again in a minute.",
                refused=True,
            )
            if isinstance(event, AnswerPosted) and not event.private:
                self._background.spawn(
                    self._messenger.reply(event.thread, notice, private_to=event.author),
                    what=f"a failure notice in {event.thread.channel}",
                )
                return None
            return notice

    async def _dispatch(self, event: InboundEvent) -> Card | None:
        match event:
            case AnswerPosted():
                return await self._answers.accept_answer(event)
            case AnswerEdited():
                await self._answers.edit_answer(event)
                return None
            case AnswerDeleted():
                await self._answers.withdraw_answer(event)
                return None
            case CommandInvoked():
                return await self._command(event)
            case DirectMessage():
                if await self._interviews.on_message(event):
                    return None
                return cards.help_card(
                    "I take answers in each question's thread. Here in direct messages, "
                    "`/drill mock` starts a mock interview."
                )
            case HomeOpened():
                stats = await self._stats.for_user(event.user)
                rounds = await self._views.open_rounds(event.user.platform, event.user.team_id)
                return cards.home_card(stats, rounds)
            case Deferred():
                if self._inbox is None:
                    raise RuntimeError("a deferred event, but no inbox to store it in")
                await self._inbox.put(event)
                return None
            case Reconnected():
                self._background.spawn(
                    self._answers.catch_up_all(event.platform),
                    what=f"reading back {event.platform} threads after a reconnect",
                )
                return None
        raise TypeError(f"no route for {type(event).__name__}")

    async def _command(self, event: CommandInvoked) -> Card:
        name = event.name.strip().lower()
        handler = self._commands.get(name)
        if handler is None:
            shown = name[:30] if name else ""
            return cards.help_card(f"Unknown command `{shown}`." if shown else "")
        if name in self._admin_only and not await self._channels.is_admin(
            event.user, event.channel
        ):
            return cards.notice(
                "Admins only",
                f"`/drill {name}` is for workspace admins and people listed in OPSDRILL_ADMINS.",
            )
        return await handler(event)

    async def _today(self, event: CommandInvoked) -> Card:
        return await self._views.today(event.channel)

    async def _my_stats(self, event: CommandInvoked) -> Card:
        if [a.lower() for a in event.args[:1]] == ["team"]:
            since = self._clock.now().date() - timedelta(weeks=TEAM_WEEKS)
            topics = await self._stats.team_topics(event.user, since)
            return cards.team_topics_card(topics, TEAM_WEEKS)
        return cards.stats_card(await self._stats.for_user(event.user))

    async def _forget_me(self, event: CommandInvoked) -> Card:
        if [a.lower() for a in event.args] != ["confirm"]:
            return cards.notice(
                "Delete your OpsDrill data?",
                "This removes every answer, grade and leaderboard entry of yours in this "
                "workspace, your squad membership and your mentions in stored recaps, for good. "
                "To go ahead, run `/drill forget-me confirm`.",
            )
        removed = await self._stats.forget(event.user)
        await self._recaps.forget(event.user)
        self._answers.forget_member(event.user)
        return cards.notice(
            "Your OpsDrill data is deleted",
            f"Removed {removed} answer(s) with their grades. If you answer again, you start "
            "from zero.",
        )

    async def _help(self, event: CommandInvoked) -> Card:
        return cards.help_card()

    async def _post(self, event: CommandInvoked) -> Card:
        await self._channels.ensure(event.channel)
        return cards.notice(await self._rounds.post_now(event.channel))

    async def _close(self, event: CommandInvoked) -> Card:
        return cards.notice(await self._closer.close_current(event.channel))

    async def _export_command(self, event: CommandInvoked) -> Card:
        """`/drill export`: your data as JSON by DM; `export channel` (admins): a CSV."""
        if [a.lower() for a in event.args[:1]] == ["channel"]:
            if not await self._channels.is_admin(event.user, event.channel):
                return cards.notice("Admins only", "`/drill export channel` is for admins.")
            table = await self._export.channel_csv(event.channel)
            if table is None:
                return cards.notice("Nothing to export", "This channel has no rounds yet.")
            sent = cards.notice("Channel export", "Every answer's counted score, by round.")
            self._send_file(event, sent, f"opsdrill-{event.channel.channel_id}.csv", table.encode())
            return cards.notice("On its way", "The CSV comes by direct message.")
        record = await self._export.person(event.user)
        sent = cards.notice(
            "Your OpsDrill data",
            "Everything stored about you: answers, grades with per-point verdicts, contests "
            "and mock interviews. `/drill forget-me` deletes it.",
        )
        self._send_file(event, sent, "opsdrill-my-data.json", to_json(record))
        return cards.notice("On its way", "A JSON file with your data comes by direct message.")

    def _send_file(self, event: CommandInvoked, card: Card, name: str, content: bytes) -> None:
        self._background.spawn(
            self._messenger.send_file(event.user, card, name, content), what="an export file"
        )

    async def _recap(self, event: CommandInvoked) -> Card:
        """`/drill recap [day <weekday>|off]`: admins post or move it, members see it."""
        admin = await self._channels.is_admin(event.user, event.channel)
        return await self._recaps.command(event.channel, event.user, event.args, admin=admin)

    async def _squad(self, event: CommandInvoked) -> Card:
        action = event.args[0].lower() if event.args else ""
        admin = action in ("create", "add") and await self._channels.is_admin(
            event.user, event.channel
        )
        return await self._squads.command(event, self._clock.now(), admin=admin)

    async def _leaderboard_command(self, event: CommandInvoked) -> Card:
        args = [a.lower() for a in event.args]
        if args[:1] in (["hide-me"], ["show-me"]):
            hidden = args[0] == "hide-me"
            await self._stats.set_hidden(event.user, event.user_name, hidden, self._clock.now())
            if hidden:
                return cards.notice(
                    "You're off the boards",
                    'Leaderboards and round reveals list you as "someone". You still get '
                    "grades, feedback and `/drill stats`. `/drill leaderboard show-me` undoes it.",
                )
            return cards.notice("You're back on the boards", "Leaderboards name you again.")
        team_scope = "team" in args
        squads = "squads" in args
        periods = [a for a in args if a not in ("team", "squads")]
        try:
            period = Period(periods[0]) if periods else Period.WEEK
        except ValueError:
            return cards.notice(
                f"Unknown period `{periods[0][:20]}`",
                "Use `/drill leaderboard [team|squads] [week|month|all]`.",
            )
        channel = await self._channels.find(event.channel)
        if channel is None:
            return cards.leaderboard_card("this channel", period, [])
        today = self._today_in(channel.timezone)
        if squads:
            return squads_card(period, await self._squads.board(channel.team_id, period, today))
        if team_scope:
            standings = await self._leaderboard.team_board(
                channel.team_id, period, today, limit=cards.BOARD_ROWS
            )
            return cards.leaderboard_card("whole team", period, standings)
        standings = await self._leaderboard.channel_board(
            channel.id, period, today, limit=cards.BOARD_ROWS
        )
        return cards.leaderboard_card(
            f"#{channel.name}" if channel.name else "this channel", period, standings
        )

    def _today_in(self, zone: str) -> date:
        return self._clock.now().astimezone(ZoneInfo(zone)).date()
