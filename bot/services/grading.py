"""Durable grading: a job row per answer, claimed under a lease by a pool of workers."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Any, Protocol

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.domain import Card, ChannelRef, MessageRef, Reaction, UserRef
from bot.grading.base import Grade as GradeResult
from bot.grading.base import Grader
from bot.questions.schema import Question
from bot.services import cards
from bot.services.messenger import Messenger
from bot.storage import tally
from bot.storage.models import (
    Answer,
    Channel,
    Grade,
    GradingJob,
    Member,
    QuestionVersion,
    Round,
    Team,
)

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 5
MAX_REGRADES = 6  # provisional grades retried after 5, 10, 20, 40, 80, 160 minutes
REGRADE_AFTER = timedelta(minutes=5)


class _Stored(Enum):
    FIRST = "first"
    REPLACES_PROVISIONAL = "replaces provisional"
    AGAIN = "again"
    STALE = "stale"
    LOST = "lost"  # another worker holds the job now; its grade is the one kept


@dataclass(frozen=True, slots=True)
class Claim:
    """One worker's hold on a job. `attempt` is the job's attempt count when claimed: a job
    whose lease ran out and was claimed again has a higher one, so the first holder can no
    longer renew or finish it."""

    job_id: int
    attempt: int
    answer_id: int | None
    turn_id: int | None
    regrade: bool


@dataclass(frozen=True, slots=True)
class _Work:
    answer_id: int
    revision: int
    text: str
    question: Question
    thread: MessageRef | None
    message: MessageRef | None
    author: UserRef


class TurnGrading(Protocol):
    """Grades mock-interview turns on the same queue (the interview service)."""

    async def turn_work(self, turn_id: int) -> tuple[Question, str] | None:
        """The question and everything answered to it so far; None when nothing is left to
        grade."""
        ...

    async def apply_turn_grade(
        self, session: AsyncSession, turn_id: int, text: str, grade: GradeResult, *, regrade: bool
    ) -> Delivery | None:
        """Record the grade in the caller's transaction; what to send once it commits. A
        regrade only replaces a provisional score; a first grade moves the interview on."""
        ...

    async def deliver(self, delivery: Delivery) -> None: ...


@dataclass(frozen=True, slots=True)
class Delivery:
    """Cards for one person, sent after the transaction that decided them commits."""

    user: UserRef
    cards: tuple[Card, ...]


def enqueue(
    session: AsyncSession,
    now: datetime,
    *,
    answer_id: int | None = None,
    turn_id: int | None = None,
    delay: timedelta = timedelta(0),
    regrade: bool = False,
) -> None:
    """Add a grading job in the caller's transaction, so the work and its job land together."""
    session.add(
        GradingJob(
            answer_id=answer_id,
            turn_id=turn_id,
            regrade=regrade,
            status="pending",
            attempts=0,
            run_after=now + delay,
            created_at=now,
            updated_at=now,
        )
    )


class GradingService:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        grader: Grader,
        messenger: Messenger,
        lease: timedelta = LEASE,
        regrade_after: timedelta = REGRADE_AFTER,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._grader = grader
        self._messenger = messenger
        self._lease = lease
        self._regrade_after = regrade_after
        self._wake = asyncio.Event()
        self.turns: TurnGrading | None = None

    def wake(self) -> None:
        """Tell idle workers there is new work."""
        self._wake.set()

    async def claim(self, *, round_id: int | None = None) -> Claim | None:
        """Take the oldest runnable job (or one whose worker's lease ran out) and lease it."""
        now = self._clock.now()
        runnable = or_(
            (GradingJob.status == "pending") & (GradingJob.run_after <= now),
            (GradingJob.status == "running") & (GradingJob.lease_until < now),
        )
        stmt = select(GradingJob).where(runnable).order_by(GradingJob.id).limit(1)
        if round_id is not None:
            stmt = stmt.join(Answer, Answer.id == GradingJob.answer_id).where(
                Answer.round_id == round_id
            )
        async with self._sessions.begin() as session:
            # Lock the job row alone: the join must not lock (or wait on) the answer.
            job = (
                await session.execute(stmt.with_for_update(skip_locked=True, of=GradingJob))
            ).scalar_one_or_none()
            if job is None:
                return None
            job.status = "running"
            job.attempts += 1
            job.lease_until = now + self._lease
            job.updated_at = now
            return Claim(job.id, job.attempts, job.answer_id, job.turn_id, job.regrade)

    async def run(self, claim: Claim) -> None:
        """Grade the job's answer, store the grade, then tell the author."""
        if claim.turn_id is not None:
            await self._run_turn(claim, claim.turn_id)
            return
        async with self._sessions() as session:
            loaded = await self._load(session, claim.answer_id)
        if loaded is None:
            await self._release(claim, "done")
            return
        grade = await self._grade(claim, loaded.question, loaded.text)
        if grade is None:
            return
        stored = await self._store(claim, loaded.answer_id, loaded.revision, grade)
        if stored is _Stored.FIRST or stored is _Stored.REPLACES_PROVISIONAL:
            await self._notify(loaded, grade, update=stored is _Stored.REPLACES_PROVISIONAL)

    async def drain(self, *, round_id: int | None = None) -> int:
        """Run runnable jobs until none is left; the number run."""
        count = 0
        while (claim := await self.claim(round_id=round_id)) is not None:
            await self.run(claim)
            count += 1
        return count

    async def work(self, stop: asyncio.Event, *, poll: float = 5.0) -> None:
        """A worker: drain, then sleep until woken, polled or stopped."""
        while not stop.is_set():
            try:
                await self.drain()
            except Exception:
                log.exception("grading worker failed; retrying after the poll interval")
            self._wake.clear()
            waiters = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())]
            _, pending = await asyncio.wait(
                waiters, timeout=poll, return_when=asyncio.FIRST_COMPLETED
            )
            for task in pending:
                task.cancel()

    # --- one claim -----------------------------------------------------------------------------

    async def _grade(self, claim: Claim, question: Question, text: str) -> GradeResult | None:
        """The grade, with the lease kept alive meanwhile; None if grading failed (the job is
        then queued again, later)."""
        renewing = asyncio.ensure_future(self._keep_leased(claim))
        try:
            return await self._grader.grade(question, text)
        except Exception as exc:  # a grader outage must not lose the job
            await self._retry_later(claim, exc)
            return None
        finally:
            renewing.cancel()

    async def _keep_leased(self, claim: Claim) -> None:
        """Extend the lease while grading takes long (retries, samples); stop once the claim
        is lost."""
        every = max(self._lease.total_seconds() / 3, 0.05)
        while True:
            await asyncio.sleep(every)
            now = self._clock.now()
            async with self._sessions.begin() as session:
                renewed = await session.execute(
                    _holding(claim).values(lease_until=now + self._lease, updated_at=now)
                )
            if not renewed.rowcount:  # type: ignore[attr-defined]
                log.warning("grading job %s: lease lost to another worker", claim.job_id)
                return

    async def _release(self, claim: Claim, status: str) -> bool:
        async with self._sessions.begin() as session:
            return await _finish(session, claim, status, self._clock.now())

    async def _run_turn(self, claim: Claim, turn_id: int) -> None:
        turns = self.turns
        work = None if turns is None else await turns.turn_work(turn_id)
        if turns is None or work is None:
            await self._release(claim, "done")
            return
        question, text = work
        grade = await self._grade(claim, question, text)
        if grade is None:
            return
        now = self._clock.now()
        async with self._sessions.begin() as session:
            if not await _finish(session, claim, "done", now):
                return
            delivery = await turns.apply_turn_grade(
                session, turn_id, text, grade, regrade=claim.regrade
            )
            if grade.provisional:
                regrades = await _regrades_queued(session, turn_id)
                if regrades < MAX_REGRADES:
                    delay = self._regrade_after * 2**regrades
                    enqueue(session, now, turn_id=turn_id, delay=delay, regrade=True)
        if delivery is not None:
            await turns.deliver(delivery)

    async def _load(self, session: AsyncSession, answer_id: int | None) -> _Work | None:
        row = (
            await session.execute(
                select(Answer, Round, Channel, Team, Member, QuestionVersion)
                .join(Round, Round.id == Answer.round_id)
                .join(Channel, Channel.id == Round.channel_id)
                .join(Team, Team.id == Channel.team_id)
                .join(Member, Member.id == Answer.member_id)
                .join(QuestionVersion, QuestionVersion.id == Round.question_id)
                .where(Answer.id == answer_id)
            )
        ).one_or_none()
        if row is None or row[0].status == "withdrawn":
            return None
        answer, rnd, channel, team, member, question_row = row
        ref = ChannelRef(team.platform, team.external_id, channel.external_id)
        thread = MessageRef(ref, rnd.message_id, rnd.message_id) if rnd.message_id else None
        message = None
        if thread is not None and not answer.private:
            message = MessageRef(ref, answer.message_id, rnd.message_id)
        return _Work(
            answer_id=answer.id,
            revision=answer.revision,
            text=answer.text,
            question=Question.model_validate(question_row.content),
            thread=thread,
            message=message,
            author=UserRef(team.platform, team.external_id, member.external_id),
        )

    async def _store(
        self, claim: Claim, answer_id: int, revision: int, grade: GradeResult
    ) -> _Stored:
        """Keep the grade and close the job, if this worker still holds it. A provisional
        grade also queues a regrade, later and later, until a real grade replaces it."""
        now = self._clock.now()
        async with self._sessions.begin() as session:
            if not await _finish(session, claim, "done", now):
                return _Stored.LOST
            # Locked until commit: an edit or a withdrawal of this answer waits for the grade,
            # or this waits for it, so the recount below never mixes a stale revision in.
            answer = await session.get(Answer, answer_id, with_for_update={"key_share": True})
            if answer is None or answer.revision != revision:
                return _Stored.STALE
            earlier = (
                await session.scalars(
                    select(Grade.provisional)
                    .where(Grade.answer_id == answer_id, Grade.answer_revision == revision)
                    .order_by(Grade.id)
                )
            ).all()
            session.add(
                Grade(
                    answer_id=answer_id,
                    answer_revision=revision,
                    grader=grade.grader,
                    question_version=grade.rubric_version,
                    score=grade.score,
                    max_score=grade.max_score,
                    points=grade.points_json(),
                    feedback=grade.feedback,
                    provisional=grade.provisional,
                    flags=sorted(grade.flags),
                    usage=None if grade.usage is None else asdict(grade.usage),
                    created_at=now,
                )
            )
            await tally.recount(session, round_id=answer.round_id, member_id=answer.member_id)
            if grade.provisional and len(earlier) < MAX_REGRADES:
                delay = self._regrade_after * 2 ** len(earlier)
                enqueue(session, now, answer_id=answer_id, delay=delay, regrade=True)
        if not earlier:
            return _Stored.FIRST
        if earlier[-1] and not grade.provisional:
            return _Stored.REPLACES_PROVISIONAL
        return _Stored.AGAIN

    async def _notify(self, work: _Work, grade: GradeResult, *, update: bool) -> None:
        if work.thread is None:
            return
        try:
            if work.message is not None and not update:
                await self._messenger.react(work.message, Reaction.GRADED)
            await self._messenger.reply(
                work.thread,
                cards.feedback_card(work.question, grade, update=update),
                private_to=work.author,
            )
        except Exception:
            log.exception(
                "could not deliver feedback for answer %s in %s",
                work.answer_id,
                work.thread.channel,
            )

    async def _retry_later(self, claim: Claim, exc: Exception) -> None:
        now = self._clock.now()
        failed = claim.attempt >= MAX_ATTEMPTS
        async with self._sessions.begin() as session:
            result = await session.execute(
                _holding(claim).values(
                    status="failed" if failed else "pending",
                    run_after=now + timedelta(seconds=30 * 2 ** (claim.attempt - 1)),
                    lease_until=None,
                    last_error=f"{type(exc).__name__}: {exc}"[:2000],
                    updated_at=now,
                )
            )
        if not result.rowcount:  # type: ignore[attr-defined]
            return  # another worker holds the job now
        log.warning(
            "grading job %s failed (attempt %s)%s: %s",
            claim.job_id, claim.attempt, ", giving up" if failed else ", will retry", exc,
        )  # fmt: skip


def _holding(claim: Claim) -> Any:
    """UPDATE of the job that matches only while `claim` is the job's current claim."""
    return update(GradingJob).where(
        GradingJob.id == claim.job_id,
        GradingJob.status == "running",
        GradingJob.attempts == claim.attempt,
    )


async def _finish(session: AsyncSession, claim: Claim, status: str, now: datetime) -> bool:
    """Close the job in the caller's transaction; False if another worker holds it now."""
    result = await session.execute(
        _holding(claim).values(status=status, lease_until=None, updated_at=now)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def _regrades_queued(session: AsyncSession, turn_id: int) -> int:
    """How many regrades were queued already for a mock-interview turn."""
    count = await session.scalar(
        select(func.count())
        .select_from(GradingJob)
        .where(GradingJob.turn_id == turn_id, GradingJob.regrade)
    )
    return int(count or 0)
