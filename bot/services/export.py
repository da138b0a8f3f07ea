"""Your data, handed over: everything stored about a person (`/drill export`, a JSON file by
DM), a channel's rounds and scores for its admins (`/drill export channel`, CSV), and a whole
team for operators (`opsdrill export --team ID --out FILE`)."""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain import ChannelRef, UserRef
from bot.storage import repo
from bot.storage.models import (
    Answer,
    Channel,
    Contest,
    Entry,
    Grade,
    Interview,
    InterviewTurn,
    Member,
    QuestionVersion,
    Round,
    Squad,
    SquadMember,
    Team,
)

FORMAT = "opsdrill-export/1"
COLUMNS = ["date", "question", "round_status", "user", "name", "score", "answered_at"]


class ExportService:
    def __init__(self, *, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def person(self, user: UserRef) -> dict[str, Any]:
        """Everything kept about `user` in their team (an empty record if nothing is)."""
        async with self._sessions() as session:
            member = await repo.find_member(session, user)
            person = {"platform": user.platform, "team": user.team_id, "user": user.user_id}
            if member is None:
                return {"format": FORMAT, **person, "stored": False}
            return {"format": FORMAT, **person, **await _member_record(session, member)}

    async def team(self, platform: str, team_id: str) -> dict[str, Any] | None:
        """Every member's record in a team; None if the team is unknown."""
        async with self._sessions() as session:
            team = (
                await session.execute(
                    select(Team).where(Team.platform == platform, Team.external_id == team_id)
                )
            ).scalar_one_or_none()
            if team is None:
                return None
            members = (
                await session.scalars(
                    select(Member).where(Member.team_id == team.id).order_by(Member.id)
                )
            ).all()
            return {
                "format": FORMAT,
                "platform": platform,
                "team": team_id,
                "name": team.name,
                "members": [
                    {"user": m.external_id, **await _member_record(session, m)} for m in members
                ],
            }

    async def channel_csv(self, ref: ChannelRef) -> str | None:
        """The channel's rounds and every counted score, one row per answer; None if unknown."""
        async with self._sessions() as session:
            channel = await repo.find_channel(session, ref)
            if channel is None:
                return None
            rows = (
                await session.execute(
                    select(Round.local_date, QuestionVersion.slug, Round.status, Member, Entry)
                    .join(Entry, Entry.round_id == Round.id)
                    .join(Member, Member.id == Entry.member_id)
                    .outerjoin(QuestionVersion, QuestionVersion.id == Round.question_id)
                    .where(Round.channel_id == channel.id)
                    .order_by(Round.local_date, Entry.first_answered_at, Entry.member_id)
                )
            ).all()
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(
            ["date", "question", "round_status", "user", "name", "score", "answered_at"]
        )
        for day, slug, status, member, entry in rows:
            writer.writerow([
                day.isoformat(), slug or "", status, member.external_id,
                "someone" if member.hidden else _cell(member.display_name),
                "" if entry.score is None else f"{entry.score:g}",
                entry.first_answered_at.isoformat(),
            ])  # fmt: skip
        return out.getvalue()


def to_json(record: dict[str, Any]) -> bytes:
    return json.dumps(record, indent=2, ensure_ascii=False, default=_plain).encode()


def _plain(value: object) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not exported")


def _cell(text: str) -> str:
    """A CSV cell a spreadsheet will not run as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


async def _member_record(session: AsyncSession, member: Member) -> dict[str, Any]:
    """The member's answers (with every grade and any contest), interviews (with their
    turns) and squad: a fixed handful of queries, however much there is."""
    mine = select(Answer.id).where(Answer.member_id == member.id)
    grades: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for g in await session.scalars(
        select(Grade).where(Grade.answer_id.in_(mine)).order_by(Grade.id)
    ):
        grades[g.answer_id].append(_grade(g))
    contests = {
        c.answer_id: {"reason": c.reason, "status": c.status, "created_at": c.created_at}
        for c in await session.scalars(select(Contest).where(Contest.answer_id.in_(mine)))
    }
    answers = [
        {
            "round": day, "channel": channel, "question": slug, "text": answer.text,
            "private": answer.private, "status": answer.status, "revision": answer.revision,
            "submitted_at": answer.submitted_at, "edited_at": answer.edited_at,
            "grades": grades[answer.id], "contest": contests.get(answer.id),
        }
        for answer, day, channel, slug in await session.execute(
            select(Answer, Round.local_date, Channel.external_id, QuestionVersion.slug)
            .join(Round, Round.id == Answer.round_id)
            .join(Channel, Channel.id == Round.channel_id)
            .outerjoin(QuestionVersion, QuestionVersion.id == Round.question_id)
            .where(Answer.member_id == member.id)
            .order_by(Answer.submitted_at)
        )
    ]  # fmt: skip
    turns: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for t, slug in await session.execute(
        select(InterviewTurn, QuestionVersion.slug)
        .join(Interview, Interview.id == InterviewTurn.interview_id)
        .join(QuestionVersion, QuestionVersion.id == InterviewTurn.question_id)
        .where(Interview.member_id == member.id)
        .order_by(InterviewTurn.position)
    ):
        turns[t.interview_id].append({
            "question": slug, "status": t.status, "answers": t.answers,
            "follow_ups": t.follow_ups, "hints": t.hints, "score": t.score, "points": t.points,
            "grader": t.grader, "asked_at": t.asked_at, "graded_at": t.graded_at,
        })  # fmt: skip
    interviews = [
        {"status": i.status, "topic": i.topic, "grader": i.grader, "turns": turns[i.id]}
        for i in await session.scalars(
            select(Interview).where(Interview.member_id == member.id).order_by(Interview.id)
        )
    ]
    squad = await session.scalar(
        select(Squad.name)
        .join(SquadMember, SquadMember.squad_id == Squad.id)
        .where(SquadMember.member_id == member.id)
    )
    return {
        "stored": True,
        "name": member.display_name,
        "first_seen": member.created_at,
        "hidden_on_leaderboards": member.hidden,
        "squad": squad,
        "answers": answers,
        "interviews": interviews,
    }


def _grade(g: Grade) -> dict[str, Any]:
    return {
        "grader": g.grader, "score": g.score, "max_score": g.max_score,
        "answer_revision": g.answer_revision, "provisional": g.provisional,
        "points": g.points, "feedback": g.feedback, "flags": g.flags,
        "reason": g.reason, "previous_score": g.previous_score, "created_at": g.created_at,
    }  # fmt: skip
