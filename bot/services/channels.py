"""Channels and their schedules, and who may change them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import time
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.config import Settings
from bot.domain import ChannelRef, UserRef
from bot.services.messenger import Messenger
from bot.storage import repo
from bot.storage.models import Channel
from bot.timetable import format_weekdays, parse_weekdays

_SCHEDULE_FIELDS = {"post_time", "timezone", "weekdays", "window_minutes", "active"}


class ChannelService:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        settings: Settings,
        messenger: Messenger,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._settings = settings
        self._messenger = messenger
        self._listeners: list[Callable[[int], Awaitable[None]]] = []

    def on_schedule_change(self, listener: Callable[[int], Awaitable[None]]) -> None:
        """Call `listener(channel_id)` whenever a channel's schedule is created or changed."""
        self._listeners.append(listener)

    async def ensure(
        self,
        ref: ChannelRef,
        *,
        name: str = "",
        post_time: time | None = None,
        timezone: str | None = None,
        weekdays: str = "mon-fri",
        window_minutes: int | None = None,
    ) -> int:
        """The channel's id, set up with the default schedule the first time it is seen."""
        now = self._clock.now()
        s = self._settings
        async with self._sessions.begin() as session:
            existing = await repo.find_channel(session, ref)
            if existing is not None:
                return existing.id
            team = await repo.team_for(session, ref.platform, ref.team_id, now)
            await repo.insert_ignoring_conflict(
                session,
                Channel,
                {
                    "team_id": team.id,
                    "external_id": ref.channel_id,
                    "name": name,
                    "post_time": (post_time or s.default_post_time).strftime("%H:%M"),
                    "timezone": timezone or s.default_timezone,
                    "weekdays": format_weekdays(parse_weekdays(weekdays)),
                    "window_minutes": window_minutes or round(s.default_window_hours * 60),
                    "active": True,
                    "created_at": now,
                    "schedule_changed_at": now,
                },
                conflict=["team_id", "external_id"],
            )
            channel = await repo.find_channel(session, ref)
            assert channel is not None
            channel_id = channel.id
        for listener in self._listeners:
            await listener(channel_id)
        return channel_id

    async def update(self, ref: ChannelRef, **changes: Any) -> Channel:
        """Change a channel's settings (creating it first if needed). A change to when rounds
        happen takes effect from now: no round is back-filled for the new time."""
        await self.ensure(ref)
        now = self._clock.now()
        async with self._sessions.begin() as session:
            channel = await repo.find_channel(session, ref)
            assert channel is not None
            for name, value in changes.items():
                setattr(channel, name, value)
            if set(changes) & _SCHEDULE_FIELDS:
                channel.schedule_changed_at = now
        for listener in self._listeners:
            await listener(channel.id)
        return channel

    async def find(self, ref: ChannelRef) -> Channel | None:
        async with self._sessions() as session:
            return await repo.find_channel(session, ref)

    async def is_admin(self, user: UserRef, channel: ChannelRef) -> bool:
        """Listed in OPSDRILL_ADMINS, or an admin of the team on the platform itself."""
        if self._settings.is_listed_admin(user.platform, user.user_id):
            return True
        if not self._messenger.has(user.platform):
            return False
        return await self._messenger.adapter(user.platform).is_admin(user, channel)
