"""What people read about rounds: today's question, the open rounds, a thread's question."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.domain import Card, ChannelRef, MessageRef
from bot.questions.schema import Question
from bot.services import cards
from bot.services.rounds import schedule_of
from bot.storage import repo
from bot.storage.models import Channel, QuestionVersion, Round, Team


@dataclass(frozen=True, slots=True)
class OpenRound:
    channel_id: str
    channel_name: str
    question: Question
    closes_at: datetime


class RoundViews:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        joined_platforms: frozenset[str] = frozenset(),
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._joined = joined_platforms

    async def today(self, ref: ChannelRef) -> Card:
        """The channel's current round, or when the next one opens."""
        now = self._clock.now()
        async with self._sessions() as session:
            channel = await repo.find_channel(session, ref)
            if channel is None:
                return cards.notice(
                    "No OpsDrill round here yet",
                    "An admin can post today's question with `/drill post`.",
                )
            row = (
                await session.execute(
                    select(Round, QuestionVersion)
                    .join(QuestionVersion, QuestionVersion.id == Round.question_id)
                    .where(Round.channel_id == channel.id, Round.status.in_(("open", "closed")))
                    .order_by(Round.opens_at.desc())
                    .limit(1)
                )
            ).one_or_none()
            schedule = schedule_of(channel)
            missed_today = await session.scalar(
                select(Round.id).where(
                    Round.channel_id == channel.id,
                    Round.local_date == schedule.local(now).date(),
                    Round.status == "missed",
                )
            )
        if row is not None and row[0].status == "open":
            return cards.question_card(
                Question.model_validate(row[1].content),
                closes_at=row[0].closes_at,
                joined=ref.platform in self._joined,
            )
        upcoming = schedule.next_slot(now)
        when = upcoming.opens_at.astimezone(schedule.zone).strftime("%A %d %B at %H:%M %Z")
        status = "is paused" if not channel.active else f"opens {when}"
        if missed_today is not None:
            return cards.notice(
                "Today's round was missed",
                "OpsDrill was offline for today's whole answer window. "
                f"The next question {status}.",
            )
        return cards.notice("No round is open right now", f"The next question {status}.")

    async def open_rounds(self, platform: str, team_id: str) -> list[OpenRound]:
        """The team's rounds open right now, newest first."""
        async with self._sessions() as session:
            rows = (
                await session.execute(
                    select(Round, Channel, QuestionVersion)
                    .join(Channel, Channel.id == Round.channel_id)
                    .join(Team, Team.id == Channel.team_id)
                    .join(QuestionVersion, QuestionVersion.id == Round.question_id)
                    .where(
                        Team.platform == platform,
                        Team.external_id == team_id,
                        Round.status == "open",
                    )
                    .order_by(Round.opens_at.desc())
                )
            ).all()
        return [
            OpenRound(
                channel_id=channel.external_id,
                channel_name=channel.name,
                question=Question.model_validate(row.content),
                closes_at=rnd.closes_at,
            )
            for rnd, channel, row in rows
        ]

    async def open_thread(self, ref: ChannelRef) -> MessageRef | None:
        """The thread of the channel's open round, if one is open."""
        async with self._sessions() as session:
            channel = await repo.find_channel(session, ref)
            if channel is None:
                return None
            rnd = await repo.open_round(session, channel.id)
        if rnd is None or rnd.message_id is None:
            return None
        return MessageRef(ref, rnd.message_id, rnd.thread_id)

    async def question_for_thread(self, thread: MessageRef) -> Question | None:
        """The question of the round whose thread is `thread`, as it was posted."""
        async with self._sessions() as session:
            rnd = await repo.round_for_thread(session, thread.channel, thread.message_id)
            if rnd is None or rnd.question_id is None:
                return None
            row = await session.get_one(QuestionVersion, rnd.question_id)
        return Question.model_validate(row.content)
