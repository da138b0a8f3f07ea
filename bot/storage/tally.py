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

import functools
from datetime import date, timedelta
from typing import Any

from sqlalchemy import (
    Integer,
    Select,
    TextClause,
    bindparam,
    cast,
    column,
    delete,
    func,
    literal_column,
    select,
    update,
)
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


async def recount(
    session: AsyncSession,
    *,
    round_id: int,
    member_id: int,
    within: tuple[int, date] | None = None,
) -> None:
    """Bring the member's entry in the round (if any), and their totals in the round's team
    for its month and all time, up to date with what the caller's transaction wrote.
    `within`: the round's team id and local date, when the caller has them already."""
    await session.flush()
    dialect = session.bind.dialect.name
    # Recounts of one member take turns on the member's row, so the last one sees every
    # other's committed grades and entries (two of their answers graded at once, say). NO KEY
    # UPDATE leaves foreign key checks unblocked (SQLite needs nothing: its transactions
    # already take turns).
    if dialect != "sqlite":
        await session.execute(_LOCK_MEMBER, {"member_id": member_id})
    await session.execute(_ENTRY_SCORE, {"of_round": round_id, "of_member": member_id})
    if within is None:
        within = (await session.execute(_TEAM_AND_DAY, {"round_id": round_id})).one()._tuple()
    team_id, day = within
    month = month_of(day)
    key = {"team_id": team_id, "member_id": member_id}
    month_key = {**key, "month": month}
    keep_month, keep_all_time = _keepers(dialect)
    await _keep(session, keep_month, TeamMonthTotal, month_key, until=next_month(month))
    await _keep(session, keep_all_time, TeamTotal, key)


# Every grade runs a recount, so its statements are built once with their values bound at
# execution, and the two upserts are kept compiled (`repo.frozen`): SQLAlchemy would compile
# them anew every time.
_LOCK_MEMBER = (
    select(Member.id).where(Member.id == bindparam("member_id")).with_for_update(key_share=True)
)
_ENTRY_SCORE = (
    update(Entry)
    .where(Entry.round_id == bindparam("of_round"), Entry.member_id == bindparam("of_member"))
    .values(score=counted_score())
    .execution_options(synchronize_session=False)
)
_TEAM_AND_DAY = (
    select(Channel.team_id, Round.local_date)
    .join(Channel, Channel.id == Round.channel_id)
    .where(Round.id == bindparam("round_id"))
)


@functools.cache
def _keepers(dialect: str) -> tuple[TextClause, TextClause]:
    """The upserts of a member's month totals and all-time totals, compiled for `dialect`."""

    def key_value(model: Any, name: str) -> Any:
        """A key's value in the SELECT list, typed: PostgreSQL cannot tell the type of a bare
        parameter there, and SQLite must not cast (it keeps dates as text)."""
        value = bindparam(name, type_=getattr(model, name).type)
        return (value if dialect == "sqlite" else cast(value, value.type)).label(name)

    day = Entry.local_date.type
    in_month = select(
        *(key_value(TeamMonthTotal, k) for k in ("team_id", "month", "member_id")),
        func.coalesce(func.sum(Entry.score), 0.0),
        func.count(),
        func.min(Entry.first_answered_at),
    ).where(
        Entry.member_id == bindparam("member_id"),
        Entry.channel_id.in_(
            select(Channel.id).where(Channel.team_id == bindparam("team_id")).scalar_subquery()
        ),
        Entry.local_date >= bindparam("month", type_=day),
        Entry.local_date < bindparam("until", type_=day),
    )
    all_time = select(
        *(key_value(TeamTotal, k) for k in ("team_id", "member_id")),
        func.sum(TeamMonthTotal.points),
        func.sum(TeamMonthTotal.rounds),
        func.min(TeamMonthTotal.first_answered_at),
    ).where(
        TeamMonthTotal.team_id == bindparam("team_id"),
        TeamMonthTotal.member_id == bindparam("member_id"),
    )
    return (
        _keeper(dialect, TeamMonthTotal, ["team_id", "month", "member_id"], in_month),
        _keeper(dialect, TeamTotal, ["team_id", "member_id"], all_time),
    )


def _keeper(dialect: str, model: Any, key: list[str], totals: Select[Any]) -> TextClause:
    """INSERT … SELECT … ON CONFLICT DO UPDATE of one totals row; it returns a row when there
    was something to count."""
    columns = [*key, "points", "rounds", "first_answered_at"]
    stmt = repo.dialect_insert(dialect)(model).from_select(columns, totals.having(func.count() > 0))
    stmt = stmt.on_conflict_do_update(
        index_elements=key,
        set_={name: stmt.excluded[name] for name in columns if name not in key},
    )
    stmt = stmt.returning(literal_column("1").label("written"))
    return repo.frozen(dialect, stmt, (column("written", Integer),))


async def _keep(
    session: AsyncSession,
    keeper: TextClause,
    model: type[TeamMonthTotal] | type[TeamTotal],
    key: dict[str, Any],
    **more: Any,
) -> None:
    """Store the totals row keyed by `key` as `keeper` works it out, or remove it when
    nothing is left to count."""
    if (await session.execute(keeper, {**key, **more})).first() is None:
        await session.execute(
            delete(model).where(*(getattr(model, k) == v for k, v in key.items()))
        )
