"""Admin commands that configure a channel: schedule, window, pause/resume, topic limits."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.clock import Clock
from bot.domain import Card, ChannelRef
from bot.questions.bank import Bank
from bot.questions.schema import Category, Difficulty
from bot.services import cards
from bot.services.channels import ChannelService
from bot.services.rounds import schedule_of
from bot.storage.models import Channel
from bot.timetable import format_weekdays, parse_duration, parse_weekdays


class AdminService:
    def __init__(self, *, channels: ChannelService, bank: Bank, clock: Clock) -> None:
        self._channels = channels
        self._bank = bank
        self._clock = clock

    async def schedule(self, ref: ChannelRef, args: tuple[str, ...]) -> Card:
        """`schedule HH:MM [Area/City] [mon-fri|daily|mon,wed,fri]`."""
        usage = "Use `/drill schedule HH:MM [Area/City] [mon-fri|daily|mon,wed,fri]`."
        if not args:
            channel = await self._channels.find(ref)
            return cards.notice("Schedule", _describe(channel, self._clock.now()) + "\n" + usage)
        changes: dict[str, object] = {}
        try:
            changes["post_time"] = time.fromisoformat(args[0].zfill(5)).strftime("%H:%M")
        except ValueError:
            return cards.notice(f"`{args[0][:20]}` is not a time", usage)
        for arg in args[1:3]:
            if "/" in arg or arg.upper() == "UTC":
                try:
                    ZoneInfo(arg)
                except (ZoneInfoNotFoundError, ValueError):
                    return cards.notice(
                        f"`{arg[:40]}` is not a time zone I know",
                        "Use an IANA name such as Europe/Berlin. " + usage,
                    )
                changes["timezone"] = arg
            else:
                try:
                    changes["weekdays"] = format_weekdays(parse_weekdays(arg))
                except ValueError as exc:
                    return cards.notice("Those days don't parse", f"{exc}. {usage}")
        channel = await self._channels.update(ref, **changes)
        return cards.notice("Schedule updated", _describe(channel, self._clock.now()))

    async def window(self, ref: ChannelRef, args: tuple[str, ...]) -> Card:
        """`window 8h`: how long a round stays open."""
        try:
            length = parse_duration(args[0]) if args else None
        except ValueError as exc:
            length, problem = None, str(exc)
        else:
            problem = "Give a length, e.g. `/drill window 8h`."
        if length is None or not timedelta(minutes=15) <= length <= timedelta(hours=24):
            if length is not None:
                problem = "The window must be between 15 minutes and 24 hours."
            return cards.notice("Window not changed", problem)
        minutes = int(length.total_seconds() // 60)
        channel = await self._channels.update(ref, window_minutes=minutes)
        return cards.notice("Answer window updated", _describe(channel, self._clock.now()))

    async def pause(self, ref: ChannelRef, args: tuple[str, ...]) -> Card:
        await self._channels.update(ref, active=False)
        return cards.notice("Paused", "No new rounds here until `/drill resume`.")

    async def resume(self, ref: ChannelRef, args: tuple[str, ...]) -> Card:
        channel = await self._channels.update(ref, active=True)
        return cards.notice("Resumed", _describe(channel, self._clock.now()))

    async def categories(self, ref: ChannelRef, args: tuple[str, ...]) -> Card:
        """`categories [all | c1 c2 …]`: limit the channel's questions to some categories."""
        return await self._limit(ref, args, "categories", [c.value for c in Category])

    async def difficulties(self, ref: ChannelRef, args: tuple[str, ...]) -> Card:
        """`difficulty [all | foundation practitioner expert]`."""
        return await self._limit(ref, args, "difficulties", [d.value for d in Difficulty])

    async def _limit(
        self, ref: ChannelRef, args: tuple[str, ...], field: str, allowed: list[str]
    ) -> Card:
        choices = ", ".join(f"`{a}`" for a in allowed)
        values = [a.strip(",").lower() for a in args if a.strip(",")]
        if not values:
            channel = await self._channels.find(ref)
            current = getattr(channel, field, None) if channel else None
            now = ", ".join(current) if current else "all"
            return cards.notice(f"This channel's {field}: {now}",
                                f"Choose from {choices}, or `all`.")  # fmt: skip
        unknown = [v for v in values if v not in allowed and v != "all"]
        if unknown:
            return cards.notice(f"Unknown {field}: {', '.join(unknown)[:80]}",
                                f"Choose from {choices}, or `all`.")  # fmt: skip
        chosen = None if "all" in values else sorted(set(values))
        channel = await self._channels.find(ref)
        other = "difficulties" if field == "categories" else "categories"
        limits = {field: chosen, other: getattr(channel, other, None) if channel else None}
        if not self._bank.eligible(**limits):
            return cards.notice(
                "Nothing left to ask", "No question matches both limits; nothing was changed."
            )
        await self._channels.update(ref, **{field: chosen})
        shown = ", ".join(chosen) if chosen else "all"
        count = len(self._bank.eligible(**limits))
        return cards.notice(f"This channel's {field}: {shown}", f"{count} questions qualify.")


def _describe(channel: Channel | None, now: datetime) -> str:
    if channel is None:
        return "This channel has no schedule yet."
    if not channel.active:
        return "Paused: no rounds until `/drill resume`."
    schedule = schedule_of(channel)
    upcoming = schedule.next_slot(now).opens_at.astimezone(schedule.zone)
    hours = channel.window_minutes / 60
    return (
        f"Rounds post at {channel.post_time} {channel.timezone} on {channel.weekdays}, "
        f"open for {hours:g}h. Next: {upcoming:%A %d %B at %H:%M %Z}."
    )
