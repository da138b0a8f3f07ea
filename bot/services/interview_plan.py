"""What a mock interview asks: its topic and questions, and the follow-ups aimed at what an
answer left out. Pure functions, apart from the one query for what a person saw lately."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.grading.base import PointGrade, Verdict
from bot.questions.bank import Bank
from bot.questions.schema import Aspect, Category, Difficulty, Question
from bot.services.stats import TopicScore
from bot.storage.models import Answer, Interview, InterviewTurn, QuestionVersion, Round

SEEN_WINDOW = timedelta(days=30)
DEFAULT_LENGTH, MAX_LENGTH = 3, 6
MIX_WORDS = frozenset({"mix", "mixed", "any", "all"})
_DIFFICULTY_ORDER = {Difficulty.FOUNDATION: 0, Difficulty.PRACTITIONER: 1, Difficulty.EXPERT: 2}

ASPECT_PROBES = {
    Aspect.SCALE: "Let's talk scale: what load and data volumes are you designing for, and "
    "what changes at ten times that?",
    Aspect.FAILURE_MODES: "What fails first in this design, and what do users see when it does?",
    Aspect.MONITORING: "Once it is live, how do you know it is healthy? What do you watch, and "
    "what pages someone?",
    Aspect.MVP_V2: "If you had six weeks, what goes into the first version, and what waits for v2?",
}


@dataclass(frozen=True, slots=True)
class Plan:
    """The questions of one interview, easiest first, and why this topic."""

    topic: Category | None  # None: a mix of topics
    questions: list[Question]
    reason: str


def parse_request(args: Iterable[str]) -> tuple[Category | None, int, bool] | str:
    """`[topic] [questions]` in any order, as (topic, length, mix); else what is wrong."""
    topic: Category | None = None
    length, mix = DEFAULT_LENGTH, False
    for arg in args:
        if arg.isdigit():
            length = int(arg)
            if not 1 <= length <= MAX_LENGTH:
                return f"{arg[:10]} questions is not an option: choose 1 to {MAX_LENGTH}"
        elif arg in MIX_WORDS:
            mix = True
        else:
            try:
                topic = Category(arg)
            except ValueError:
                return f"Unknown topic `{arg[:30]}`"
    return topic, length, mix


def weakest_first(topics: Iterable[TopicScore]) -> list[TopicScore]:
    return sorted(topics, key=lambda t: (t.average, -t.answers, t.category.value))


def choose(
    bank: Bank,
    *,
    length: int,
    seen: set[str],
    seed: str,
    topic: Category | None = None,
    mix: bool = False,
    profile: Sequence[TopicScore] = (),
) -> Plan | None:
    """The person's chosen topic; else their weakest topic with unseen questions; else (and for
    newcomers, or on request) a mix. None when nothing unseen is left to ask."""
    unseen = [q for q in bank if q.id not in seen]

    def ordered(questions: Iterable[Question]) -> list[Question]:
        return sorted(questions, key=lambda q: hashlib.sha256(f"{seed}:{q.id}".encode()).digest())

    def easiest_first(questions: list[Question]) -> list[Question]:
        return sorted(questions, key=lambda q: _DIFFICULTY_ORDER[q.difficulty])

    if topic is not None:
        picked = ordered(q for q in unseen if q.category is topic)[:length]
        if not picked:
            return None
        return Plan(topic, easiest_first(picked), "the topic you chose")
    if not mix and profile:
        ranked = weakest_first(profile)
        for wanted in (length, 1):
            for scored in ranked:
                picked = ordered(q for q in unseen if q.category is scored.category)[:length]
                if len(picked) >= wanted:
                    reason = f"your weakest topic so far ({scored.average:g}/10)"
                    return Plan(scored.category, easiest_first(picked), reason)
    # A mix: one question per topic while topics last, lighter questions first for newcomers.
    pool = sorted(ordered(unseen), key=lambda q: q.difficulty is Difficulty.EXPERT)
    picked, topics = [], set()
    for q in pool:
        if q.category not in topics and len(picked) < length:
            picked.append(q)
            topics.add(q.category)
    picked += [q for q in pool if q not in picked][: length - len(picked)]
    if not picked:
        return None
    if mix:
        reason = "a mix of topics"
    elif profile:
        reason = "a mix: you have seen every question in your weaker topics lately"
    else:
        reason = "a mix of topics to find your level"
    return Plan(None, easiest_first(picked), reason)


async def seen_recently(session: AsyncSession, member_id: int, now: datetime) -> set[str]:
    """Question ids the member answered in a round or was asked in a mock interview within the
    last 30 days."""
    since = now - SEEN_WINDOW
    answered = select(QuestionVersion.slug).join(Round, Round.question_id == QuestionVersion.id)
    answered = answered.join(Answer, Answer.round_id == Round.id).where(
        Answer.member_id == member_id, Answer.submitted_at >= since
    )
    asked = (
        select(QuestionVersion.slug)
        .join(InterviewTurn, InterviewTurn.question_id == QuestionVersion.id)
        .join(Interview, Interview.id == InterviewTurn.interview_id)
        .where(Interview.member_id == member_id, InterviewTurn.asked_at >= since)
    )
    return set((await session.scalars(answered.union(asked))).all())


def next_probe(
    question: Question, points: Sequence[PointGrade], asked: Sequence[dict[str, Any]]
) -> dict[str, str] | None:
    """A follow-up on a rubric point the answer missed (before one it half covered, heavier
    first, fresh points before ones already probed), from the bank's follow-ups. Design
    questions probe a missed aspect (scale, failure modes, monitoring, MVP vs v2) even where
    the bank has no follow-up for it."""
    asked_probes = {a["probe"] for a in asked}
    asked_points = {a["point"] for a in asked}
    design = question.category is Category.SYSTEM_DESIGN
    order = {p.id: i for i, p in enumerate(question.rubric)}
    gaps = [p for p in points if p.verdict is not Verdict.FULL]
    gaps.sort(
        key=lambda p: (
            p.point_id in asked_points,
            design and question.point(p.point_id).aspect is None,
            p.verdict is Verdict.PARTIAL,
            -p.weight,
            order.get(p.point_id, 0),
        )
    )
    for gap in gaps:
        for follow_up in question.follow_ups:
            if follow_up.point == gap.point_id and follow_up.probe not in asked_probes:
                return {"point": gap.point_id, "probe": follow_up.probe}
        aspect = question.point(gap.point_id).aspect
        if design and aspect is not None and ASPECT_PROBES[aspect] not in asked_probes:
            return {"point": gap.point_id, "probe": ASPECT_PROBES[aspect]}
    return None


def hint_for(
    question: Question, points: Sequence[PointGrade] | None, hinted: set[str]
) -> str | None:
    """A rubric point id to name as a hint: one the answer has not fully covered (or, before
    any answer, the heaviest), and not named before."""
    if points is None:
        candidates = [p.id for p in sorted(question.rubric, key=lambda p: -p.weight)]
    else:
        gaps = sorted(
            (p for p in points if p.verdict is not Verdict.FULL),
            key=lambda p: (p.verdict is Verdict.PARTIAL, -p.weight),
        )
        candidates = [p.point_id for p in gaps]
    return next((c for c in candidates if c not in hinted), None)


def point_name(point_id: str) -> str:
    """A rubric point's name, from its id: it says what to think about, not the answer."""
    return point_id.replace("-", " ")
