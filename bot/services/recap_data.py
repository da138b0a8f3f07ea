"""What a weekly recap shows, gathered from the database: the week's top 10 and squads, answers
per day, the team's average per topic over four weeks, the best answer, the biggest improver
and the weakest topic. People who opted out (`members.hidden`) are "someone" on the boards and
are never quoted or named as the improver."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.questions.schema import Category
from bot.services.leaderboard import LeaderboardService, Standing
from bot.services.squads import SquadService, SquadStanding
from bot.services.stats import TopicScore, entries_with_topic
from bot.storage.models import Answer, Channel, Entry, Member, QuestionVersion

HEAT_WEEKS = 4  # the topic heat-map looks back this many weeks
IMPROVER_WEEKS = 3  # an improver's week is compared with their average over the weeks before
TOP = 10


@dataclass(frozen=True, slots=True)
class BestAnswer:
    user_id: str
    name: str
    score: float
    category: Category
    text: str


@dataclass(frozen=True, slots=True)
class Improver:
    user_id: str
    name: str
    before: float
    after: float


@dataclass(frozen=True, slots=True)
class RecapData:
    """One channel's week, `first` to `last` (local dates, inclusive)."""

    channel_name: str
    first: date
    last: date
    top: list[Standing] = field(default_factory=list)
    squads: list[SquadStanding] = field(default_factory=list)
    per_day: list[tuple[date, int]] = field(default_factory=list)
    heat_weeks: list[date] = field(default_factory=list)
    """The first day of each heat-map column, oldest first."""
    heat: dict[Category, list[float | None]] = field(default_factory=dict)
    """Per topic, the team's average score in each heat-map column (None: no answers)."""
    topics: list[TopicScore] = field(default_factory=list)
    """Per topic, the team's average over the whole heat-map period."""
    best: BestAnswer | None = None
    improver: Improver | None = None

    @property
    def answers(self) -> int:
        return sum(n for _, n in self.per_day)

    @property
    def weakest(self) -> TopicScore | None:
        """The topic with the team's lowest average (the only one, while there is one)."""
        return min(self.topics, key=lambda t: (t.average, -t.answers), default=None)


async def gather(
    sessions: async_sessionmaker[AsyncSession],
    leaderboard: LeaderboardService,
    squads: SquadService,
    channel: Channel,
    first: date,
    last: date,
) -> RecapData:
    """The recap of `channel` over the local dates `first` to `last`."""
    top = await leaderboard.channel_between(channel.id, first, last, limit=TOP)
    standings = await squads.board_between(channel.team_id, first, last)
    heat_start = last - timedelta(weeks=HEAT_WEEKS) + timedelta(days=1)
    async with sessions() as session:
        counts: dict[date, int] = {
            day: n
            for day, n in await session.execute(
                select(Entry.local_date, func.count())
                .where(Entry.channel_id == channel.id, Entry.local_date.between(first, last))
                .group_by(Entry.local_date)
            )
        }
        heat_weeks, heat, topics = await _heat(session, channel.team_id, heat_start, last)
        best = await _best(session, channel.id, first, last)
        improver = await _improver(session, channel.id, first, last)
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    return RecapData(
        channel_name=channel.name or channel.external_id,
        first=first,
        last=last,
        top=top,
        squads=[s for s in standings if s.active],
        per_day=[(d, int(counts.get(d, 0))) for d in days],
        heat_weeks=heat_weeks,
        heat=heat,
        topics=topics,
        best=best,
        improver=improver,
    )


async def _heat(
    session: AsyncSession, team_id: int, start: date, last: date
) -> tuple[list[date], dict[Category, list[float | None]], list[TopicScore]]:
    """The team's graded round answers per topic, averaged per week and over all four."""
    rows = (
        await session.execute(
            entries_with_topic(QuestionVersion.category, Entry.local_date, Entry.score).where(
                Entry.channel_id.in_(select(Channel.id).where(Channel.team_id == team_id)),
                Entry.local_date.between(start, last),
                Entry.score.is_not(None),
            )
        )
    ).all()
    weeks = [start + timedelta(weeks=i) for i in range(HEAT_WEEKS)]
    cells: dict[Category, list[list[float]]] = defaultdict(lambda: [[] for _ in weeks])
    for category, day, score in rows:
        cells[Category(category)][(day - start).days // 7].append(float(score))
    heat = {
        category: [round(sum(c) / len(c), 1) if c else None for c in columns]
        for category, columns in sorted(cells.items())
    }
    topics = []
    for category, columns in sorted(cells.items()):
        scores = [s for column in columns for s in column]
        topics.append(TopicScore(category, round(sum(scores) / len(scores), 1), len(scores)))
    return weeks, heat, topics


async def _best(
    session: AsyncSession, channel_id: int, first: date, last: date
) -> BestAnswer | None:
    """The week's best graded answer by someone who lets their name be shown; ties go to
    whoever answered first."""
    row = (
        await session.execute(
            entries_with_topic(
                Member.external_id,
                Member.display_name,
                Entry.score,
                QuestionVersion.category,
                Answer.text,
            )
            .join(Member, Member.id == Entry.member_id)
            .join(Answer, Answer.id == Entry.answer_id)
            .where(*_named_and_graded(channel_id, first, last))
            .order_by(Entry.score.desc(), Entry.first_answered_at, Entry.id)
            .limit(1)
        )
    ).first()
    if row is None:
        return None
    user_id, name, score, category, text = row
    return BestAnswer(user_id, name or user_id, float(score), Category(category), text)


async def _improver(
    session: AsyncSession, channel_id: int, first: date, last: date
) -> Improver | None:
    """Who raised their average most: this week against the weeks before (named people only,
    and only those with answers in both)."""
    since = first - timedelta(weeks=IMPROVER_WEEKS)
    rows = (
        await session.execute(
            select(Member.external_id, Member.display_name, Entry.local_date, Entry.score)
            .join(Member, Member.id == Entry.member_id)
            .where(*_named_and_graded(channel_id, since, last))
        )
    ).all()
    before: dict[tuple[str, str], list[float]] = defaultdict(list)
    after: dict[tuple[str, str], list[float]] = defaultdict(list)
    for user_id, name, day, score in rows:
        (after if day >= first else before)[(user_id, name or user_id)].append(float(score))
    best: Improver | None = None
    for who in sorted(after.keys() & before.keys()):
        was = round(sum(before[who]) / len(before[who]), 1)
        now = round(sum(after[who]) / len(after[who]), 1)
        if now > was and (best is None or now - was > best.after - best.before):
            best = Improver(who[0], who[1], was, now)
    return best


def _named_and_graded(channel_id: int, first: date, last: date) -> list[Any]:
    """Graded entries of the channel in the dates, by people who let their name be shown."""
    return [
        Entry.channel_id == channel_id,
        Entry.local_date.between(first, last),
        Entry.score.is_not(None),
        Member.hidden.is_(False),
    ]
