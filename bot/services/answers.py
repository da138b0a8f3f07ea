"""Answers people post in a round's thread: stored with their grading job, edited, withdrawn."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.background import Background
from bot.clock import Clock
from bot.domain import (
    AnswerDeleted,
    AnswerEdited,
    AnswerPosted,
    Card,
    MessageRef,
    Reaction,
    UserRef,
)
from bot.services import cards
from bot.services.grading import GradingService, enqueue
from bot.services.messenger import Messenger
from bot.storage import repo, tally
from bot.storage.db import DURABLE
from bot.storage.models import Answer, Entry, GradingJob, Round
from bot.text import MAX_ANSWER_CHARS, scrub

log = logging.getLogger(__name__)


class AnswerService:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        messenger: Messenger,
        grading: GradingService,
        background: Background,
        edit_quiet: timedelta = timedelta(0),
    ) -> None:
        self._sessions = sessions
        self._edit_quiet = edit_quiet
        self._clock = clock
        self._messenger = messenger
        self._grading = grading
        self._background = background
        # Ids every answer needs before its ack, remembered: teams are never deleted, and a
        # member only by forget-me, which tells this service (`forget_member`).
        self._teams: dict[tuple[str, str], int] = {}
        self._members: dict[UserRef, tuple[int, str]] = {}

    async def accept_answer(self, event: AnswerPosted) -> Card | None:
        """Store the answer and its grading job in one transaction and return: the caller
        acknowledges the platform only then. Reactions and notices follow in the background."""
        text = scrub(event.text)
        problem = _check_text(text)
        now = self._clock.now()
        refusal: Card | None = None
        async with self._sessions.begin() as session:
            if event.private:  # acknowledged (the modal closes) as soon as this commits
                await session.connection(execution_options={DURABLE: True})
            rnd = await repo.round_for_thread(
                session, event.thread.channel, event.thread.message_id
            )
            if rnd is None:
                return None  # a thread that is not a round: not ours to judge
            if problem:
                refusal = cards.notice("Answer not accepted", problem, refused=True)
            elif rnd.status != "open" or _written_at(event, now) >= rnd.closes_at:
                refusal = _closed_notice()
            else:
                member_id = await self._member_id(session, event.author, event.author_name, now)
                answer_id = await repo.insert_ignoring_conflict(
                    session,
                    Answer,
                    {
                        "round_id": rnd.id,
                        "member_id": member_id,
                        "message_id": event.message.message_id,
                        "text": text,
                        "private": event.private,
                        "status": "counted",
                        "revision": 1,
                        "submitted_at": now,
                    },
                    conflict=["round_id", "message_id"],
                )
                if answer_id is None:
                    return None  # the platform delivered this message twice
                await _count(session, rnd, member_id, answer_id, now)
                await enqueue(session, now, answer_id=answer_id)
        if refusal is not None:
            if event.private:
                return refusal
            self._tell(event.thread, refusal, event)
            self._react(event.message, Reaction.REJECTED)
            return None
        self._grading.wake()
        if event.private:
            return cards.notice("Answer received", "It stays hidden until the reveal.")
        self._react(event.message, Reaction.RECEIVED)
        return None

    async def edit_answer(self, event: AnswerEdited) -> None:
        """An edit before close replaces the answer and its grade; the same edit delivered
        twice changes nothing."""
        text = scrub(event.text)
        problem = _check_text(text)
        now = self._clock.now()
        refusal: Card | None = None
        async with self._sessions.begin() as session:
            rnd = await repo.round_for_thread(
                session, event.thread.channel, event.thread.message_id
            )
            answer = None if rnd is None else await _answer(session, rnd.id, event.message)
            if rnd is None or answer is None or answer.text == text:
                return
            if rnd.status != "open" or now >= rnd.closes_at:
                refusal = _closed_notice("Edits")
            elif problem:
                refusal = cards.notice("Edit not accepted", problem)
            else:
                answer.text = text
                answer.revision += 1
                answer.edited_at = now
                answer.status = "counted"
                await _count(session, rnd, answer.member_id, answer.id, now)
                await self._grade_when_quiet(session, answer.id, now)
        if refusal is not None:
            self._tell(event.thread, refusal, event)
            return
        self._grading.wake()

    async def _grade_when_quiet(self, session: AsyncSession, answer_id: int, now: datetime) -> None:
        """Grade the edited answer once edits stop: a job still waiting for it is put off until
        `edit_quiet` after this edit; otherwise (none, or one already grading the old text,
        which will not be kept) a new job waits that long."""
        due = now + self._edit_quiet
        moved = await session.execute(
            update(GradingJob)
            .where(
                GradingJob.answer_id == answer_id,
                GradingJob.status == "pending",
                GradingJob.regrade.is_(False),
            )
            .values(run_after=due, updated_at=now)
        )
        if not moved.rowcount:  # type: ignore[attr-defined]
            await enqueue(session, now, answer_id=answer_id, delay=self._edit_quiet)

    async def withdraw_answer(self, event: AnswerDeleted) -> None:
        """A deleted answer no longer counts; the member's previous answer counts again."""
        async with self._sessions.begin() as session:
            rnd = await repo.round_for_thread(
                session, event.thread.channel, event.thread.message_id
            )
            if rnd is None or rnd.status != "open":
                return
            answer = await _answer(session, rnd.id, event.message)
            if answer is None or answer.status == "withdrawn":
                return
            answer.status = "withdrawn"
            entry = (
                await session.execute(
                    select(Entry).where(
                        Entry.round_id == rnd.id, Entry.member_id == answer.member_id
                    )
                )
            ).scalar_one_or_none()
            if entry is None or entry.answer_id != answer.id:
                return
            previous = (
                await session.execute(
                    select(Answer)
                    .where(
                        Answer.round_id == rnd.id,
                        Answer.member_id == answer.member_id,
                        Answer.status != "withdrawn",
                        Answer.id != answer.id,
                    )
                    .order_by(Answer.submitted_at.desc(), Answer.id.desc())
                    .limit(1)
                )
            ).scalar_one_or_none()
            if previous is None:
                await session.delete(entry)
            else:
                previous.status = "counted"
                entry.answer_id = previous.id
            await tally.recount(session, round_id=rnd.id, member_id=answer.member_id)

    async def _member_id(
        self, session: AsyncSession, user: UserRef, name: str, now: datetime
    ) -> int:
        """The author's member id: from memory when seen before under the same name (every
        answer needs it before its ack), else created or renamed in the caller's transaction."""
        name = scrub(name)
        seen = self._members.get(user)
        if seen is not None and (not name or seen[1] == name):
            return seen[0]
        team_key = (user.platform, user.team_id)
        if team_key not in self._teams:
            self._teams[team_key] = (await repo.team_for(session, *team_key, now)).id
        member_id = await repo.member_id(session, self._teams[team_key], user.user_id, name, now)
        self._members[user] = (member_id, name)
        return member_id

    def forget_member(self, user: UserRef) -> None:
        """Drop what is remembered of `user` (their data was deleted)."""
        self._members.pop(user, None)

    async def catch_up_all(self, platform: str) -> int:
        """Read back every open round's thread on `platform`; how many answers were new."""
        async with self._sessions() as session:
            threads = await repo.open_round_threads(session, platform)
        taken = 0
        for thread in threads:
            try:
                taken += await self.catch_up(thread, after=None)
            except Exception:
                log.exception("could not read back the thread of a round in %s", thread.channel)
        if taken:
            log.info("took in %s answer(s) sent on %s while OpsDrill was away", taken, platform)
        return taken

    async def catch_up(self, thread: MessageRef, *, after: str | None) -> int:
        """Take in what people wrote in a round's thread while the bot could not hear it
        (down, or disconnected); answers already stored are skipped by their unique key. How
        many were new."""
        taken = 0
        for event in await self._messenger.thread_replies(thread, after=after):
            async with self._sessions() as session:
                rnd = await repo.round_for_thread(
                    session, event.thread.channel, event.thread.message_id
                )
                known = rnd is not None and await _answer(session, rnd.id, event.message)
            if not known:
                await self.accept_answer(event)
                taken += 1
        return taken

    def _tell(self, thread: MessageRef, card: Card, event: AnswerPosted | AnswerEdited) -> None:
        self._background.spawn(
            self._messenger.reply(thread, card, private_to=event.author),
            what=f"a private reply in {thread.channel}",
        )

    def _react(self, message: MessageRef, reaction: Reaction) -> None:
        self._background.spawn(
            self._messenger.react(message, reaction), what=f"a reaction in {message.channel}"
        )


async def _count(
    session: AsyncSession, rnd: Round, member_id: int, answer_id: int, now: datetime
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
                update(Answer).where(Answer.id == entry.answer_id).values(status="superseded")
            )
            entry.answer_id = answer_id
        await tally.recount(session, round_id=rnd.id, member_id=member_id)
    # A first answer in the round has no score yet: it is counted with its first grade.


async def _answer(session: AsyncSession, round_id: int, message: MessageRef) -> Answer | None:
    return (
        await session.execute(
            select(Answer).where(
                Answer.round_id == round_id, Answer.message_id == message.message_id
            )
        )
    ).scalar_one_or_none()


def _check_text(text: str) -> str | None:
    stripped = text.strip()
    if not stripped:
        return "Your answer is empty. Write it in the thread and it will be graded."
    if len(stripped) > MAX_ANSWER_CHARS:
        return (
            f"Your answer is {len(stripped):,} characters; the limit is {MAX_ANSWER_CHARS:,}. "
            "Trim it and send it again."
        )
    return None


def _closed_notice(what: str = "Answers") -> Card:
    return cards.notice(
        "This round is closed",
        f"{what} after the deadline are not counted. The next question comes on schedule.",
        refused=True,
    )


def _written_at(event: AnswerPosted, now: datetime) -> datetime:
    """When the answer was written: the platform's time for it if it is plausible (an answer
    read back after downtime), else now."""
    if event.sent_at is None or not now - timedelta(days=2) <= event.sent_at <= now:
        return now
    return event.sent_at
