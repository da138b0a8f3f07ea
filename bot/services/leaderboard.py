"""Standings for a round, and leaderboards per channel and per team over a period."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.storage.models import Answer, Channel, Entry, Grade, Member, Round
from bot.storage.repo import latest_grade_ids


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
            return today - timedelta(days=today.weekday())
        if self is Period.MONTH:
            return today.replace(day=1)
        return None


@dataclass(frozen=True, slots=True)
class Standing:
    rank: int
    member_id: int
    user_id: str
    name: str
    points: float
    rounds: int
    first_answered_at: datetime


class LeaderboardService:
    def __init__(self, *, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def round_standings(self, round_id: int) -> list[Standing]:
        """Who scored what in one round; ties go to whoever answered first."""
        return await self._standings(Entry.round_id == round_id)

    async def channel_board(self, channel_id: int, period: Period, today: date) -> list[Standing]:
        return await self._standings(Round.channel_id == channel_id, _since(period, today))

    async def team_board(self, team_id: int, period: Period, today: date) -> list[Standing]:
        channels = select(Channel.id).where(Channel.team_id == team_id).scalar_subquery()
        return await self._standings(Round.channel_id.in_(channels), _since(period, today))

    async def _standings(self, *conditions: Any) -> list[Standing]:
        latest = latest_grade_ids()
        points = func.coalesce(func.sum(Grade.score), 0.0)
        first = func.min(Entry.first_answered_at)
        stmt = (
            select(
                Member.id,
                Member.external_id,
                Member.display_name,
                points.label("points"),
                func.count(Entry.id),
                first.label("first"),
            )
            .select_from(Entry)
            .join(Answer, Answer.id == Entry.answer_id)
            .join(Round, Round.id == Entry.round_id)
            .join(Member, Member.id == Entry.member_id)
            .outerjoin(latest, latest.c.answer_id == Answer.id)
            .outerjoin(
                Grade,
                and_(Grade.id == latest.c.grade_id, Grade.answer_revision == Answer.revision),
            )
            .where(*[c for c in conditions if c is not None])
            .group_by(Member.id, Member.external_id, Member.display_name)
            .order_by(points.desc(), first.asc(), Member.id)
        )
        async with self._sessions() as session:
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
            )
            for i, row in enumerate(rows, start=1)
        ]


def _since(period: Period, today: date) -> Any:
    first = period.first_day(today)
    return None if first is None else Round.local_date.between(first, today)
