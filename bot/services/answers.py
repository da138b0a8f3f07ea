"""Answers people post in a round's thread: stored with their grading job, edited, withdrawn."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
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
from bot.services import cards, replies
from bot.services.attempts import count_answer
from bot.services.grading import GradingService, enqueue
from bot.services.messenger import Messenger
from bot.services.parts import head_of, joined, joins, own_text, replies_of
from bot.services.replies import (
    CANDIDATE,
    COUNTED,
    DECLINED,
    DISCUSSION,
    PART,
    SUPERSEDED,
    WITHDRAWN,
)
from bot.storage import repo, tally
from bot.storage.db import DURABLE
from bot.storage.models import Answer, Entry, GradingJob, Member
from bot.storage.repo import ThreadRound
from bot.user_text import MAX_ANSWER_CHARS, scrub

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _Taken:
    """What became of a reply: stored as `kind` (None: not stored), or refused; and any hint
    owed to its author."""

    kind: str | None = None
    refusal: Card | None = None
    hint: Card | None = None


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
        join_windows: Mapping[str, timedelta] | None = None,
    ) -> None:
        self._sessions = sessions
        self._edit_quiet = edit_quiet
        # Per platform: how soon after the previous part a person's next message in the thread
        # is joined into the same answer (where messages are short: Discord).
        self._join_windows = dict(join_windows or {})
        self._clock = clock
        self._messenger = messenger
        self._grading = grading
        self._background = background
        # Ids every answer needs before its ack, remembered: teams are never deleted, and a
        # member only by forget-me, which tells this service (`forget_member`).
        self._teams: dict[tuple[str, str], int] = {}
        self._members: dict[UserRef, tuple[int, str]] = {}

    async def accept_answer(self, event: AnswerPosted) -> Card | None:
        """Store the reply, by the rule of bot.services.replies (an answer, a new attempt, a
        part of an answer, or discussion), with any grading job, in one transaction, and
        return: the caller acknowledges the platform only then. Reactions and notices follow
        in the background."""
        text = scrub(event.text)
        now = self._clock.now()
        async with self._sessions.begin() as session:
            if event.private:  # acknowledged (the modal closes) as soon as this commits
                await session.connection(execution_options={DURABLE: True})
            rnd = await repo.thread_round(session, event.thread.channel, event.thread.message_id)
            if rnd is None:
                return None  # a thread that is not a round: not ours to judge
            if rnd.status != "open" or _written_at(event, now) >= rnd.closes_at:
                taken = await _after_close(session, rnd, event, text)
            else:
                taken = await self._store_reply(session, rnd, event, text, now)
        return self._follow_up(event, taken)

    async def _store_reply(
        self, session: AsyncSession, rnd: ThreadRound, event: AnswerPosted, text: str, now: datetime
    ) -> _Taken:
        member_id = await self._member_id(session, event.author, event.author_name, now)
        mine = await replies_of(session, rnd.id, member_id)
        counted = next((a for a in mine if a.status == COUNTED), None)
        window = self._join_windows.get(event.thread.channel.platform)
        attempt = None if event.private else replies.new_attempt(text)
        # Parts join only as they arrive: messages read back after downtime stand alone.
        live = window is not None and now - _written_at(event, now) <= window
        head = joins(mine, now, window) if live and attempt is None and not event.private else None
        body = text if attempt is None else attempt
        if head is not None and text.strip() and not replies.is_short(text):
            kind = PART  # ("+1" right after one's own answer is still talk)
            own = own_text(head, mine)
            problem = _check_text(joined(own, mine, head, extra=text))
        elif event.private or attempt is not None:
            kind = COUNTED if counted is None else CANDIDATE
            problem = _check_text(body)
        elif counted is not None or (text.strip() and replies.is_short(text)):
            kind, problem = DISCUSSION, None
        else:
            kind, problem = COUNTED, _check_text(body)
        if problem:
            return _Taken(refusal=cards.notice("Answer not accepted", problem, refused=True))
        answer_id = await repo.insert_ignoring_conflict(
            session,
            Answer,
            {
                "round_id": rnd.id,
                "member_id": member_id,
                "message_id": event.message.message_id,
                "text": body,
                "private": event.private,
                "status": kind,
                "revision": 1,
                "submitted_at": now,
            },
            conflict=["round_id", "message_id"],
        )
        if answer_id is None:
            return _Taken()  # the platform delivered this message twice
        delay = timedelta(0) if event.private or window is None else window
        if kind == COUNTED:
            await count_answer(session, rnd, member_id, answer_id, now)
            await enqueue(session, now, answer_id=answer_id, delay=delay)
        elif kind == CANDIDATE:
            await session.execute(
                update(Answer)
                .where(
                    Answer.round_id == rnd.id,
                    Answer.member_id == member_id,
                    Answer.status == CANDIDATE,
                    Answer.id != answer_id,
                )
                .values(status=DECLINED)
            )  # only the newest attempt waits for a choice
            await enqueue(session, now, answer_id=answer_id, delay=delay)
        elif kind == PART:
            assert head is not None
            head.text = joined(own, mine, head, extra=text)
            await self._changed(session, head, now, delay)
        else:
            first = not any(a.status == DISCUSSION for a in mine)
            return _Taken(
                hint=replies.discussion_hint(answered=counted is not None) if first else None
            )
        return _Taken(kind=kind)

    def _follow_up(self, event: AnswerPosted, taken: _Taken) -> Card | None:
        if taken.refusal is not None:
            if event.private:
                return taken.refusal
            self._tell(event.thread, taken.refusal, event)
            self._react(event.message, Reaction.REJECTED)
            return None
        if taken.hint is not None:
            self._tell(event.thread, taken.hint, event)
        if taken.kind is None:
            return None
        self._grading.wake()
        if event.private and taken.kind == CANDIDATE:
            return cards.notice(
                "New attempt received",
                "Once it is graded, you are asked whether it should replace your answer.",
            )
        if event.private:
            return cards.notice("Answer received", "It stays hidden until the reveal.")
        self._react(event.message, Reaction.RECEIVED)
        return None

    async def edit_answer(self, event: AnswerEdited) -> None:
        """An edit before close replaces the text of an answer (or of a new attempt, or of a
        part) and its grade; an edited discussion reply stays discussion, unless it was a
        short reply of someone with no answer, edited into one; the same edit delivered twice
        changes nothing."""
        text = scrub(event.text)
        problem = _check_text(text)
        now = self._clock.now()
        refusal: Card | None = None
        async with self._sessions.begin() as session:
            rnd = await repo.round_for_thread(
                session, event.thread.channel, event.thread.message_id
            )
            answer = None if rnd is None else await _answer(session, rnd.id, event.message)
            if rnd is None or answer is None or answer.status == WITHDRAWN:
                return
            mine = await replies_of(session, rnd.id, answer.member_id)
            head = head_of(mine, answer)
            own = own_text(head, mine)
            if (own if answer is head else answer.text) == text:
                return
            promoted = (
                answer.status == DISCUSSION
                and not any(a.status == COUNTED for a in mine)
                and not replies.is_short(text)
                and rnd.status == "open"
                and now < rnd.closes_at
            )
            if promoted and not problem:
                # a short first reply ("no idea") edited into an answer: now it is the answer,
                # graded below like any edited one
                answer.status = COUNTED
                await count_answer(session, rnd, answer.member_id, answer.id, now)
            elif head.status not in (COUNTED, CANDIDATE):
                # discussion, or what no longer counts: the text changes, nothing is graded
                answer.text, answer.edited_at = text, now
                if answer is not head:
                    head.text = joined(own, mine, head)
                return
            if rnd.status != "open" or now >= rnd.closes_at:
                refusal = _closed_notice("Edits")
            elif problem:
                refusal = cards.notice("Edit not accepted", problem)
            else:
                if answer is head:
                    own = text
                else:
                    answer.text = text
                head.text = joined(own, mine, head)
                head.edited_at = now
                await self._changed(session, head, now, self._edit_quiet)
        if refusal is not None:
            self._tell(event.thread, refusal, event)
            return
        self._grading.wake()

    async def _changed(
        self, session: AsyncSession, answer: Answer, now: datetime, quiet: timedelta
    ) -> None:
        """The answer's text changed: its grade no longer counts, and it is graded again once
        it stays unchanged for `quiet`."""
        answer.revision += 1
        if answer.status == COUNTED:
            await tally.recount(session, round_id=answer.round_id, member_id=answer.member_id)
        await self._grade_when_quiet(session, answer.id, now, quiet)

    async def _grade_when_quiet(
        self, session: AsyncSession, answer_id: int, now: datetime, quiet: timedelta
    ) -> None:
        """Grade the changed answer once changes stop: a job still waiting for it is put off
        until `quiet` after this change; otherwise (none, or one already grading the old
        text, which will not be kept) a new job waits that long."""
        due = now + quiet
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
            await enqueue(session, now, answer_id=answer_id, delay=quiet)

    async def withdraw_answer(self, event: AnswerDeleted) -> None:
        """A deleted answer no longer counts; the member's previously counted answer (one a
        new attempt replaced) counts again. A deleted part leaves its answer."""
        now = self._clock.now()
        async with self._sessions.begin() as session:
            rnd = await repo.round_for_thread(
                session, event.thread.channel, event.thread.message_id
            )
            if rnd is None or rnd.status != "open":
                return
            answer = await _answer(session, rnd.id, event.message)
            if answer is None or answer.status == WITHDRAWN:
                return
            if answer.status == PART:
                mine = await replies_of(session, rnd.id, answer.member_id)
                head = head_of(mine, answer)
                own = own_text(head, mine)
                answer.text = ""  # stays a part (in place), empty: joined into nothing
                head.text = joined(own, mine, head)
                await self._changed(session, head, now, self._edit_quiet)
                return
            was, answer.status = answer.status, WITHDRAWN
            if was != COUNTED:
                return
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
                        Answer.status == SUPERSEDED,
                    )
                    .order_by(Answer.id.desc())
                    .limit(1)
                )
            ).scalar_one_or_none()
            if previous is None:
                await session.delete(entry)
            else:
                previous.status = COUNTED
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


async def _after_close(
    session: AsyncSession, rnd: ThreadRound, event: AnswerPosted, text: str
) -> _Taken:
    """A reply after the deadline: discussion (short, or by someone who answered) passes
    quietly; an answer or a new attempt is told the round is closed."""
    if not event.private and replies.new_attempt(text) is None:
        if text.strip() and replies.is_short(text):
            return _Taken()
        answered = await session.scalar(
            select(Entry.id)
            .join(Member, Member.id == Entry.member_id)
            .where(Entry.round_id == rnd.id, Member.external_id == event.author.user_id)
        )
        if answered is not None:
            return _Taken()
    return _Taken(refusal=_closed_notice())
