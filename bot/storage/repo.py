"""Queries the services share. Each takes the caller's session; the caller owns the transaction."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import TextClause, bindparam, case, delete, or_, select, text
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain import ChannelRef, MessageRef, UserRef
from bot.storage.models import Base, Channel, Member, ProcessedEvent, Round, Team


async def insert_ignoring_conflict(
    session: AsyncSession, model: type[Base], values: dict[str, Any], *, conflict: list[str]
) -> Any | None:
    """INSERT … ON CONFLICT DO NOTHING; the new row's primary key (its first column), or None
    if the row already existed.
    This is how a second process (or a retry) finds the row taken without an error."""
    stmt = _insert_ignoring(
        session.bind.dialect.name,
        model,
        tuple(sorted(values)),
        tuple(conflict),
        tuple(sa_inspect(model).primary_key),
    )
    return (await session.execute(stmt, values)).scalar_one_or_none()


@functools.cache
def _insert_ignoring(
    dialect: str,
    model: type[Base],
    columns: tuple[str, ...],
    conflict: tuple[str, ...],
    returning: tuple[Any, ...],
) -> TextClause:
    """INSERT … ON CONFLICT DO NOTHING for one shape of row, values bound at execution."""
    insert = dialect_insert(dialect)
    stmt = insert(model).values(_bound(model, columns))
    stmt = stmt.on_conflict_do_nothing(index_elements=list(conflict))
    return frozen(dialect, stmt.returning(*returning) if returning else stmt, returning)


def _bound(model: type[Base], columns: tuple[str, ...]) -> dict[str, Any]:
    """VALUES for an INSERT of `columns`, bound at execution, and the defaults of the others
    (text keeps no defaults of its own)."""
    table = sa_inspect(model).local_table
    values: dict[str, Any] = {name: bindparam(name, type_=table.c[name].type) for name in columns}
    for column in table.c:
        default = column.default
        if column.name in values or default is None:
            continue
        if not default.is_scalar:
            raise ValueError(f"{model.__name__}.{column.name}: a computed default; pass a value")
        values[column.name] = bindparam(column.name, default.arg, type_=column.type)
    return values


def dialect_insert(dialect: str) -> Any:
    """The dialect's INSERT construct (for ON CONFLICT): PostgreSQL's, or SQLite's."""
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


_NAMED = {
    "sqlite": sqlite.dialect(paramstyle="named"),
    "postgresql": postgresql.dialect(paramstyle="named"),  # type: ignore[no-untyped-call]
}


def frozen(dialect: str, stmt: Any, returning: tuple[Any, ...] = ()) -> TextClause:
    """`stmt` compiled once for `dialect` and kept as SQL text, its bind parameters typed (the
    unnamed ones keep their values), its RETURNING columns typed. SQLAlchemy caches no
    INSERT … ON CONFLICT of either dialect: on the paths every answer and grade take, it would
    compile each of them again on every execution (half a millisecond, each time). Keep the
    result (e.g. in a `functools.cache`d builder); pass every named parameter when executing."""
    compiled = stmt.compile(dialect=_NAMED[dialect])
    params = [
        bindparam(name, type_=bind.type, required=True)
        if bind.required or bind.value is None
        else bindparam(name, bind.value, type_=bind.type)
        for name, bind in ((compiled.bind_names[b], b) for b in compiled.binds.values())
    ]
    # text() reads ":name" as a parameter unless a colon follows, so PostgreSQL's casts
    # (":uses::JSON") are escaped to stay casts.
    clause = text(str(compiled).replace("::", r"\:\:")).bindparams(*params)
    return clause.columns(*returning) if returning else clause  # type: ignore[return-value]


async def upsert(
    session: AsyncSession, model: type[Base], values: dict[str, Any], *, conflict: list[str]
) -> None:
    """INSERT … ON CONFLICT DO UPDATE: the row keyed by `conflict` ends up holding `values`."""
    stmt = _upsert(session.bind.dialect.name, model, tuple(sorted(values)), tuple(conflict))
    await session.execute(stmt, values)


@functools.cache
def _upsert(
    dialect: str, model: type[Base], columns: tuple[str, ...], conflict: tuple[str, ...]
) -> TextClause:
    insert = dialect_insert(dialect)
    stmt = insert(model).values(_bound(model, columns))
    excluded = stmt.excluded  # built anew on every access
    return frozen(
        dialect,
        stmt.on_conflict_do_update(
            index_elements=list(conflict),
            set_={k: excluded[k] for k in columns if k not in conflict},
        ),
    )


async def insert_many_ignoring_conflict(
    session: AsyncSession,
    model: type[Base],
    rows: list[dict[str, Any]],
    *,
    conflict: list[str],
    returning: tuple[Any, ...] = (),
) -> list[tuple[Any, ...]]:
    """`insert_ignoring_conflict` for many rows in one statement (or a few, for very many):
    the `returning` columns of the rows that were new. Rows go in the order given, so two
    processes that insert overlapping rows sorted the same way wait for each other instead of
    deadlocking."""
    if not rows:
        return []
    dialect = session.bind.dialect.name
    if not returning:  # a plain executemany of one compiled statement
        stmt = _insert_ignoring(dialect, model, tuple(sorted(rows[0])), tuple(conflict), ())
        await session.execute(stmt, rows)
        return []
    # RETURNING for many rows needs SQLAlchemy's own statement (it batches them into one).
    insert = dialect_insert(dialect)
    table = model.metadata.tables[model.__tablename__]
    stmt_many = insert(table).on_conflict_do_nothing(index_elements=conflict)
    result = await session.execute(stmt_many.returning(*returning), rows)
    return [tuple(row) for row in result]


async def team_for(session: AsyncSession, platform: str, team_id: str, now: datetime) -> Team:
    await insert_ignoring_conflict(
        session,
        Team,
        {"platform": platform, "external_id": team_id, "name": "", "created_at": now},
        conflict=["platform", "external_id"],
    )
    return (
        await session.execute(
            select(Team).where(Team.platform == platform, Team.external_id == team_id)
        )
    ).scalar_one()


async def find_channel(session: AsyncSession, ref: ChannelRef) -> Channel | None:
    return (
        await session.execute(
            select(Channel)
            .join(Team)
            .where(
                Team.platform == ref.platform,
                Team.external_id == ref.team_id,
                Channel.external_id == ref.channel_id,
            )
        )
    ).scalar_one_or_none()


async def find_member(session: AsyncSession, user: UserRef) -> Member | None:
    """The member for `user`, if they were ever seen in their team."""
    return (
        await session.execute(
            select(Member)
            .join(Team, Team.id == Member.team_id)
            .where(
                Team.platform == user.platform,
                Team.external_id == user.team_id,
                Member.external_id == user.user_id,
            )
        )
    ).scalar_one_or_none()


async def member_for(session: AsyncSession, user: UserRef, name: str, now: datetime) -> Member:
    """The member for `user`, created on first sight; their display name kept current."""
    team = await team_for(session, user.platform, user.team_id, now)
    await insert_ignoring_conflict(
        session,
        Member,
        {"team_id": team.id, "external_id": user.user_id, "display_name": name, "created_at": now},
        conflict=["team_id", "external_id"],
    )
    member = (
        await session.execute(
            select(Member).where(Member.team_id == team.id, Member.external_id == user.user_id)
        )
    ).scalar_one()
    if name and member.display_name != name:
        member.display_name = name
    return member


async def member_id(
    session: AsyncSession, team_id: int, user_id: str, name: str, now: datetime
) -> int:
    """The member's id in one statement: created on first sight, its display name kept
    current (an empty name keeps the one stored)."""
    values = {"team_id": team_id, "external_id": user_id, "display_name": name, "created_at": now}
    stmt = _member_upsert(session.bind.dialect.name)
    return int((await session.execute(stmt, values)).scalar_one())


@functools.cache
def _member_upsert(dialect: str) -> TextClause:
    columns = ("created_at", "display_name", "external_id", "team_id")
    new = dialect_insert(dialect)(Member).values(_bound(Member, columns))
    stmt = new.on_conflict_do_update(
        index_elements=["team_id", "external_id"],
        set_={
            "display_name": case(
                (new.excluded.display_name != "", new.excluded.display_name),
                else_=Member.display_name,
            )
        },
    )
    return frozen(dialect, stmt.returning(Member.id), (Member.id,))


async def round_for_thread(
    session: AsyncSession, channel: ChannelRef, thread_id: str
) -> Round | None:
    """The round whose question message, or thread, is `thread_id` in `channel` (on Discord a
    thread started from a message shares its id; elsewhere the two may differ)."""
    found = await session.execute(_ROUND_IN_THREAD, _thread_params(channel, thread_id))
    return found.scalar_one_or_none()


def _in_thread(stmt: Any) -> Any:
    """`stmt` (a SELECT from rounds) narrowed to the round of a thread, its values bound at
    execution (`_thread_params`)."""
    return (
        stmt.join(Channel, Channel.id == Round.channel_id)
        .join(Team, Team.id == Channel.team_id)
        .where(
            Team.platform == bindparam("platform"),
            Team.external_id == bindparam("team"),
            Channel.external_id == bindparam("channel"),
            or_(Round.message_id == bindparam("thread"), Round.thread_id == bindparam("thread")),
        )
        .limit(1)
    )


def _thread_params(channel: ChannelRef, thread_id: str) -> dict[str, str]:
    return {
        "platform": channel.platform,
        "team": channel.team_id,
        "channel": channel.channel_id,
        "thread": thread_id,
    }


@dataclass(frozen=True, slots=True)
class ThreadRound:
    """What taking an answer needs of the round whose thread it was written in."""

    id: int
    status: str
    closes_at: datetime
    channel_id: int
    local_date: date


async def thread_round(
    session: AsyncSession, channel: ChannelRef, thread_id: str
) -> ThreadRound | None:
    """`round_for_thread`'s round as columns, through a statement built once: every answer
    runs it before its ack."""
    row = (await session.execute(_THREAD_ROUND, _thread_params(channel, thread_id))).first()
    return None if row is None else ThreadRound(*row)


_ROUND_IN_THREAD = _in_thread(select(Round))
_THREAD_ROUND = _in_thread(
    select(Round.id, Round.status, Round.closes_at, Round.channel_id, Round.local_date)
)


async def open_round(session: AsyncSession, channel_id: int) -> Round | None:
    """The channel's round taking answers now, if any (the newest, should there be two)."""
    return (
        await session.execute(
            select(Round)
            .where(Round.channel_id == channel_id, Round.status == "open")
            .order_by(Round.opens_at.desc())
            .limit(1)
        )
    ).scalar_one_or_none()


async def open_round_threads(session: AsyncSession, platform: str) -> list[MessageRef]:
    """The threads of every posted round on `platform` still taking answers (or past its
    deadline but not closed yet, when the bot was down at close time)."""
    rows = (
        await session.execute(
            select(Round.message_id, Round.thread_id, Channel.external_id, Team.external_id)
            .join(Channel, Channel.id == Round.channel_id)
            .join(Team, Team.id == Channel.team_id)
            .where(Team.platform == platform, Round.status == "open", Round.message_id.is_not(None))
        )
    ).all()
    return [
        MessageRef(ChannelRef(platform, team_id, channel_id), str(message_id), thread_id)
        for message_id, thread_id, channel_id, team_id in rows
    ]


async def first_delivery(session: AsyncSession, platform: str, key: str, now: datetime) -> bool:
    """Mark `key` (a platform event or message id) handled in the caller's transaction; False
    if it was handled before. The work it guards commits with the mark, or neither does."""
    inserted = await insert_ignoring_conflict(
        session,
        ProcessedEvent,
        {"platform": platform, "event_id": key[:128], "processed_at": now},
        conflict=["platform", "event_id"],
    )
    return inserted is not None


async def prune_processed_events(session: AsyncSession, before: datetime) -> int:
    """Forget handled-event marks older than any platform retries; how many went."""
    result = await session.execute(
        delete(ProcessedEvent).where(ProcessedEvent.processed_at < before)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
