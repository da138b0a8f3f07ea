"""People correct grades. An admin regrades one answer (`/drill grade`): a new grade row with
grader `human:<admin id>`, the reason and the score it replaced, counted from then on like any
newest grade, and the person is told. `/drill audit` shows who or what graded an answer, when,
old → new and why; members ask for a second look with `/drill contest`, which queues the
request for the admins (listed in `/drill audit`) until one of them regrades that answer."""

from __future__ import annotations

import logging
import re
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.background import Background
from bot.clock import Clock
from bot.domain import Card, CommandInvoked, UserRef
from bot.grading.base import HUMAN, is_human
from bot.services import cards
from bot.services.messenger import Messenger
from bot.storage import repo, tally
from bot.storage.models import (
    Answer,
    Channel,
    Contest,
    Entry,
    Grade,
    Member,
    QuestionVersion,
    Round,
)
from bot.user_text import mentioned_user, scrub

log = logging.getLogger(__name__)

MAX_REASON = 500
AUDIT_ANSWERS = 5
AUDIT_CONTESTS = 10

GRADE_USAGE = (
    "Use `/drill grade @person <score 0-10> <reason>` (their latest answer in this channel) or "
    "`/drill grade <link to the answer> <score> <reason>`."
)
CONTEST_USAGE = "Use `/drill contest <why the grade is wrong>`: it goes to this channel's admins."

_SLACK_LINK = re.compile(r"/p(\d{10})(\d{6})(?:\D|$)")
_TRAILING_ID = re.compile(r"/(\d{5,25})/?(?:[?#].*)?$")
_SCORE = re.compile(r"^(\d{1,2}(?:[.,]\d)?)(?:/10)?$")


class ReviewService:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        messenger: Messenger,
        background: Background,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._messenger = messenger
        self._background = background

    async def grade(self, event: CommandInvoked) -> Card:
        """`/drill grade <@person|answer link> <score> <reason>` (admins)."""
        if len(event.args) < 3:
            return cards.notice("Regrade an answer", GRADE_USAGE)
        target, given, *words = event.args
        score = _score(given)
        if score is None:
            return cards.notice(f"`{given[:12]}` is not a score from 0 to 10", GRADE_USAGE)
        reason = scrub(" ".join(words))[:MAX_REASON]
        now = self._clock.now()
        async with self._sessions.begin() as session:
            found = await _answer_for(
                session, await repo.find_channel(session, event.channel), target
            )
            if isinstance(found, Card):
                return found
            answer, member = found
            previous = await _counted_grade(session, answer)
            version = previous.question_version if previous is not None else await _version(
                session, answer.round_id
            )  # fmt: skip
            session.add(
                Grade(
                    answer_id=answer.id,
                    answer_revision=answer.revision,
                    grader=f"{HUMAN}{event.user.user_id}"[:64],
                    question_version=version,
                    score=score,
                    max_score=10.0,
                    points=[],
                    feedback=reason,
                    provisional=False,
                    flags=[],
                    usage=None,
                    created_at=now,
                    reason=reason,
                    previous_score=None if previous is None else previous.score,
                )
            )
            await tally.recount(session, round_id=answer.round_id, member_id=answer.member_id)
            await session.execute(
                update(Contest)
                .where(Contest.answer_id == answer.id, Contest.status == "open")
                .values(status="resolved", resolved_at=now, resolved_by=event.user.user_id)
            )
            day = await _round_day(session, answer.round_id)
        before = "ungraded" if previous is None else f"{previous.score:g}/10"
        person = UserRef(event.user.platform, event.user.team_id, member.external_id)
        told = cards.notice(
            "An admin regraded your answer",
            f"Your answer in the round of {day} now scores {score:g}/10 (it was {before}).\n"
            f"Why: {reason}",
        )
        self._background.spawn(
            self._messenger.send_dm(person, told), what="a regrade notice to its author"
        )
        return cards.notice(
            "Grade changed",
            f"<@{member.external_id}>'s answer in the round of {day}: {before} → {score:g}/10. "
            "They have been told, and the leaderboard follows.",
        )

    async def contest(self, event: CommandInvoked) -> Card:
        """`/drill contest <reason>`: ask the admins to look at your latest answer here."""
        reason = scrub(" ".join(event.args))[:MAX_REASON].strip()
        if not reason:
            return cards.notice("Contest a grade", CONTEST_USAGE)
        now = self._clock.now()
        async with self._sessions.begin() as session:
            channel = await repo.find_channel(session, event.channel)
            member = await repo.find_member(session, event.user)
            answer = None
            if channel is not None and member is not None:
                answer = await _latest_answer(session, channel.id, member.id)
            if answer is None:
                return cards.notice(
                    "Nothing to contest here",
                    "You have no graded answer in this channel yet.",
                )
            inserted = await repo.insert_ignoring_conflict(
                session,
                Contest,
                {"answer_id": answer.id, "reason": reason, "status": "open", "created_at": now},
                conflict=["answer_id"],
            )
            if inserted is None:  # asked before: reopen it (or update the open one's reason)
                await session.execute(
                    update(Contest)
                    .where(Contest.answer_id == answer.id)
                    .values(status="open", reason=reason, created_at=now, resolved_at=None,
                            resolved_by=None)
                )  # fmt: skip
            day = await _round_day(session, answer.round_id)
        return cards.notice(
            "Sent to the admins",
            f"An admin will look at your answer in the round of {day}. If they change the "
            "grade, you'll get a message with the new score and why.",
        )

    async def audit(self, event: CommandInvoked) -> Card:
        """`/drill audit [@person|answer link]` (admins): grade history, or open contests."""
        async with self._sessions() as session:
            channel = await repo.find_channel(session, event.channel)
            if not event.args:
                if channel is None:
                    return cards.notice("Open contests", "None: no rounds here yet.")
                return cards.notice("Open contests", await _contests(session, channel.id))
            found = await _answer_for(session, channel, event.args[0])
            if isinstance(found, Card):
                return found
            answer, member = found
            answers = [answer]
            if channel is not None and not _is_link(event.args[0]):
                answers = await _recent_answers(session, channel.id, member.id)
            blocks = [await _history(session, a) for a in answers]
            return cards.notice(
                f"Grade history · {member.display_name or member.external_id}",
                "\n\n".join(blocks),
            )


def _score(text: str) -> float | None:
    match = _SCORE.match(text.strip())
    if match is None:
        return None
    value = float(match.group(1).replace(",", "."))
    return value if 0 <= value <= 10 else None


def _is_link(target: str) -> bool:
    return "/" in target


def _message_id(link: str) -> str | None:
    """The message a Slack permalink (…/p1700000000123456) or a Discord message link
    (…/channels/guild/channel/message) points at."""
    link = link.strip("<>").split("|", 1)[0]
    slack = _SLACK_LINK.search(link)
    if slack is not None:
        return f"{slack.group(1)}.{slack.group(2)}"
    trailing = _TRAILING_ID.search(link)
    return trailing.group(1) if trailing is not None else None


async def _answer_for(
    session: AsyncSession, channel: Channel | None, target: str
) -> tuple[Answer, Member] | Card:
    """The answer `target` names in this channel: a link to it, or a person's latest."""
    if channel is None:
        return cards.notice("No rounds here yet", "This channel has no answers to look at.")
    if _is_link(target):
        message_id = _message_id(target)
        answer = None
        if message_id is not None:
            answer = (
                await session.execute(
                    select(Answer)
                    .join(Round, Round.id == Answer.round_id)
                    .where(Round.channel_id == channel.id, Answer.message_id == message_id)
                    .order_by(Answer.id.desc())
                    .limit(1)
                )
            ).scalar_one_or_none()
        if answer is None:
            return cards.notice(
                "No answer at that link", "Use a link to an answer in this channel's rounds."
            )
        member = await session.get(Member, answer.member_id)
        assert member is not None
        return answer, member
    member = await _member(session, target, channel)
    if member is None:
        return cards.notice(f"I don't know `{target[:40]}` here", GRADE_USAGE)
    answer = await _latest_answer(session, channel.id, member.id)
    if answer is None:
        return cards.notice(
            "No answer to grade", f"<@{member.external_id}> has no answer in this channel yet."
        )
    return answer, member


async def _member(session: AsyncSession, who: str, channel: Channel | None) -> Member | None:
    """A member of the channel's team by mention (`<@U1>`, `<@!1>`), id or display name."""
    if channel is None:
        return None
    mentioned = mentioned_user(who)
    key = mentioned or who.strip().lstrip("@")
    by_name = mentioned is None
    in_team = select(Member).where(Member.team_id == channel.team_id)
    found = (await session.execute(in_team.where(Member.external_id == key))).scalar_one_or_none()
    if found is None and by_name and key:
        found = (await session.execute(in_team.where(Member.display_name == key))).scalars().first()
    return found


async def _latest_answer(session: AsyncSession, channel_id: int, member_id: int) -> Answer | None:
    """The member's counted answer in the latest round of the channel they answered."""
    answers = await _recent_answers(session, channel_id, member_id, limit=1)
    return answers[0] if answers else None


async def _recent_answers(
    session: AsyncSession, channel_id: int, member_id: int, *, limit: int = AUDIT_ANSWERS
) -> list[Answer]:
    return list(
        (
            await session.scalars(
                select(Answer)
                .join(Entry, Entry.answer_id == Answer.id)
                .where(Entry.channel_id == channel_id, Entry.member_id == member_id)
                .order_by(Entry.local_date.desc(), Entry.round_id.desc())
                .limit(limit)
            )
        ).all()
    )


async def _counted_grade(session: AsyncSession, answer: Answer) -> Grade | None:
    """The grade that counts for the answer now: its newest, of its latest text."""
    return (
        await session.execute(
            select(Grade)
            .where(Grade.answer_id == answer.id, Grade.answer_revision == answer.revision)
            .order_by(Grade.id.desc())
            .limit(1)
        )
    ).scalar_one_or_none()


async def _version(session: AsyncSession, round_id: int) -> str:
    version = (
        await session.execute(
            select(QuestionVersion.version)
            .join(Round, Round.question_id == QuestionVersion.id)
            .where(Round.id == round_id)
        )
    ).scalar_one_or_none()
    return version or ""


async def _round_day(session: AsyncSession, round_id: int) -> str:
    day = (await session.execute(select(Round.local_date).where(Round.id == round_id))).scalar_one()
    return day.isoformat()


async def _history(session: AsyncSession, answer: Answer) -> str:
    """One answer's grades, oldest first: who or what, when, old → new, why."""
    day = await _round_day(session, answer.round_id)
    grades = (
        await session.scalars(select(Grade).where(Grade.answer_id == answer.id).order_by(Grade.id))
    ).all()
    lines = [f"Round of {day} (answer revision {answer.revision}):"]
    if not grades:
        lines.append("  not graded yet")
    for g in grades:
        who = f"<@{g.grader[len(HUMAN) :]}>" if is_human(g.grader) else g.grader
        change = (
            f"{g.previous_score:g} → {g.score:g}/10"
            if g.previous_score is not None
            else f"{g.score:g}/10"
        )
        line = f"  {_when(g.created_at)} · {who} · {change}"
        if g.answer_revision != answer.revision:
            line += " (an earlier text)"
        if g.provisional:
            line += " (provisional)"
        if g.reason:
            line += f" · why: {g.reason}"
        lines.append(line)
    contest = (
        await session.execute(select(Contest).where(Contest.answer_id == answer.id))
    ).scalar_one_or_none()
    if contest is not None:
        lines.append(
            f"  contested {_when(contest.created_at)} ({contest.status}): {contest.reason}"
        )
    return "\n".join(lines)


async def _contests(session: AsyncSession, channel_id: int) -> str:
    rows = (
        await session.execute(
            select(Contest, Answer, Member, Round.local_date)
            .join(Answer, Answer.id == Contest.answer_id)
            .join(Member, Member.id == Answer.member_id)
            .join(Round, Round.id == Answer.round_id)
            .where(Round.channel_id == channel_id, Contest.status == "open")
            .order_by(Contest.created_at)
            .limit(AUDIT_CONTESTS)
        )
    ).all()
    if not rows:
        return "None open. `/drill audit @person` shows a person's grade history."
    lines = []
    for contest, answer, member, day in rows:
        grade = await _counted_grade(session, answer)
        score = "ungraded" if grade is None else f"{grade.score:g}/10"
        lines.append(
            f"• <@{member.external_id}>, round of {day.isoformat()}, {score}: {contest.reason}"
        )
    lines.append("Settle one with `/drill grade @person <score> <reason>`.")
    return "\n".join(lines)


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")
