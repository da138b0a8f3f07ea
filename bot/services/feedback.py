"""Feedback owed to an answer's author. A grade and the notice it owes are stored together; the
worker that stored them holds the notice under a lease, renewed while the send waits (behind a
platform's rate limit, say), and clears it once the platform took it. A notice whose lease ran
out, because its sender died or the send failed, is sent again by any worker.

Between the platform taking a notice and the record of that, a crash leaves the notice owed and
it is sent again: Slack ephemerals can't be read back to check. That window is kept as short as
it can be: the record is written by `Receipts`, on a connection of its own, as soon as the send
returns, many sends' records in one statement."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.background import Background, GroupCommit
from bot.clock import Clock
from bot.domain import Card, ChannelRef, MessageRef, Reaction, UserRef
from bot.grading.base import Flag, PointGrade
from bot.grading.base import Grade as GradeResult
from bot.questions.schema import Question
from bot.services import cards
from bot.services.messenger import Messenger
from bot.services.replies import (
    CANDIDATE,
    COUNTED,
    DECLINED,
    WITHDRAWN,
    Attempt,
    replace_prompt,
)
from bot.storage.models import (
    Answer,
    Channel,
    Entry,
    Grade,
    Member,
    QuestionVersion,
    Round,
    Team,
)

log = logging.getLogger(__name__)

FIRST = "first"  # the first grade of an answer: a reaction on it and the feedback
UPDATE = "update"  # a real grade replacing a provisional one: the updated feedback
RESEND_BATCH = 50


@dataclass(frozen=True, slots=True)
class AnswerWork:
    """An answer with what grading it and telling its author need."""

    answer_id: int
    revision: int
    text: str
    question: Question
    member_id: int
    thread: MessageRef | None
    message: MessageRef | None
    author: UserRef
    status: str = COUNTED
    counted_score: float | None = None
    """The score that counts for the author in the round now (a new attempt's prompt shows
    it)."""
    tally_key: tuple[int, date] | None = None
    """The round's team (row id) and local date: where the grade's recount adds up."""


async def load_answer(session: AsyncSession, answer_id: int | None) -> AnswerWork | None:
    """The answer and its context; None when it is gone or withdrawn."""
    if answer_id is None:
        return None
    return (await load_answers(session, [answer_id])).get(answer_id)


async def load_answers(session: AsyncSession, answer_ids: Sequence[int]) -> dict[int, AnswerWork]:
    """`load_answer` for many answers in one query, by answer id (the gone or withdrawn ones
    left out). Columns, not ORM objects; a question's content is read only when it is not
    parsed and cached already."""
    rows = (
        await session.execute(
            select(
                Answer.id,
                Answer.revision,
                Answer.text,
                Answer.status,
                Answer.private,
                Answer.message_id,
                Round.message_id.label("thread_id"),
                Channel.external_id.label("channel_id"),
                Team.platform,
                Team.external_id.label("team_id"),
                Team.id.label("team_row"),
                Round.local_date,
                Member.id.label("member_id"),
                Member.external_id.label("user_id"),
                QuestionVersion.id.label("question_row"),
                QuestionVersion.slug,
                QuestionVersion.version,
                Entry.score,
            )
            .join(Round, Round.id == Answer.round_id)
            .join(Channel, Channel.id == Round.channel_id)
            .join(Team, Team.id == Channel.team_id)
            .join(Member, Member.id == Answer.member_id)
            .join(QuestionVersion, QuestionVersion.id == Round.question_id)
            .outerjoin(
                Entry, (Entry.round_id == Answer.round_id) & (Entry.member_id == Answer.member_id)
            )
            .where(Answer.id.in_(answer_ids), Answer.status != WITHDRAWN)
        )
    ).all()
    missing = {r.question_row for r in rows if (r.slug, r.version) not in _QUESTIONS}
    if missing:
        for question_row in await session.scalars(
            select(QuestionVersion).where(QuestionVersion.id.in_(missing))
        ):
            _question(question_row)
    return {row.id: _work(row) for row in rows}


def _work(row: Any) -> AnswerWork:
    ref = ChannelRef(row.platform, row.team_id, row.channel_id)
    thread = MessageRef(ref, row.thread_id, row.thread_id) if row.thread_id else None
    message = None
    if thread is not None and not row.private:
        message = MessageRef(ref, row.message_id, row.thread_id)
    return AnswerWork(
        answer_id=row.id,
        revision=row.revision,
        text=row.text,
        question=_QUESTIONS[(row.slug, row.version)],
        member_id=row.member_id,
        thread=thread,
        message=message,
        author=UserRef(row.platform, row.team_id, row.user_id),
        status=row.status,
        counted_score=row.score,
        tally_key=(row.team_row, row.local_date),
    )


_QUESTIONS: dict[tuple[str, str], Question] = {}
"""Parsed questions by slug and version (a hash of the content, so one key, one content)."""


def _question(row: QuestionVersion) -> Question:
    key = (row.slug, row.version)
    if key not in _QUESTIONS:
        _QUESTIONS[key] = Question.model_validate(row.content)
    return _QUESTIONS[key]


@dataclass(frozen=True, slots=True)
class Owed:
    """A notice this process holds. `lease` is the notice's lease as this process last set it:
    its claim, so only it may renew or clear the notice."""

    grade_id: int
    lease: datetime
    work: AnswerWork
    grade: GradeResult
    update: bool


WRITE_ATTEMPTS = 3


class Receipts:
    """Clears delivered notices. Each clear joins the next batch (`GroupCommit`); a batch is one
    transaction, run on a connection nothing else waits for (on PostgreSQL), so a burst of
    answers queueing for the shared pool does not stretch the time between a send and its
    record."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._batches: GroupCommit[tuple[int, Sequence[datetime]], bool] = GroupCommit(self._write)

    async def clear(self, grade_id: int, leases: Sequence[datetime]) -> bool:
        """Clear the notice if a lease in `leases` still holds it; whether it did."""
        return await self._batches.put((grade_id, list(leases)))

    async def idle(self) -> None:
        """Wait for the records being written."""
        await self._batches.idle()

    async def _write(self, batch: list[tuple[int, Sequence[datetime]]]) -> list[bool | Exception]:
        """Whether each notice was cleared; a batch that fails (a deadlock, say) is safe to
        redo, and is, up to WRITE_ATTEMPTS times in all."""
        for _ in range(WRITE_ATTEMPTS - 1):
            try:
                cleared = await self._clear(batch)
                break
            except Exception as error:
                log.warning("feedback receipts: %s; writing the batch again", error)
        else:
            cleared = await self._clear(batch)
        return [grade_id in cleared for grade_id, _ in batch]

    async def _clear(self, batch: list[tuple[int, Sequence[datetime]]]) -> set[int]:
        """One batch in one transaction. The rows are locked in id order first, so two
        replicas clearing overlapping batches wait for each other instead of deadlocking;
        under that lock, the notices still held by one of their leases are cleared. Both
        statements are built once, whatever the batch's size."""
        leases: dict[int, set[datetime]] = {}
        for grade_id, held_under in batch:
            leases.setdefault(grade_id, set()).update(held_under)
        async with self._sessions.begin() as session:
            rows = await session.execute(_LOCK_NOTICES, {"ids": sorted(leases)})
            held = [id_ for id_, notice, lease in rows if notice and lease in leases[id_]]
            if held:
                await session.execute(_CLEAR_NOTICES, {"ids": held})
            return set(held)


class FeedbackSender:
    """Sends owed feedback, each notice under its lease, and takes over notices whose lease ran
    out."""

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        messenger: Messenger,
        lease: timedelta,
        receipts: async_sessionmaker[AsyncSession] | None = None,
    ) -> None:
        """`receipts`: sessions for delivery records, on a pool of their own where the
        database takes concurrent writers (default: `sessions`)."""
        self._sessions = sessions
        self._receipts = Receipts(receipts or sessions)
        self._clock = clock
        self._messenger = messenger
        self.lease = lease
        # Every lease value this process gave each notice it holds: a renewal may land just
        # before the notice is cleared, and the clear must still match it.
        self._held: dict[int, list[datetime]] = {}
        self._sends = Background()
        self._renewer: asyncio.Task[None] | None = None

    async def send(self, owed: Owed) -> None:
        """Send now and wait for it."""
        self._hold(owed)
        await self._send(owed)

    def send_later(self, owed: Owed) -> None:
        """Send without waiting; the lease is renewed meanwhile."""
        self._hold(owed)
        self._sends.spawn(self._send(owed), what=f"feedback of grade {owed.grade_id}")

    async def resend_owed(self, *, limit: int = RESEND_BATCH) -> int:
        """Take over notices whose sender's lease ran out and send them again; how many."""
        now = self._clock.now()
        until = now + self.lease
        stmt = (
            select(Grade)
            .where(
                Grade.notice.is_not(None),
                or_(Grade.notice_lease_until.is_(None), Grade.notice_lease_until < now),
            )
            .order_by(Grade.id)
            .limit(limit)
        )
        if self._held:  # ours, being sent (the clock may have jumped past their lease)
            stmt = stmt.where(Grade.id.not_in(list(self._held)))
        async with self._sessions.begin() as session:
            rows = (await session.scalars(stmt.with_for_update(skip_locked=True))).all()
            taken = []
            for row in rows:
                row.notice_lease_until = until
                taken.append(
                    (row.id, row.answer_id, row.answer_revision, row.notice, result_of(row))
                )
        if not taken:
            return 0
        sent = 0
        async with self._sessions() as session:
            works = await load_answers(session, [answer_id for _, answer_id, *_ in taken])
        for grade_id, answer_id, revision, notice, grade in taken:
            work = works.get(answer_id)
            if work is None or work.revision != revision or work.thread is None:
                # Withdrawn or edited since: nothing to tell.
                await self._receipts.clear(grade_id, [until])
                continue
            self.send_later(Owed(grade_id, until, work, grade, update=notice == UPDATE))
            sent += 1
        if sent:
            log.info("sending %s owed feedback notice(s) whose sender's lease ran out", sent)
        return sent

    async def idle(self) -> None:
        """Wait until every send started here is done."""
        await self._sends.idle()

    async def close(self, *, grace: float = 5.0) -> None:
        """Give sends in flight `grace` seconds; what is cancelled stays owed, for any worker."""
        await self._sends.close(grace=grace)
        await self._receipts.idle()
        if self._renewer is not None:
            self._renewer.cancel()
            await asyncio.gather(self._renewer, return_exceptions=True)

    # --- one notice -----------------------------------------------------------------------------

    def _hold(self, owed: Owed) -> None:
        self._held[owed.grade_id] = [owed.lease]
        if self._renewer is None or self._renewer.done():
            self._renewer = asyncio.ensure_future(self._keep_leased())

    async def _send(self, owed: Owed) -> None:
        work = owed.work
        assert work.thread is not None
        try:
            try:
                if work.status == CANDIDATE:
                    owed = await self._as_it_stands(owed)
                card = _card_for(owed)
                if card is not None:
                    await self._messenger.reply(work.thread, card, private_to=work.author)
            except Exception:
                log.exception(
                    "could not deliver feedback for answer %s in %s; any worker sends it once "
                    "its lease runs out", work.answer_id, work.thread.channel,
                )  # fmt: skip
                return
            await self._delivered(owed.grade_id)
        finally:
            self._held.pop(owed.grade_id, None)  # a failed send's lease now runs out
        if work.message is not None and not owed.update:
            try:
                await self._messenger.react(work.message, Reaction.GRADED)
            except Exception:
                log.warning("could not mark answer %s as graded", work.answer_id, exc_info=True)

    async def _as_it_stands(self, owed: Owed) -> Owed:
        """A new attempt's notice with its status and the score that counts as they are now
        (the answer it would replace may have been graded, or a choice made, meanwhile)."""
        async with self._sessions() as session:
            work = await load_answer(session, owed.work.answer_id)
        return owed if work is None else dataclasses.replace(owed, work=work)

    async def _delivered(self, grade_id: int) -> None:
        leases = self._held.pop(grade_id, [])
        if not leases or not await self._receipts.clear(grade_id, leases):
            log.warning("feedback for grade %s was taken over by another worker", grade_id)

    async def _keep_leased(self) -> None:
        """While notices are held, extend their leases every third of a lease."""
        every = max(self.lease.total_seconds() / 3, 0.05)
        while self._held:
            await asyncio.sleep(every)
            try:
                await self._renew()
            except Exception:
                log.exception("could not renew the leases of owed feedback")

    async def _renew(self) -> None:
        until = self._clock.now() + self.lease
        held = {grade_id: list(leases) for grade_id, leases in self._held.items()}
        for leases in self._held.values():
            leases.append(until)  # before the UPDATE: a clear from now on matches it too
        lost = []
        async with self._sessions.begin() as session:
            for grade_id, leases in held.items():
                result = await session.execute(
                    _holding(grade_id, leases).values(notice_lease_until=until)
                )
                if not result.rowcount:  # type: ignore[attr-defined]
                    lost.append(grade_id)
        for grade_id in lost:
            if self._held.pop(grade_id, None) is not None:
                log.warning("feedback for grade %s: lease lost to another worker", grade_id)


def _card_for(owed: Owed) -> Card | None:
    """What a grade tells its author: feedback, or for a new attempt still waiting for a
    choice, whether it should replace the counted answer (nothing for one set aside)."""
    work = owed.work
    if work.status == DECLINED:
        return None
    if work.status == CANDIDATE and not owed.update:
        attempt = Attempt(work.answer_id, owed.grade.score, work.counted_score)
        return replace_prompt(attempt, owed.grade.feedback)
    return cards.feedback_card(work.question, owed.grade, update=owed.update)


_LOCK_NOTICES = (
    select(Grade.id, Grade.notice, Grade.notice_lease_until)
    .where(Grade.id.in_(bindparam("ids", expanding=True)))
    .order_by(Grade.id)
    .with_for_update()
)
_CLEAR_NOTICES = (
    update(Grade)
    .where(Grade.id.in_(bindparam("ids", expanding=True)), Grade.notice.is_not(None))
    .values(notice=None, notice_lease_until=None)
    .execution_options(synchronize_session=False)
)


def _holding(grade_id: int, leases: Sequence[datetime]) -> Any:
    """UPDATE of the notice that matches only while it is still owed, under a lease that is
    one of `leases`."""
    return update(Grade).where(
        Grade.id == grade_id, Grade.notice.is_not(None), Grade.notice_lease_until.in_(leases)
    )


def result_of(row: Grade) -> GradeResult:
    """The grade as graders make it, rebuilt from its row (for feedback sent again)."""
    return GradeResult(
        points=tuple(PointGrade.from_json(p) for p in row.points),
        feedback=row.feedback,
        grader=row.grader,
        rubric_version=row.question_version,
        provisional=row.provisional,
        flags=frozenset(Flag(f) for f in row.flags),
        max_score=row.max_score,
    )
