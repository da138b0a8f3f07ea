"""Squads: team against team inside one workspace. Admins name squads and put people in them
(`/drill squad create|add`), anyone joins one (`/drill squad join`); one squad per person.
Until a workspace defines squads, each of its drill channels is one, made of the people who
answer there.

Squads are ranked by a fair score: the average points per active member (a member with at
least one graded answer in the period), so a big squad does not win by headcount; the share of
members who were active stands beside it, so one star cannot hide an idle squad."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain import Card, CommandInvoked, UserRef
from bot.services import cards
from bot.services.leaderboard import Period
from bot.storage import repo
from bot.storage.models import Channel, Entry, Squad, SquadMember, Team
from bot.user_text import mentioned_user, scrub

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")
USAGE = (
    "`/drill squad` lists the squads · `/drill squad join <name>` · admins: "
    "`/drill squad create <name>`, `/drill squad add <name> @a @b`"
)
FORMULA = (
    "Squads rank by average points per active member (members with a graded answer in the "
    "period); participation is active members out of all members."
)


@dataclass(frozen=True, slots=True)
class SquadStanding:
    rank: int
    name: str
    points: float
    active: int
    size: int

    @property
    def average(self) -> float:
        return round(self.points / self.active, 1) if self.active else 0.0


class SquadService:
    def __init__(self, *, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def command(self, event: CommandInvoked, now: datetime, *, admin: bool) -> Card:
        """`/drill squad [create|add|join|leave] …`."""
        action = event.args[0].lower() if event.args else ""
        rest = event.args[1:]
        if action in ("create", "add") and not admin:
            return cards.notice(
                "Admins only", f"`/drill squad {action}` is for workspace admins. {USAGE}"
            )
        if action == "create":
            return await self._create(event, rest, now)
        if action == "add":
            return await self._add(event, rest, now)
        if action == "join":
            return await self._join(event, rest, now)
        if action == "leave":
            return await self._leave(event, now)
        if action:
            return cards.notice(f"Unknown squad command `{action[:20]}`", USAGE)
        return await self._list(event)

    async def _create(self, event: CommandInvoked, args: Sequence[str], now: datetime) -> Card:
        name = args[0] if args else ""
        if not _NAME.match(name):
            return cards.notice(
                "Name the squad", "1 to 32 letters, digits, `-` or `_`, e.g. `platform`. " + USAGE
            )
        async with self._sessions.begin() as session:
            team = await repo.team_for(session, event.user.platform, event.user.team_id, now)
            created = await repo.insert_ignoring_conflict(
                session,
                Squad,
                {"team_id": team.id, "name": name.lower(), "created_at": now},
                conflict=["team_id", "name"],
            )
        if created is None:
            return cards.notice(f"Squad `{name.lower()}` already exists", USAGE)
        return cards.notice(
            f"Squad `{name.lower()}` created",
            f"Add people with `/drill squad add {name.lower()} @a @b`; anyone can "
            f"`/drill squad join {name.lower()}`. {FORMULA}",
        )

    async def _add(self, event: CommandInvoked, args: Sequence[str], now: datetime) -> Card:
        if len(args) < 2:
            return cards.notice("Add people to a squad", USAGE)
        ids = [i for i in map(mentioned_user, args[1:]) if i is not None]
        if len(ids) != len(args) - 1:
            return cards.notice("Mention the people to add", "e.g. `/drill squad add ml @ada`.")
        async with self._sessions.begin() as session:
            squad = await _squad(session, event.user, args[0], now)
            if squad is None:
                return _unknown(args[0])
            for user_id in ids:
                person = UserRef(event.user.platform, event.user.team_id, user_id)
                member = await repo.member_for(session, person, "", now)
                await _put(session, member.id, squad.id, now)
        mentions = " ".join(f"<@{i}>" for i in ids)
        return cards.notice(f"Added to `{squad.name}`", f"{mentions} (one squad each).")

    async def _join(self, event: CommandInvoked, args: Sequence[str], now: datetime) -> Card:
        if not args:
            return cards.notice("Join a squad", USAGE)
        async with self._sessions.begin() as session:
            squad = await _squad(session, event.user, args[0], now)
            if squad is None:
                return _unknown(args[0])
            member = await repo.member_for(session, event.user, event.user_name, now)
            await _put(session, member.id, squad.id, now)
        return cards.notice(f"You're in `{squad.name}`", FORMULA)

    async def _leave(self, event: CommandInvoked, now: datetime) -> Card:
        async with self._sessions.begin() as session:
            member = await repo.member_for(session, event.user, event.user_name, now)
            mine = await session.get(SquadMember, member.id)
            if mine is None:
                return cards.notice("You're in no squad", USAGE)
            await session.delete(mine)
        return cards.notice("You left your squad", USAGE)

    async def _list(self, event: CommandInvoked) -> Card:
        async with self._sessions() as session:
            rows = (
                await session.execute(
                    select(Squad.name, func.count(SquadMember.member_id))
                    .join(Team, Team.id == Squad.team_id)
                    .outerjoin(SquadMember, SquadMember.squad_id == Squad.id)
                    .where(
                        Team.platform == event.user.platform,
                        Team.external_id == event.user.team_id,
                    )
                    .group_by(Squad.name)
                    .order_by(Squad.name)
                )
            ).all()
        if not rows:
            return cards.notice(
                "Squads", "None defined: each drill channel competes as a squad. " + USAGE
            )
        body = "\n".join(f"• `{name}` · {n} member{'s' if n != 1 else ''}" for name, n in rows)
        return cards.notice("Squads", f"{body}\n{USAGE}")

    async def board(self, team_id: int, period: Period, today: date) -> list[SquadStanding]:
        """The team's squads ranked by average points per active member in `period`."""
        return await self.board_between(team_id, period.first_day(today), today)

    async def board_between(
        self, team_id: int, first: date | None, last: date
    ) -> list[SquadStanding]:
        """The same over the local dates `first` (None: from the start) to `last`."""
        async with self._sessions() as session:
            channels = select(Channel.id).where(Channel.team_id == team_id).scalar_subquery()
            in_period: list[Any] = [Entry.channel_id.in_(channels)]
            if first is not None:
                in_period.append(Entry.local_date.between(first, last))
            per_member = (
                select(Entry.member_id, func.coalesce(func.sum(Entry.score), 0.0).label("pts"))
                .where(*in_period, Entry.score.is_not(None))
                .group_by(Entry.member_id)
                .subquery()
            )
            defined = (
                await session.execute(select(func.count()).where(Squad.team_id == team_id))
            ).scalar_one()
            rows: Sequence[Any]
            if defined:
                rows = (
                    await session.execute(
                        select(
                            Squad.name,
                            func.coalesce(func.sum(per_member.c.pts), 0.0),
                            func.count(per_member.c.member_id),
                            func.count(SquadMember.member_id),
                        )
                        .outerjoin(SquadMember, SquadMember.squad_id == Squad.id)
                        .outerjoin(per_member, per_member.c.member_id == SquadMember.member_id)
                        .where(Squad.team_id == team_id)
                        .group_by(Squad.name)
                    )
                ).all()
            else:
                rows = await _channel_squads(session, team_id, in_period)
        ranked = sorted(
            (SquadStanding(0, name, float(pts), int(active), int(size)) for name, pts, active, size
             in rows),
            key=lambda s: (-s.average, -(s.active / s.size if s.size else 0), s.name),
        )  # fmt: skip
        return [
            SquadStanding(i, s.name, s.points, s.active, s.size)
            for i, s in enumerate(ranked, start=1)
        ]


async def _channel_squads(
    session: AsyncSession, team_id: int, in_period: list[Any]
) -> list[tuple[str, float, int, int]]:
    """Each channel as a squad: its members are the people who ever answered there."""
    everyone = (
        select(Entry.channel_id, func.count(func.distinct(Entry.member_id)).label("size"))
        .group_by(Entry.channel_id)
        .subquery()
    )
    active = (
        select(
            Entry.channel_id,
            func.coalesce(func.sum(Entry.score), 0.0).label("pts"),
            func.count(func.distinct(Entry.member_id)).label("active"),
        )
        .where(*in_period, Entry.score.is_not(None))
        .group_by(Entry.channel_id)
        .subquery()
    )
    rows = (
        await session.execute(
            select(
                Channel.name,
                Channel.external_id,
                func.coalesce(active.c.pts, 0.0),
                func.coalesce(active.c.active, 0),
                everyone.c.size,
            )
            .join(everyone, everyone.c.channel_id == Channel.id)
            .outerjoin(active, active.c.channel_id == Channel.id)
            .where(Channel.team_id == team_id)
        )
    ).all()
    return [(f"#{name or ext}", pts, act, size) for name, ext, pts, act, size in rows]


async def _squad(session: AsyncSession, user: UserRef, name: str, now: datetime) -> Squad | None:
    team = await repo.team_for(session, user.platform, user.team_id, now)
    return (
        await session.execute(
            select(Squad).where(Squad.team_id == team.id, Squad.name == name.lower())
        )
    ).scalar_one_or_none()


async def _put(session: AsyncSession, member_id: int, squad_id: int, now: datetime) -> None:
    """Make `squad_id` the member's one squad."""
    await repo.upsert(
        session,
        SquadMember,
        {"member_id": member_id, "squad_id": squad_id, "joined_at": now},
        conflict=["member_id"],
    )


def _unknown(name: str) -> Card:
    return cards.notice(f"No squad `{scrub(name)[:32]}`", USAGE)


def squads_card(period: Period, standings: list[SquadStanding]) -> Card:
    if not standings:
        body = "No squad has a graded answer in this period yet."
    else:
        body = "\n".join(
            f"{s.rank}. {s.name} — {s.average:g} avg per active member · "
            f"{s.active} of {s.size} active ({s.active / s.size:.0%})"
            if s.size
            else f"{s.rank}. {s.name} — no members yet"
            for s in standings
        )
    return Card(title=f"Squads · {period.label}", body=body, footer=FORMULA)
