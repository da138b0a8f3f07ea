"""The rows behind mock interviews: loading the one a person has going, closing it, and the
queries for their history and daily cap. Each takes the caller's session."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain import UserRef
from bot.grading.base import PointGrade
from bot.questions.schema import Question
from bot.services.interview_cards import PastInterview
from bot.services.scorecard import TurnResult, recommend
from bot.storage.models import (
    GradingJob,
    Interview,
    InterviewTurn,
    Member,
    QuestionVersion,
    Team,
)

ACTIVE = "active"
IDLE_AFTER = timedelta(minutes=30)


@dataclass
class Live:
    """An active interview loaded in a session, with each turn's question as it was asked."""

    interview: Interview
    turns: list[tuple[InterviewTurn, Question]]

    @property
    def turn(self) -> InterviewTurn:
        return self.turns[self.interview.position][0]

    @property
    def question(self) -> Question:
        return self.turns[self.interview.position][1]

    @property
    def length(self) -> int:
        return len(self.turns)

    def idle(self, now: datetime) -> bool:
        return now - self.interview.last_active_at >= IDLE_AFTER

    def results(self) -> list[TurnResult]:
        return [
            TurnResult(
                position=turn.position,
                question=question,
                status=turn.status,
                score=turn.score,
                points=tuple(turn.points or ()),
                hints=len(turn.hints),
                follow_ups=len(turn.follow_ups),
            )
            for turn, question in self.turns
        ]

    def close(self, status: str, now: datetime) -> None:
        """End the interview: an answered turn keeps its grade, an unanswered one stays
        unscored; the person may start another."""
        turn = self.turn
        if turn.status == "probing":
            turn.status = "graded"
        elif turn.status == "asked":
            turn.status = "unanswered"
        self.interview.status, self.interview.active_member_id = status, None
        self.interview.ended_at = self.interview.last_active_at = now


def member_ids(user: UserRef) -> Any:
    """A subquery: the person's member ids. A DM may carry another team id than the command
    did (Discord DMs have no server), so a person is their platform and user id."""
    return (
        select(Member.id)
        .join(Team, Team.id == Member.team_id)
        .where(Team.platform == user.platform, Member.external_id == user.user_id)
        .scalar_subquery()
    )


async def live_for(session: AsyncSession, user: UserRef) -> Live | None:
    """The person's active interview, preferring the one in the team the event came from."""
    interview_id = (
        await session.execute(
            select(Interview.id)
            .join(Member, Member.id == Interview.member_id)
            .join(Team, Team.id == Member.team_id)
            .where(Interview.status == ACTIVE, Interview.member_id.in_(member_ids(user)))
            .order_by((Team.external_id == user.team_id).desc(), Interview.started_at.desc())
            .limit(1)
        )
    ).scalar_one_or_none()
    return None if interview_id is None else await load(session, interview_id)


async def load(session: AsyncSession, interview_id: int) -> Live | None:
    """The interview if it is still active, read afresh."""
    interview = await session.get(Interview, interview_id, populate_existing=True)
    if interview is None or interview.status != ACTIVE:
        return None
    rows = (
        await session.execute(
            select(InterviewTurn, QuestionVersion.content)
            .join(QuestionVersion, QuestionVersion.id == InterviewTurn.question_id)
            .where(InterviewTurn.interview_id == interview_id)
            .order_by(InterviewTurn.position)
        )
    ).all()
    return Live(interview, [(turn, Question.model_validate(c)) for turn, c in rows])


async def idle_ids(session: AsyncSession, now: datetime) -> list[int]:
    return list(
        (
            await session.scalars(
                select(Interview.id).where(
                    Interview.status == ACTIVE, Interview.last_active_at <= now - IDLE_AFTER
                )
            )
        ).all()
    )


async def user_of(session: AsyncSession, member_id: int) -> UserRef:
    member, team = (
        await session.execute(
            select(Member, Team).join(Team, Team.id == Member.team_id).where(Member.id == member_id)
        )
    ).one()
    return UserRef(team.platform, team.external_id, member.external_id)


async def started(session: AsyncSession, member_id: int) -> int:
    """How many interviews the member has started, ever."""
    count = await session.scalar(
        select(func.count(Interview.id)).where(Interview.member_id == member_id)
    )
    return count or 0


async def llm_graded_since(session: AsyncSession, member_id: int, since: datetime) -> int:
    """Interviews the member started since `since` with a grader that is not offline."""
    count = await session.scalar(
        select(func.count(Interview.id)).where(
            Interview.member_id == member_id,
            Interview.started_at >= since,
            Interview.grader.not_like("offline:%"),
        )
    )
    return count or 0


async def recent(session: AsyncSession, user: UserRef, limit: int = 10) -> list[PastInterview]:
    """The person's latest interviews, newest first, with their average and verdict."""
    rows = (
        await session.scalars(
            select(Interview)
            .where(Interview.member_id.in_(member_ids(user)))
            .order_by(Interview.started_at.desc(), Interview.id.desc())
            .limit(limit)
        )
    ).all()
    scores: dict[int, list[float]] = {r.id: [] for r in rows}
    turns = await session.execute(
        select(InterviewTurn.interview_id, InterviewTurn.status, InterviewTurn.score).where(
            InterviewTurn.interview_id.in_(scores), InterviewTurn.status.in_(("graded", "skipped"))
        )
    )
    for interview_id, status, score in turns:
        scores[interview_id].append(0.0 if status == "skipped" else score or 0.0)
    past = []
    for r in rows:
        got = scores[r.id]
        average = round(sum(got) / len(got), 1) if got else None
        past.append(
            PastInterview(
                started_at=r.started_at,
                topic=r.topic,
                status=r.status,
                length=r.length,
                answered=len(got),
                average=average,
                verdict=recommend(average).value if average is not None else None,
            )
        )
    return past


def point_grades(points: list[Any] | None) -> list[PointGrade] | None:
    """Stored point grades back as values; None before the first answer."""
    if points is None:
        return None
    return [PointGrade.from_json(p) for p in points]


async def grading_queued(session: AsyncSession, turn_id: int) -> bool:
    """Whether a grading job for the turn waits to run: it will grade every answer given."""
    found = await session.scalar(
        select(GradingJob.id)
        .where(GradingJob.turn_id == turn_id, GradingJob.status == "pending", ~GradingJob.regrade)
        .limit(1)
    )
    return found is not None
