"""Each channel's place in the question rotation, kept in `rotations` beside its rounds.

A row is `Rotation.of` every round of the channel that had a question. It is moved on in the
transaction that inserts a round, guarded by the round it last folded in: when another process
moved it on meanwhile, the row is dropped instead, and the next choice rebuilds it from the
rounds. So a stale row is never written, only ever missing."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.questions.rotation import Rotation
from bot.storage import repo
from bot.storage.models import ChannelRotation, QuestionVersion, Round


@dataclass(frozen=True, slots=True)
class Stored:
    """A channel's rotation as read, and the round it last folded in (its version)."""

    rotation: Rotation
    round_id: int


@dataclass(frozen=True, slots=True)
class Move:
    """A channel's rotation moved on to `rotation`, which folds in `round_id`; `read` is the
    version it was computed from (None: there was no row)."""

    channel_id: int
    read: int | None
    rotation: Rotation
    round_id: int


async def load(session: AsyncSession, channel_ids: Collection[int]) -> dict[int, Stored]:
    rows = await session.execute(
        select(
            ChannelRotation.channel_id,
            ChannelRotation.round_id,
            ChannelRotation.uses,
            ChannelRotation.last_date,
            ChannelRotation.last_category,
        ).where(ChannelRotation.channel_id.in_(channel_ids))
    )
    return {
        channel_id: Stored(Rotation(uses, last_date, last_category), round_id)
        for channel_id, round_id, uses, last_date, last_category in rows
    }


async def rebuild(session: AsyncSession, channel_ids: Collection[int]) -> dict[int, Rotation]:
    """From the channels' rounds: what a missing or outdated row should say."""
    rows = await session.execute(
        select(Round.channel_id, QuestionVersion.slug, QuestionVersion.category, Round.local_date)
        .join(QuestionVersion, QuestionVersion.id == Round.question_id)
        .where(Round.channel_id.in_(channel_ids))
    )
    history: dict[int, list[tuple[str, str, date]]] = {c: [] for c in channel_ids}
    for channel_id, slug, category, day in rows:
        history[channel_id].append((slug, category, day))
    return {c: Rotation.of(h) for c, h in history.items()}


async def save(session: AsyncSession, moves: Iterable[Move]) -> None:
    """Write each move unless another process moved the row on since it was read; a row that
    lost that race is dropped (rebuilt on next use)."""
    moves = list(moves)
    if not moves:
        return
    table = ChannelRotation.metadata.tables[ChannelRotation.__tablename__]
    updates = [m for m in moves if m.read is not None]
    if updates:
        await session.execute(
            update(table)
            .where(
                table.c.channel_id == bindparam("b_channel"),
                table.c.round_id == bindparam("b_read"),
            )
            .values(
                round_id=bindparam("b_round"),
                uses=bindparam("b_uses", type_=table.c.uses.type),
                last_date=bindparam("b_date", type_=table.c.last_date.type),
                last_category=bindparam("b_category"),
            ),
            [_params(m) for m in updates],
        )
    await repo.insert_many_ignoring_conflict(
        session,
        ChannelRotation,
        [
            {
                "channel_id": m.channel_id,
                "round_id": m.round_id,
                "uses": dict(m.rotation.uses),
                "last_date": m.rotation.last_date,
                "last_category": m.rotation.last_category,
            }
            for m in moves
            if m.read is None
        ],
        conflict=["channel_id"],
    )
    written = dict(
        (
            await session.execute(
                select(ChannelRotation.channel_id, ChannelRotation.round_id).where(
                    ChannelRotation.channel_id.in_([m.channel_id for m in moves])
                )
            )
        )
        .tuples()
        .all()
    )
    await forget(session, [m.channel_id for m in moves if written.get(m.channel_id) != m.round_id])


async def forget(session: AsyncSession, channel_ids: Collection[int]) -> None:
    """Drop the channels' rows: their rounds changed in a way a move does not describe."""
    if channel_ids:
        await session.execute(
            delete(ChannelRotation).where(ChannelRotation.channel_id.in_(channel_ids))
        )


def _params(move: Move) -> dict[str, object]:
    return {
        "b_channel": move.channel_id,
        "b_read": move.read,
        "b_round": move.round_id,
        "b_uses": dict(move.rotation.uses),
        "b_date": move.rotation.last_date,
        "b_category": move.rotation.last_category,
    }
