"""Durable grading: a job row per answer, claimed under a lease by a pool of workers."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from enum import Enum

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.domain import ChannelRef, MessageRef, Reaction, UserRef
from bot.grading.base import Grade as GradeResult
from bot.grading.base import Grader
from bot.questions.schema import Question
from bot.services import cards
from bot.services.messenger import Messenger
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


@dataclass(frozen=True, slots=True)
class _Work:
    answer_id: int
    revision: int
    text: str
    question: Question
    thread: MessageRef | None
    message: MessageRef | None
    author: UserRef


def enqueue(
    session: AsyncSession, answer_id: int, now: datetime, *, delay: timedelta = timedelta(0)
) -> None:
    """Add a grading job in the caller's transaction, so the answer and its job land together."""
    session.add(
        GradingJob(
            answer_id=answer_id,
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
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._grader = grader
        self._messenger = messenger
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Tell idle workers there is new work."""
        self._wake.set()

    async def claim(self, *, round_id: int | None = None) -> int | None:
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
            job = (
                await session.execute(stmt.with_for_update(skip_locked=True))
            ).scalar_one_or_none()
            if job is None:
                return None
            job.status = "running"
            job.attempts += 1
            job.lease_until = now + LEASE
            job.updated_at = now
            return job.id

    async def run(self, job_id: int) -> None:
        """Grade the job's answer, store the grade, then tell the author."""
        async with self._sessions() as session:
            loaded = await self._load(session, job_id)
        if loaded is None:
            await self._finish(job_id, "done")
            return
        try:
            grade = await self._grader.grade(loaded.question, loaded.text)
        except Exception as exc:  # a grader outage must not lose the job
            await self._retry_later(job_id, exc)
            return
        stored = await self._store(job_id, loaded.answer_id, loaded.revision, grade)
        if stored is _Stored.FIRST or stored is _Stored.REPLACES_PROVISIONAL:
            await self._notify(loaded, grade, update=stored is _Stored.REPLACES_PROVISIONAL)

    async def drain(self, *, round_id: int | None = None) -> int:
        """Run runnable jobs until none is left; the number run."""
        count = 0
        while (job_id := await self.claim(round_id=round_id)) is not None:
            await self.run(job_id)
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

    async def _load(self, session: AsyncSession, job_id: int) -> _Work | None:
        row = (
            await session.execute(
                select(Answer, Round, Channel, Team, Member, QuestionVersion)
                .join(GradingJob, GradingJob.answer_id == Answer.id)
                .join(Round, Round.id == Answer.round_id)
                .join(Channel, Channel.id == Round.channel_id)
                .join(Team, Team.id == Channel.team_id)
                .join(Member, Member.id == Answer.member_id)
                .join(QuestionVersion, QuestionVersion.id == Round.question_id)
                .where(GradingJob.id == job_id)
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
        self, job_id: int, answer_id: int, revision: int, grade: GradeResult
    ) -> _Stored:
        """Keep the grade and close the job. A provisional grade also queues a regrade, later
        and later, until a real grade replaces it."""
        now = self._clock.now()
        async with self._sessions.begin() as session:
            answer = await session.get(Answer, answer_id)
            await session.execute(
                update(GradingJob)
                .where(GradingJob.id == job_id)
                .values(status="done", lease_until=None, updated_at=now)
            )
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
            if grade.provisional and len(earlier) < MAX_REGRADES:
                enqueue(session, answer_id, now, delay=REGRADE_AFTER * 2 ** len(earlier))
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

    async def _retry_later(self, job_id: int, exc: Exception) -> None:
        now = self._clock.now()
        async with self._sessions.begin() as session:
            job = await session.get_one(GradingJob, job_id)
            failed = job.attempts >= MAX_ATTEMPTS
            job.status = "failed" if failed else "pending"
            job.run_after = now + timedelta(seconds=30 * 2 ** (job.attempts - 1))
            job.lease_until = None
            job.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            job.updated_at = now
        log.warning(
            "grading job %s failed (attempt %s)%s: %s",
            job_id, job.attempts, ", giving up" if failed else ", will retry", exc,
        )  # fmt: skip

    async def _finish(self, job_id: int, status: str) -> None:
        async with self._sessions.begin() as session:
            await session.execute(
                update(GradingJob)
                .where(GradingJob.id == job_id)
                .values(status=status, lease_until=None, updated_at=self._clock.now())
            )
