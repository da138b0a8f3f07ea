"""The counted score of every entry, and every member's totals per team, by month and all time.

Leaderboards and stats read these instead of working out the newest grade of each of a year
of answers. Every write that changes what counts (an answer edited, replaced or withdrawn; a
grade stored) calls `recount` in its own transaction, so the kept numbers commit
with the change or not at all. A recount works them out again from the answers and grades
rather than adding a difference, so one that runs twice, or late, still leaves them right.
A member's first answer in a round is counted when its first grade is stored: until then it
has no score, and the answer's ack stays a few inserts.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import Select, delete, func, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.storage import repo
from bot.storage.models import (
    Answer,
    Channel,
    Entry,
    Grade,
    Member,
    Round,
    TeamMonthTotal,
    TeamTotal,
)


def counted_score() -> Any:
    """The score that counts for an entry (correlated to `entries`): its answer's newest grade,
    if that grade is of the answer's latest text; NULL otherwise."""
    newer = aliased(Grade)
    return (
        select(Grade.score)
        .join(Answer, Answer.id == Grade.answer_id)
        .where(
            Answer.id == Entry.answer_id,
            Grade.answer_revision == Answer.revision,
            ~select(newer.id)
            .where(newer.answer_id == Grade.answer_id, newer.id > Grade.id)
            .exists(),
        )
        .scalar_subquery()
    )


def member_totals(*conditions: Any) -> Select[Any]:
    """Per member, over the entries matching `conditions` (None ones are skipped): `points`,
    the sum of counted scores; `rounds` entered; `graded`, rounds with a counted score; and
    `first`, their earliest answer. Leaderboards and personal stats both read it."""
    return (
        select(
            Entry.member_id,
            func.coalesce(func.sum(Entry.score), 0.0).label("points"),
            func.count().label("rounds"),
            func.count(Entry.score).label("graded"),
            func.min(Entry.first_answered_at).label("first"),
        )
        .where(*(c for c in conditions if c is not None))
        .group_by(Entry.member_id)
    )


def month_of(day: date) -> date:
    """The month `day` falls in, by its first day (how month totals are keyed)."""
    return day.replace(day=1)


def next_month(day: date) -> date:
    """The first day of the month after `day`'s."""
    return (day.replace(day=1) + timedelta(days=32)).replace(day=1)


async def recount(session: AsyncSession, *, round_id: int, member_id: int) -> None:
    """Bring the member's entry in the round (if any), and their totals in the round's team
    for its month and all time, up to date with what the caller's transaction wrote."""
    await session.flush()
    # Recounts of one member take turns on the member's row, so the last one sees every
    # other's committed grades and entries (two of their answers graded at once, say). NO KEY
    # UPDATE leaves foreign key checks unblocked (SQLite needs nothing: its transactions
    # already take turns).
    if session.bind.dialect.name != "sqlite":
        await session.execute(
            select(Member.id).where(Member.id == member_id).with_for_update(key_share=True)
        )
    await session.execute(
        update(Entry)
        .where(Entry.round_id == round_id, Entry.member_id == member_id)
        .values(score=counted_score())
        .execution_options(synchronize_session=False)
    )
    team_id, day = (
        await session.execute(
            select(Channel.team_id, Round.local_date)
            .join(Channel, Channel.id == Round.channel_id)
            .where(Round.id == round_id)
        )
    ).one()
    channels = select(Channel.id).where(Channel.team_id == team_id).scalar_subquery()
    month = month_of(day)
    month_key = {"team_id": team_id, "month": month, "member_id": member_id}
    in_month = select(
        *_literals(month_key),
        func.coalesce(func.sum(Entry.score), 0.0),
        func.count(),
        func.min(Entry.first_answered_at),
    ).where(
        Entry.member_id == member_id,
        Entry.channel_id.in_(channels),
        Entry.local_date >= month,
        Entry.local_date < next_month(month),
    )
    await _keep(session, TeamMonthTotal, month_key, in_month)
    key = {"team_id": team_id, "member_id": member_id}
    all_time = select(
        *_literals(key),
        func.sum(TeamMonthTotal.points),
        func.sum(TeamMonthTotal.rounds),
        func.min(TeamMonthTotal.first_answered_at),
    ).where(TeamMonthTotal.team_id == team_id, TeamMonthTotal.member_id == member_id)
    await _keep(session, TeamTotal, key, all_time)


def _literals(key: dict[str, Any]) -> list[Any]:
    return [literal(value).label(name) for name, value in key.items()]


async def _keep(
    session: AsyncSession,
    model: type[TeamMonthTotal] | type[TeamTotal],
    key: dict[str, Any],
    totals: Select[Any],
) -> None:
    """Store one totals row worked out by `totals` (the key's values, then points, rounds and
    first answer) in one statement, or remove it when nothing is left to count."""
    columns = [*key, "points", "rounds", "first_answered_at"]
    insert = repo.dialect_insert(session.bind.dialect.name)
    stmt = insert(model).from_select(columns, totals.having(func.count() > 0))
    stmt = stmt.on_conflict_do_update(
        index_elements=list(key),
        set_={name: stmt.excluded[name] for name in columns if name not in key},
    )
    written = (await session.execute(stmt.returning(literal(1)))).first()
    if written is None:
        await session.execute(
            delete(model).where(*(getattr(model, k) == v for k, v in key.items()))
        )
