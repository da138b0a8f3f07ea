"""Standings for a round, and leaderboards per channel and per team over a period."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.storage.models import Channel, Entry, Member, TeamMonthTotal, TeamTotal
from bot.storage.tally import member_totals, month_of, next_month


class Period(StrEnum):
    WEEK = "week"
    MONTH = "month"
    ALL = "all"

    @property
    def label(self) -> str:
        return {"week": "This week", "month": "This month", "all": "All time"}[self.value]

    def first_day(self, today: date) -> date | None:
        """The first local date the period covers; None for all time."""
        if self is Period.WEEK:
            return week_start(today)
        if self is Period.MONTH:
            return today.replace(day=1)
        return None


def week_start(day: date) -> date:
    """The Monday of `day`'s week (weeks run Monday to Sunday)."""
    return day - timedelta(days=day.weekday())


@dataclass(frozen=True, slots=True)
class Standing:
    rank: int
    member_id: int
    user_id: str
    name: str
    points: float
    rounds: int
    first_answered_at: datetime
    hidden: bool = False
    """The member opted out of being named (`/drill leaderboard hide-me`)."""


class LeaderboardService:
    def __init__(self, *, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def round_standings(self, round_id: int) -> list[Standing]:
        """Who scored what in one round; ties go to whoever answered first."""
        async with self._sessions() as session:
            return await _standings(session, member_totals(Entry.round_id == round_id))

    async def channel_board(
        self, channel_id: int, period: Period, today: date, *, limit: int | None = None
    ) -> list[Standing]:
        """The channel's standings over `period` (the best `limit` of them)."""
        return await self.channel_between(channel_id, period.first_day(today), today, limit=limit)

    async def channel_between(
        self, channel_id: int, first: date | None, last: date, *, limit: int | None = None
    ) -> list[Standing]:
        """The channel's standings over the local dates `first` to `last` (from the start when
        `first` is None)."""
        since = None if first is None else Entry.local_date.between(first, last)
        totals = member_totals(Entry.channel_id == channel_id, since)
        async with self._sessions() as session:
            return await _standings(session, totals, limit=limit)

    async def team_board(
        self, team_id: int, period: Period, today: date, *, limit: int | None = None
    ) -> list[Standing]:
        """Standings over every channel of the team (the best `limit` of them). All time, and a
        month unless a channel ahead is already past `today`, read the kept totals; the rest
        add up entries (a week's are few enough)."""
        channels = select(Channel.id).where(Channel.team_id == team_id).scalar_subquery()
        async with self._sessions() as session:
            if period is Period.ALL:
                totals = _kept(TeamTotal, TeamTotal.team_id == team_id)
            elif period is Period.MONTH and not await _answered_after(session, channels, today):
                totals = _kept(
                    TeamMonthTotal,
                    TeamMonthTotal.team_id == team_id,
                    TeamMonthTotal.month == month_of(today),
                )
            else:
                totals = member_totals(Entry.channel_id.in_(channels), _since(period, today))
            return await _standings(session, totals, limit=limit)


async def _standings(
    session: AsyncSession, totals: Select[Any], *, limit: int | None = None
) -> list[Standing]:
    # Rank on the member ids alone and join the names afterwards: with a limit, only the
    # members shown are looked up.
    if limit is not None:
        c = totals.selected_columns
        totals = totals.order_by(c.points.desc(), c.first.asc(), c.member_id).limit(limit)
    ranked = totals.subquery()
    stmt = (
        select(
            Member.id,
            Member.external_id,
            Member.display_name,
            ranked.c.points,
            ranked.c.rounds,
            ranked.c.first,
            Member.hidden,
        )
        .join(Member, Member.id == ranked.c.member_id)
        .order_by(ranked.c.points.desc(), ranked.c.first.asc(), ranked.c.member_id)
    )
    rows = (await session.execute(stmt)).all()
    return [
        Standing(
            rank=i,
            member_id=row[0],
            user_id=row[1],
            name=row[2] or row[1],
            points=round(float(row[3]), 1),
            rounds=int(row[4]),
            first_answered_at=row[5],
            hidden=bool(row[6]),
        )
        for i, row in enumerate(rows, start=1)
    ]


def _kept(model: type[TeamTotal] | type[TeamMonthTotal], *conditions: Any) -> Select[Any]:
    """Points, rounds and first answer per member, read from kept totals (one row each)."""
    return select(
        model.member_id,
        model.points.label("points"),
        model.rounds.label("rounds"),
        model.first_answered_at.label("first"),
    ).where(*conditions)


async def _answered_after(session: AsyncSession, channels: Any, today: date) -> bool:
    """Whether a channel of the team, in a time zone ahead, already has answers on a date after
    `today` this month: the month's kept totals count them, a board up to `today` must not."""
    # A count, not LIMIT 1: entries lie in date order, and a LIMIT tempts PostgreSQL into
    # scanning the table from its old end for the first late one.
    later = select(func.count()).where(
        Entry.channel_id.in_(channels),
        Entry.local_date > today,
        Entry.local_date < next_month(today),
    )
    return bool((await session.execute(later)).scalar_one())


def _since(period: Period, today: date) -> Any:
    first = period.first_day(today)
    return None if first is None else Entry.local_date.between(first, today)
