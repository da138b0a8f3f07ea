"""Answers sent in parts (where messages are short, as on Discord): a person's consecutive
messages in a round's thread, joined into one answer. The first message's row holds the joined
text; each further one is a row of its own (status `part`), right after it, so every part is
stored as it arrives and an edit or a deletion of any part can rebuild the text."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.replies import CANDIDATE, COUNTED, PART, PART_SEPARATOR
from bot.storage.models import Answer


async def replies_of(session: AsyncSession, round_id: int, member_id: int) -> list[Answer]:
    """Everything the member wrote in the round, oldest first."""
    found = await session.scalars(_REPLIES, {"of_round": round_id, "of_member": member_id})
    return list(found.all())


_REPLIES = (  # built once: every answer runs it before its ack
    select(Answer)
    .where(Answer.round_id == bindparam("of_round"), Answer.member_id == bindparam("of_member"))
    .order_by(Answer.id)
)


def joins(mine: Sequence[Answer], now: datetime, window: timedelta | None) -> Answer | None:
    """The answer (or new attempt) a message now joins as its next part: the member's latest
    message is that answer or a part of it, sent within `window`."""
    if window is None or not mine or now - mine[-1].submitted_at > window:
        return None
    head = head_of(mine, mine[-1])
    return head if head.status in (COUNTED, CANDIDATE) else None


def head_of(mine: Sequence[Answer], answer: Answer) -> Answer:
    """The answer a part belongs to: the latest of the member's messages before it that is
    not a part (an answer is its own head)."""
    if answer.status != PART:
        return answer
    return next(a for a in reversed(mine) if a.id < answer.id and a.status != PART)


def parts_of(mine: Sequence[Answer], head: Answer) -> list[Answer]:
    """The parts of `head`: the member's messages right after it that are parts."""
    out = []
    for a in mine:
        if a.id <= head.id:
            continue
        if a.status != PART:
            break
        out.append(a)
    return out


def own_text(head: Answer, mine: Sequence[Answer]) -> str:
    """The text of the head's own message (its stored text ends with its parts')."""
    suffix = "".join(PART_SEPARATOR + p.text for p in parts_of(mine, head) if p.text)
    return head.text[: len(head.text) - len(suffix)] if suffix else head.text


def joined(own: str, mine: Sequence[Answer], head: Answer, *, extra: str = "") -> str:
    """The head's text with its parts (and `extra`, a part arriving now) joined on."""
    texts = [p.text for p in parts_of(mine, head)] + [extra]
    return own + "".join(PART_SEPARATOR + t for t in texts if t)
