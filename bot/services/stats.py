"""A person's own numbers: points, rounds, streak, strongest and weakest topics. Mock interview
grades count toward the topics, never toward rounds, points or the streak."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain import UserRef
from bot.questions.schema import Category
from bot.storage import repo
from bot.storage.models import (
    Answer,
    Channel,
    Entry,
    Interview,
    InterviewTurn,
    Member,
    QuestionVersion,
    Round,
    Team,
)
from bot.storage.tally import member_totals


@dataclass(frozen=True, slots=True)
class TopicScore:
    category: Category
    average: float
    answers: int


@dataclass(frozen=True, slots=True)
class PersonalStats:
    rounds: int = 0
    points: float = 0.0
    average: float = 0.0
    streak: int = 0
    best_streak: int = 0
    topics: list[TopicScore] = field(default_factory=list)
    mock_answers: int = 0

    @property
    def strongest(self) -> list[TopicScore]:
        """The best topics: up to two, and never more than half of them (rounded up), so the
        rest can be weakest."""
        ranked = sorted(self.topics, key=lambda t: (-t.average, -t.answers))
        return ranked[: min(2, (len(ranked) + 1) // 2)]

    @property
    def weakest(self) -> list[TopicScore]:
        """The weakest topics (up to two), never one of the strongest: with a single topic
        there is nothing to compare yet."""
        strongest = {t.category for t in self.strongest}
        ranked = sorted(self.topics, key=lambda t: (t.average, -t.answers))
        return [t for t in ranked if t.category not in strongest][:2]


class StatsService:
    def __init__(self, *, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def for_user(self, user: UserRef) -> PersonalStats:
        async with self._sessions() as session:
            member_id = await _member_id(session, user)
            if member_id is None:
                return PersonalStats()
            totals = (
                await session.execute(member_totals(Entry.member_id == member_id))
            ).one_or_none()
            rows = (
                await session.execute(
                    select(Entry.channel_id, QuestionVersion.category, Entry.score)
                    .join(Round, Round.id == Entry.round_id)
                    .join(QuestionVersion, QuestionVersion.id == Round.question_id)
                    .where(Entry.member_id == member_id)
                )
            ).all()
            channels = {channel_id for channel_id, _, _ in rows}
            mock_scores = (
                await session.execute(
                    select(QuestionVersion.category, InterviewTurn.score)
                    .select_from(InterviewTurn)
                    .join(Interview, Interview.id == InterviewTurn.interview_id)
                    .join(QuestionVersion, QuestionVersion.id == InterviewTurn.question_id)
                    .where(
                        Interview.member_id == member_id,
                        InterviewTurn.status == "graded",
                        InterviewTurn.score.is_not(None),
                    )
                )
            ).all()
            days = (
                await session.execute(
                    select(Round.local_date, Round.status)
                    .where(Round.channel_id.in_(channels), Round.status.in_(("open", "closed")))
                    .order_by(Round.local_date.desc())
                )
            ).all()
            answered_days = set(
                (
                    await session.scalars(
                        select(Entry.local_date).where(Entry.member_id == member_id)
                    )
                ).all()
            )
        by_topic: dict[str, list[float]] = defaultdict(list)
        for _, category, score in rows:
            if score is not None:
                by_topic[category].append(score)
        for category, score in mock_scores:
            by_topic[category].append(score)
        points = float(totals.points) if totals is not None else 0.0
        graded = int(totals.graded) if totals is not None else 0
        streak, best = _streaks(days, answered_days)
        return PersonalStats(
            rounds=int(totals.rounds) if totals is not None else 0,
            points=round(points, 1),
            average=round(points / graded, 1) if graded else 0.0,
            streak=streak,
            best_streak=best,
            topics=[
                TopicScore(Category(c), round(sum(v) / len(v), 1), len(v))
                for c, v in sorted(by_topic.items())
            ],
            mock_answers=len(mock_scores),
        )

    async def team_topics(self, user: UserRef, since: date) -> list[TopicScore]:
        """The team's average round score per topic since `since`, best first."""
        async with self._sessions() as session:
            rows = (
                await session.execute(
                    entries_with_topic(
                        QuestionVersion.category, func.avg(Entry.score), func.count()
                    )
                    .join(Channel, Channel.id == Entry.channel_id)
                    .join(Team, Team.id == Channel.team_id)
                    .where(
                        Team.platform == user.platform,
                        Team.external_id == user.team_id,
                        Entry.local_date >= since,
                        Entry.score.is_not(None),
                    )
                    .group_by(QuestionVersion.category)
                )
            ).all()
        topics = [TopicScore(Category(c), round(float(avg), 1), int(n)) for c, avg, n in rows]
        return sorted(topics, key=lambda t: (-t.average, -t.answers))

    async def set_hidden(self, user: UserRef, name: str, hidden: bool, now: datetime) -> None:
        """Leave `user` off leaderboards and reveals by name (or name them again)."""
        async with self._sessions.begin() as session:
            member = await repo.member_for(session, user, name, now)
            member.hidden = hidden

    async def forget(self, user: UserRef) -> int:
        """Delete everything kept about `user` in their team; the number of answers removed."""
        async with self._sessions.begin() as session:
            member_id = await _member_id(session, user)
            if member_id is None:
                return 0
            answers = len(
                (
                    await session.scalars(select(Answer.id).where(Answer.member_id == member_id))
                ).all()
            )
            await session.execute(delete(Member).where(Member.id == member_id))
        return answers


def entries_with_topic(*columns: Any) -> Select[Any]:
    """`columns` of round entries joined to their question (for its category)."""
    return (
        select(*columns)
        .select_from(Entry)
        .join(Round, Round.id == Entry.round_id)
        .join(QuestionVersion, QuestionVersion.id == Round.question_id)
    )


def _streaks(days: Sequence[Any], answered: set[date]) -> tuple[int, int]:
    """(current, best) run of days answered, counting only days on which a round ran in one of
    the person's channels: weekends off, pauses and downtime break nothing, and a day counts
    when any of those rounds was answered. A day whose rounds are all still open and
    unanswered breaks nothing yet."""
    closed_on: dict[date, bool] = {}
    for day, status in days:  # newest first
        closed_on[day] = closed_on.get(day, False) or status == "closed"
    current, best, run, counting = 0, 0, 0, True
    for day, closed in closed_on.items():
        if day in answered:
            run += 1
            best = max(best, run)
        elif not closed:
            continue  # today's round is still open: not answering yet breaks nothing
        else:
            if counting:
                current, counting = run, False
            run = 0
    return (run if counting else current), best


async def _member_id(session: AsyncSession, user: UserRef) -> int | None:
    member = await repo.find_member(session, user)
    return None if member is None else member.id
