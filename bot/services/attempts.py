"""A new attempt at a round's question replaces the counted answer only when its author says so:
`/drill replace` (or the prompt's button) counts it, `/drill keep` leaves the answer as it is."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.domain import Card, CommandInvoked
from bot.services import cards
from bot.services.replies import CANDIDATE, COUNTED, DECLINED, SUPERSEDED
from bot.storage import repo, tally
from bot.storage.models import Answer, Entry, Member, Round, Team
from bot.storage.repo import ThreadRound

_NONE_WAITING = cards.notice(
    "No new attempt is waiting",
    "To replace your answer, reply in the question's thread starting with “new answer:”. "
    "You are asked before it counts.",
)


class AttemptService:
    def __init__(self, *, sessions: async_sessionmaker[AsyncSession], clock: Clock) -> None:
        self._sessions = sessions
        self._clock = clock

    async def replace(self, event: CommandInvoked) -> Card:
        """Count the person's new attempt instead of their answer (while the round is open)."""
        now = self._clock.now()
        async with self._sessions.begin() as session:
            found = await self._attempt(session, event)
            if isinstance(found, Card):
                return found
            attempt, rnd = found
            if rnd.status != "open" or now >= rnd.closes_at:
                return cards.notice(
                    "This round is closed", "Your answer stays as it was at the deadline."
                )
            taken = await session.execute(
                update(Answer)
                .where(Answer.id == attempt.id, Answer.status == CANDIDATE)
                .values(status=COUNTED)
            )
            if not taken.rowcount:  # type: ignore[attr-defined]
                return _NONE_WAITING  # chosen meanwhile, by a second click
            await count_answer(session, rnd, attempt.member_id, attempt.id, now)
            await tally.recount(session, round_id=rnd.id, member_id=attempt.member_id)
            score = await session.scalar(
                select(Entry.score).where(
                    Entry.round_id == rnd.id, Entry.member_id == attempt.member_id
                )
            )
        if score is None:
            return cards.notice(
                "Your new attempt counts now",
                "It is being graded; its feedback comes here. Your earlier answer no longer "
                "counts.",
            )
        return cards.notice(
            "Your new attempt counts now",
            f"Your score for this round is now {score:g}/10. Your earlier answer no longer counts.",
        )

    async def keep(self, event: CommandInvoked) -> Card:
        """Leave the counted answer as it is; the new attempt stays stored, never counted."""
        async with self._sessions.begin() as session:
            found = await self._attempt(session, event)
            if isinstance(found, Card):
                return found
            attempt, rnd = found
            kept = await session.execute(
                update(Answer)
                .where(Answer.id == attempt.id, Answer.status == CANDIDATE)
                .values(status=DECLINED)
            )
            if not kept.rowcount:  # type: ignore[attr-defined]
                return _NONE_WAITING
            score = await session.scalar(
                select(Entry.score).where(
                    Entry.round_id == rnd.id, Entry.member_id == attempt.member_id
                )
            )
        counts = f"Your {score:g}/10 answer" if score is not None else "Your answer"
        return cards.notice("Kept your answer", f"{counts} still counts; the new attempt does not.")

    async def _attempt(
        self, session: AsyncSession, event: CommandInvoked
    ) -> tuple[Answer, Round] | Card:
        """The person's waiting attempt: the one a button names (its id), else their latest
        in this channel's open rounds."""
        query = (
            select(Answer, Round)
            .join(Round, Round.id == Answer.round_id)
            .join(Member, Member.id == Answer.member_id)
            .join(Team, Team.id == Member.team_id)
            .where(
                Answer.status == CANDIDATE,
                Member.external_id == event.user.user_id,
                Team.platform == event.user.platform,
            )
        )
        if event.args and event.args[0].isdigit():
            # A button names the attempt, and may be clicked where the team is not known (a
            # Discord DM): the person is known by their platform id, which is theirs alone.
            query = query.where(Answer.id == int(event.args[0]))
        else:
            channel = await repo.find_channel(session, event.channel)
            if channel is None:
                return _NONE_WAITING
            query = query.where(
                Round.channel_id == channel.id,
                Round.status == "open",
                Member.team_id == channel.team_id,
            )
        row = (await session.execute(query.order_by(Answer.id.desc()).limit(1))).one_or_none()
        if row is None:
            return _NONE_WAITING
        return row[0], row[1]


async def count_answer(
    session: AsyncSession, rnd: Round | ThreadRound, member_id: int, answer_id: int, now: datetime
) -> None:
    """Make `answer_id` the member's one counted answer in the round (a new one, or one whose
    text just changed: its grade no longer counts)."""
    inserted = await repo.insert_ignoring_conflict(
        session,
        Entry,
        {
            "round_id": rnd.id,
            "member_id": member_id,
            "answer_id": answer_id,
            "first_answered_at": now,
            "channel_id": rnd.channel_id,
            "local_date": rnd.local_date,
        },
        conflict=["round_id", "member_id"],
    )
    if inserted is None:
        entry = (
            await session.execute(
                select(Entry).where(Entry.round_id == rnd.id, Entry.member_id == member_id)
            )
        ).scalar_one()
        if entry.answer_id != answer_id:
            await session.execute(
                update(Answer).where(Answer.id == entry.answer_id).values(status=SUPERSEDED)
            )
            entry.answer_id = answer_id
        await tally.recount(session, round_id=rnd.id, member_id=member_id)
    # A first answer in the round has no score yet: it is counted with its first grade.
