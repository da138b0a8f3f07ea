"""The weekly recap: once a week per channel (default Monday at its post time, in its time
zone), a picture of the week and three lines of text, posted into the channel.

Exactly once by constraint: a recap row is unique per channel and week (the Monday of the week
it is posted in), inserted before anything is drawn; a second replica or a restart finds the
row taken. The row's state only moves from `posting`, so a late writer changes nothing. A
recap that failed to post is not retried: at most one per channel per week."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.background import Background
from bot.clock import Clock
from bot.domain import Card, CardField, ChannelRef, UserRef
from bot.services import cards
from bot.services.channels import ChannelService
from bot.services.closing import channel_ref
from bot.services.leaderboard import LeaderboardService, week_start
from bot.services.messenger import Messenger
from bot.services.opening import cached_schedule
from bot.services.recap_data import HEAT_WEEKS, RecapData, gather
from bot.services.recap_picture import render_png
from bot.services.squads import SquadService
from bot.storage import repo
from bot.storage.models import Channel, Recap, Team
from bot.timetable import Schedule
from bot.user_text import clip, neutralize

log = logging.getLogger(__name__)

FILENAME = "recap.png"
DAYS = 7
USAGE = "`/drill recap` · admins: `/drill recap day <monday…sunday>|off`"
DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
FORGOTTEN = "(removed: this person asked OpsDrill to forget them)"


class RecapService:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        messenger: Messenger,
        channels: ChannelService,
        leaderboard: LeaderboardService,
        squads: SquadService,
        background: Background,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._messenger = messenger
        self._channels = channels
        self._leaderboard = leaderboard
        self._squads = squads
        self._background = background
        self._posting = False  # a batch of weekly recaps is under way in this process
        # Private pictures drawn today, by person, channel and day: asking again shows the
        # text and draws nothing (a picture costs about a second of CPU).
        self._pictures_sent: set[tuple[UserRef, ChannelRef, date]] = set()

    # --- the schedule ----------------------------------------------------------------------

    async def sync_all(self) -> None:
        """Post the recaps due now (their day, past their post time, in the channel's zone)
        and not posted this week, one after another in the background. Safe to call at any
        time, from any number of processes."""
        now = self._clock.now()
        # Somewhere it is the UTC day before, the day itself or the day after.
        days = {(now.weekday() + d) % 7 for d in (-1, 0, 1)}
        async with self._sessions() as session:
            rows = await session.execute(
                select(Channel.id, Channel.post_time, Channel.timezone, Channel.weekdays,
                       Channel.window_minutes, Channel.recap_day)
                .where(Channel.active, Channel.recap_day.in_(days))
            )  # fmt: skip
            due = {
                channel_id: day
                for channel_id, *schedule, recap_day in rows
                if (day := _due(cached_schedule(*schedule), recap_day, now))
            }
            if not due:
                return
            taken = {
                (channel_id, week): (status, last)
                for channel_id, week, status, last in await session.execute(
                    select(Recap.channel_id, Recap.week, Recap.status, Recap.last_day).where(
                        Recap.week.in_({week_start(day) for day in due.values()})
                    )
                )
            }
        todo = []
        for channel_id, day in sorted(due.items()):
            status, last = taken.get((channel_id, week_start(day)), (None, None))
            # An empty week is looked at again only by a recap of another day.
            if status is None or (status == "empty" and last != day - timedelta(days=1)):
                todo.append((channel_id, day))
        if todo and not self._posting:
            self._posting = True
            self._background.spawn(self._post_weekly(todo), what=f"{len(todo)} weekly recap(s)")

    async def _post_weekly(self, todo: list[tuple[int, date]]) -> None:
        try:
            for channel_id, day in todo:
                await self._weekly(channel_id, day)
        finally:
            self._posting = False

    async def _weekly(self, channel_id: int, day: date) -> None:
        """The scheduled recap on `day`: the seven days before it."""
        first, last = day - timedelta(days=DAYS), day - timedelta(days=1)
        recap_id = await self._claim(channel_id, day, first, last)
        if recap_id is None:
            return  # another process has it
        try:
            channel, ref = await self._channel(channel_id)
            data = await self._gather(channel, first, last)
        except Exception:
            log.exception("recap %s: could not gather channel %s's week", recap_id, channel_id)
            await self._finish(recap_id, "failed")
            return
        if not data.answers:
            await self._finish(recap_id, "empty")
            return
        await self._deliver(recap_id, ref, data)

    # --- commands --------------------------------------------------------------------------

    async def command(self, ref: ChannelRef, user: UserRef, args: Sequence[str], *,
                      admin: bool) -> Card:  # fmt: skip
        """`/drill recap`: admins post one now; others see it privately (the picture by DM).
        `/drill recap day <weekday>|off` (admins) moves or stops the weekly one."""
        words = [a.lower() for a in args]
        if words[:1] == ["day"]:
            if not admin:
                return cards.notice("Admins only", f"`/drill recap day` is for admins. {USAGE}")
            return await self._set_day(ref, words[1:])
        if words:
            return cards.notice(f"Unknown recap option `{clip(words[0], 20)}`", USAGE)
        channel, team = await self._find(ref)
        if channel is None or team is None:
            return cards.notice("Nothing to recap yet", "This channel has no rounds yet.")
        last = self._clock.now().astimezone(ZoneInfo(channel.timezone)).date()
        first = last - timedelta(days=DAYS - 1)
        data = await self._gather(channel, first, last)
        if not data.answers:
            return cards.notice("Nothing to recap yet", "No answers here in the last 7 days.")
        card, _ = recap_card(data)
        if not admin:
            if (user, ref, last) in self._pictures_sent:
                return replace(card, footer="Only you see this; its picture came by DM today.")
            yesterday = last - timedelta(days=1)
            self._pictures_sent = {k for k in self._pictures_sent if k[2] >= yesterday}
            self._pictures_sent.add((user, ref, last))
            self._background.spawn(self._send_privately(user, card, data), what="a recap by DM")
            return replace(card, footer="Only you see this; the picture comes by direct message.")
        recap_id = await self._claim(channel.id, last, first, last)
        if recap_id is None:
            return replace(card, footer="This week already had its recap here (one a week); "
                                        "this copy is for you alone.")  # fmt: skip
        self._background.spawn(
            self._deliver(recap_id, channel_ref(channel, team), data),
            what=f"the recap of channel {channel.id}",
        )
        return cards.notice("Posting the weekly recap", "The picture and its summary go into "
                            "the channel now (one recap per week).")  # fmt: skip

    async def _set_day(self, ref: ChannelRef, words: list[str]) -> Card:
        if not words:
            channel, _ = await self._find(ref)
            if channel is None or channel.recap_day is None:
                return cards.notice("Weekly recap off here", USAGE)
            return cards.notice("Weekly recap", f"{_when(channel)}. {USAGE}")
        choice = words[0]
        if choice == "off":
            await self._channels.update(ref, recap_day=None)
            return cards.notice("Weekly recap off", "Turn it on with `/drill recap day monday`.")
        days = [i for i, day in enumerate(DAY_NAMES) if len(choice) >= 3 and day.startswith(choice)]
        if not days:
            return cards.notice("Which day?", f"e.g. `/drill recap day monday`. {USAGE}")
        channel = await self._channels.update(ref, recap_day=days[0])
        return cards.notice("Weekly recap moved", _when(channel) + ".")

    async def forget(self, user: UserRef) -> int:
        """Scrub `user` from every stored recap of their team; the number of recaps changed."""
        changed = 0
        async with self._sessions.begin() as session:
            recaps = (
                await session.scalars(
                    select(Recap)
                    .join(Channel, Channel.id == Recap.channel_id)
                    .join(Team, Team.id == Channel.team_id)
                    .where(Team.platform == user.platform, Team.external_id == user.team_id)
                    .where(Recap.summary.is_not(None))
                )
            ).all()
            for recap in recaps:
                summary = recap.summary or {}
                if user.user_id not in summary.get("mentions", []):
                    continue
                mention = f"<@{user.user_id}>"
                recap.summary = {
                    "lines": [FORGOTTEN if mention in line else line
                              for line in summary.get("lines", [])],
                    "mentions": [m for m in summary["mentions"] if m != user.user_id],
                    "names": {k: v for k, v in summary.get("names", {}).items()
                              if k != user.user_id},
                }  # fmt: skip
                changed += 1
        return changed

    # --- internals -------------------------------------------------------------------------

    async def _gather(self, channel: Channel, first: date, last: date) -> RecapData:
        return await gather(self._sessions, self._leaderboard, self._squads, channel, first, last)

    async def _claim(self, channel_id: int, day: date, first: date, last: date) -> int | None:
        """This process's recap row for the week of `day`; None if the week has one. A week
        whose recap found nothing to show is taken over by one of other days (the recap day
        moved, or an admin asks for one)."""
        week = week_start(day)
        async with self._sessions.begin() as session:
            claimed: int | None = await repo.insert_ignoring_conflict(
                session,
                Recap,
                {"channel_id": channel_id, "week": week, "status": "posting",
                 "first_day": first, "last_day": last, "created_at": self._clock.now()},
                conflict=["channel_id", "week"],
            )  # fmt: skip
            if claimed is None:
                claimed = (
                    await session.execute(
                        update(Recap)
                        .where(
                            Recap.channel_id == channel_id,
                            Recap.week == week,
                            Recap.status == "empty",
                        )
                        .values(status="posting", first_day=first, last_day=last)
                        .returning(Recap.id)
                    )
                ).scalar_one_or_none()
        return claimed

    async def _deliver(self, recap_id: int, ref: ChannelRef, data: RecapData) -> None:
        """Draw the picture and post it with its card into the channel."""
        card, summary = recap_card(data)
        try:
            png = await asyncio.to_thread(render_png, data, plain_lines(data))
            sent = await self._messenger.post_file(ref, card, FILENAME, png)
        except Exception:
            log.exception("recap %s: could not post it in %s", recap_id, ref)
            await self._finish(recap_id, "failed", summary)
            return
        await self._finish(recap_id, "posted", summary, sent.message_id if sent else None)

    async def _send_privately(self, user: UserRef, card: Card, data: RecapData) -> None:
        png = await asyncio.to_thread(render_png, data, plain_lines(data))
        await self._messenger.send_file(user, card, FILENAME, png)

    async def _finish(self, recap_id: int, status: str, summary: dict[str, Any] | None = None,
                      message_id: str | None = None) -> None:  # fmt: skip
        """Move the recap on from `posting` (and from nothing else)."""
        now = self._clock.now()
        async with self._sessions.begin() as session:
            await session.execute(
                update(Recap)
                .where(Recap.id == recap_id, Recap.status == "posting")
                .values(
                    status=status,
                    summary=summary,
                    message_id=message_id,
                    posted_at=now if status == "posted" else None,
                )
            )

    async def _channel(self, channel_id: int) -> tuple[Channel, ChannelRef]:
        async with self._sessions() as session:
            channel, team = (
                await session.execute(
                    select(Channel, Team)
                    .join(Team, Team.id == Channel.team_id)
                    .where(Channel.id == channel_id)
                )
            ).one()
        return channel, channel_ref(channel, team)

    async def _find(self, ref: ChannelRef) -> tuple[Channel | None, Team | None]:
        async with self._sessions() as session:
            channel = await repo.find_channel(session, ref)
            if channel is None:
                return None, None
            return channel, await session.get(Team, channel.team_id)


async def week_recap(
    sessions: async_sessionmaker[AsyncSession],
    channel_id: str,
    platform: str | None,
    day: date | None,
    now: datetime,
) -> tuple[RecapData, Card, bytes] | str:
    """The recap of the Monday-to-Sunday week holding `day` (default: this week) for the
    channel with platform id `channel_id`, drawn offline; or why there is none."""
    async with sessions() as session:
        stmt = select(Channel).join(Team, Team.id == Channel.team_id)
        stmt = stmt.where(Channel.external_id == channel_id)
        if platform is not None:
            stmt = stmt.where(Team.platform == platform)
        found = (await session.scalars(stmt)).all()
    if len(found) != 1:
        return (f"No channel `{channel_id}` in this database." if not found else
                f"{len(found)} channels have the id `{channel_id}`: add --platform.")  # fmt: skip
    channel = found[0]
    day = day or now.astimezone(ZoneInfo(channel.timezone)).date()
    first = week_start(day)
    data = await gather(
        sessions, LeaderboardService(sessions=sessions), SquadService(sessions=sessions),
        channel, first, first + timedelta(days=DAYS - 1),
    )  # fmt: skip
    card, _ = recap_card(data)
    png = await asyncio.to_thread(render_png, data, plain_lines(data))
    return data, card, png


def recap_card(data: RecapData) -> tuple[Card, dict[str, Any]]:
    """The recap in words (for people who don't look at pictures) and what to keep of it."""
    lines = _lines(data, mention=True)
    top = cards.standings_text(data.top, empty="No answers yet.", limit=3)
    names = cards.named(data.top)
    for person in (data.best, data.improver):
        if person is not None:
            names[person.user_id] = person.name
    card = Card(
        title=f"Weekly recap · #{data.channel_name} · {data.first:%d %b} – {data.last:%d %b}",
        body="\n".join(lines),
        fields=(
            CardField(
                "Top of the week", cards.standings_text(data.top, empty="No answers yet.", limit=3)
            ),
            CardField("Answers", f"{data.answers} in {len(data.per_day)} days"),
        ),
        footer="Admins: `/drill recap day <weekday>|off`. `/drill leaderboard hide-me` leaves "
        "you out of recaps.",
        names=names,
    )
    summary = {"lines": [*lines, *top.splitlines()], "mentions": sorted(names), "names": names}
    return card, summary


def plain_lines(data: RecapData) -> list[str]:
    """The three lines with names written out, for the picture (no markup)."""
    return [line.replace("`", "") for line in _lines(data, mention=False)]


def _lines(data: RecapData, *, mention: bool) -> list[str]:
    def who(user_id: str, name: str) -> str:
        return f"<@{user_id}>" if mention else neutralize(name)

    if data.best is not None:
        quote = clip(" ".join(neutralize(data.best.text).split()), 120)
        best = (
            f"Best answer: {who(data.best.user_id, data.best.name)} scored "
            f"{data.best.score:g}/10 on {data.best.category.label}: “{quote}”"
        )
    else:
        best = "Best answer: none to quote this week."
    if data.improver is not None:
        i = data.improver
        improver = (
            f"Biggest improver: {who(i.user_id, i.name)}, from {i.before:g} to {i.after:g} "
            "on average."
        )
    else:
        improver = "Biggest improver: nobody yet (it takes answers this week and before)."
    weakest = data.weakest
    if weakest is not None:
        which = "the lowest" if len(data.topics) > 1 else "the only topic so far"
        topic = (
            f"Weakest topic: {weakest.category.label} ({weakest.average:g}/10 over "
            f"{HEAT_WEEKS} weeks, {which}). Practise it with "
            f"`/drill mock {weakest.category.value}`."
        )
    else:
        topic = "Weakest topic: answer in more topics to find it."
    return [best, improver, topic]


def _due(schedule: Schedule, recap_day: int, now: datetime) -> date | None:
    """The channel's local date if its recap is due now: its recap day, past its post time."""
    today = schedule.local(now).date()
    if today.weekday() != recap_day or schedule.slot(today).opens_at > now:
        return None
    return today


def _when(channel: Channel) -> str:
    day = DAY_NAMES[channel.recap_day or 0].capitalize()
    return f"Every {day} at {channel.post_time} {channel.timezone}, covering the seven days before"
