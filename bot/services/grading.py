"""Durable grading: a job row per answer, claimed under a lease, graded many at a time."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import bindparam, distinct, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.background import GroupCommit, first_of
from bot.clock import Clock
from bot.domain import Card, UserRef
from bot.grading.base import Flag, Grader, is_human
from bot.grading.base import Grade as GradeResult
from bot.grading.limit import AdaptiveLimit
from bot.questions.schema import Question
from bot.services.feedback import (
    FIRST,
    UPDATE,
    AnswerWork,
    FeedbackSender,
    Owed,
    load_answers,
)
from bot.services.inbox import Arrivals
from bot.services.messenger import Messenger
from bot.storage import tally
from bot.storage.models import Answer, Grade, GradingJob

log = logging.getLogger(__name__)

DAILY_CAP_NOTE = (
    "You have had today's share of AI-graded answers, so the offline grader scored this one."
)

LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 5
MAX_REGRADES = 6  # provisional grades retried after 5, 10, 20, 40, 80, 160 minutes
REGRADE_AFTER = timedelta(minutes=5)
STORE_BATCH = 64


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


class TurnGrading(Protocol):
    """Grades mock-interview turns on the same queue (the interview service)."""

    async def turn_work(self, turn_id: int) -> tuple[Question, str] | None:
        """The question and everything answered to it so far; None when nothing is left to
        grade."""
        ...

    async def plan_probe(self, turn_id: int, grade: GradeResult) -> dict[str, str] | None:
        """The follow-up this grade would lead to (rubric point and the bank's probe), if any."""
        ...

    async def apply_turn_grade(
        self,
        session: AsyncSession,
        turn_id: int,
        text: str,
        grade: GradeResult,
        *,
        regrade: bool,
        probe: dict[str, str] | None = None,
    ) -> Delivery | None:
        """Record the grade in the caller's transaction; what to send once it commits. A
        regrade only replaces a provisional score; a first grade moves the interview on, with
        `probe` as its follow-up when it is on the point the interview would probe."""
        ...

    async def deliver(self, delivery: Delivery) -> None: ...


class FollowUpWriter(Protocol):
    """Writes a mock interview's follow-up from the missed point and the person's words."""

    async def follow_up(self, question: Question, answer: str, point_id: str) -> str: ...


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
) -> Awaitable[Any]:
    """Add a grading job in the caller's transaction, so the work and its job land together.
    Await the result (a plain INSERT: no ORM object on the path every answer takes)."""
    return session.execute(
        _INSERT_JOB,
        {
            "answer_id": answer_id,
            "turn_id": turn_id,
            "regrade": regrade,
            "status": "pending",
            "attempts": 0,
            "run_after": now + delay,
            "created_at": now,
            "updated_at": now,
        },
    )


class GradingService:
    """Grading jobs, claimed in batches by a pump that keeps as many in flight as may be
    graded at once: the LLM's call limit (which moves with the API's load), or a fixed batch
    for a grader without one. Each job keeps its own lease while it grades; its feedback is
    sent beside the pump, so a slow platform never holds up grading."""

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        grader: Grader,
        messenger: Messenger,
        lease: timedelta = LEASE,
        regrade_after: timedelta = REGRADE_AFTER,
        llm_limit: AdaptiveLimit | None = None,
        batch: int = 16,
        receipts: async_sessionmaker[AsyncSession] | None = None,
        offline: Grader | None = None,
        round_daily_cap: int | None = None,
        follow_ups: FollowUpWriter | None = None,
        arrivals: Arrivals | None = None,
    ) -> None:
        """`offline` and `round_daily_cap`: past that many round answers graded by `grader`
        (an LLM) in a UTC day, a person's further answers that day get `offline`'s grade."""
        self._sessions = sessions
        self._clock = clock
        self._grader = grader
        self._offline = offline
        self._round_daily_cap = round_daily_cap
        self._follow_ups = follow_ups
        self._messenger = messenger
        self._lease = lease
        self._regrade_after = regrade_after
        self.llm_limit = llm_limit
        self._batch = batch
        self._wake = asyncio.Event()
        self._arrivals = arrivals or Arrivals()
        self.turns: TurnGrading | None = None
        self._stores = GroupCommit(self._store_batch, most=STORE_BATCH)
        self.feedback = FeedbackSender(
            sessions=sessions, clock=clock, messenger=messenger, lease=lease, receipts=receipts
        )

    def wake(self) -> None:
        """Tell idle workers there is new work (an answer just stored, say)."""
        self._wake.set()

    @property
    def room(self) -> int:
        """How many jobs to hold at once: for the LLM, its call limit and a quarter more, loaded
        and waiting, so a call that ends is followed at once by the next."""
        if self.llm_limit is None:
            return self._batch
        return self.llm_limit.current + max(1, self.llm_limit.current // 4)

    async def claim(self, *, round_id: int | None = None) -> Claim | None:
        """Take the oldest runnable job (or one whose worker's lease ran out) and lease it."""
        claims = await self.claim_batch(1, round_id=round_id)
        return claims[0] if claims else None

    async def claim_batch(self, size: int, *, round_id: int | None = None) -> list[Claim]:
        """Take up to `size` of the oldest runnable jobs in one transaction and lease them."""
        if size < 1:
            return []
        now = self._clock.now()
        runnable = or_(
            (GradingJob.status == "pending") & (GradingJob.run_after <= now),
            (GradingJob.status == "running") & (GradingJob.lease_until < now),
        )
        stmt = select(GradingJob).where(runnable).order_by(GradingJob.id).limit(size)
        if round_id is not None:
            stmt = stmt.join(Answer, Answer.id == GradingJob.answer_id).where(
                Answer.round_id == round_id
            )
        async with self._sessions.begin() as session:
            # Lock the job rows alone: the join must not lock (or wait on) the answers.
            jobs = (
                await session.scalars(stmt.with_for_update(skip_locked=True, of=GradingJob))
            ).all()
            claims = []
            for job in jobs:
                job.status = "running"
                job.attempts += 1
                job.lease_until = now + self._lease
                job.updated_at = now
                claims.append(Claim(job.id, job.attempts, job.answer_id, job.turn_id, job.regrade))
            return claims

    async def run(self, claim: Claim, works: Mapping[int, AnswerWork] | None = None) -> None:
        """Grade the job's answer, store the grade, then tell the author (and wait for it)."""
        owed = await self._grade_and_store(claim, works)
        if owed is not None:
            await self.feedback.send(owed)

    async def drain(self, *, round_id: int | None = None) -> int:
        """Run runnable jobs, a batch at a time, until none is left, and send the feedback
        owed; the number of jobs run."""
        count = 0
        await self.feedback.resend_owed()
        while claims := await self.claim_batch(self.room, round_id=round_id):
            works = await self._answers(claims)
            results = await asyncio.gather(
                *(self.run(claim, works) for claim in claims), return_exceptions=True
            )
            count += len(claims)
            for result in results:
                if isinstance(result, BaseException):
                    raise result
        await self.feedback.idle()
        return count

    async def work(self, stop: asyncio.Event, *, poll: float = 5.0) -> None:
        """The pump: keep `room` jobs in flight, claimed in batches; send owed feedback whose
        sender died. Sleeps until woken, a job ends, the poll or the stop."""
        running: set[asyncio.Task[None]] = set()
        ended = asyncio.Event()

        def finished(task: asyncio.Task[None]) -> None:
            running.discard(task)
            ended.set()

        last_resend = -poll
        try:
            while not stop.is_set():
                self._wake.clear()
                ended.clear()
                try:
                    await self._arrivals.gap(stop)  # acks go before grading
                    if time.monotonic() - last_resend >= poll:
                        last_resend = time.monotonic()
                        await self.feedback.resend_owed()
                    claims = await self.claim_batch(self.room - len(running))
                    works = await self._answers(claims)
                except Exception:  # claimed jobs stay leased; others take them once it runs out
                    log.exception("grading pump failed; retrying after the poll interval")
                    claims = []
                    ended.clear()  # wait out the poll, not the next job's end
                for claim in claims:
                    task = asyncio.ensure_future(self._pump_one(claim, works))
                    running.add(task)
                    task.add_done_callback(finished)
                if claims:
                    continue  # there may be more; the next claim finds out
                await first_of(self._wake, stop, ended, timeout=poll)
            await asyncio.gather(*running, return_exceptions=True)
        finally:
            for task in running:  # cancelled: the jobs' leases run out and others take them
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)

    async def close(self) -> None:
        """Let the feedback being sent go out (briefly); what is left stays owed."""
        await self.feedback.close()

    async def _answers(self, claims: Sequence[Claim]) -> Mapping[int, AnswerWork]:
        """The answers `claims` grade, loaded in one query (turns are loaded one by one)."""
        ids = [c.answer_id for c in claims if c.answer_id is not None and c.turn_id is None]
        if not ids:
            return {}
        async with self._sessions() as session:
            return await load_answers(session, ids)

    async def _pump_one(self, claim: Claim, works: Mapping[int, AnswerWork]) -> None:
        try:
            owed = await self._grade_and_store(claim, works)
        except Exception:
            log.exception(
                "grading job %s failed; it runs again once its lease runs out", claim.job_id
            )
            return
        if owed is not None:
            self.feedback.send_later(owed)

    async def _grade_and_store(
        self, claim: Claim, works: Mapping[int, AnswerWork] | None = None
    ) -> Owed | None:
        """Grade the job's answer (in `works`, if loaded with others) and store the grade; the
        feedback it owes, if any."""
        if claim.turn_id is not None:
            await self._run_turn(claim, claim.turn_id)
            return None
        if works is None:
            works = await self._answers([claim])
        loaded = None if claim.answer_id is None else works.get(claim.answer_id)
        if loaded is None:
            await self._release(claim, "done")
            return None
        capped = await self._over_daily_cap(loaded)
        grader = self._offline if capped and self._offline is not None else self._grader
        grade = await self._grade(claim, loaded.question, loaded.text, grader)
        if grade is None:
            return None
        if capped:
            grade = dataclasses.replace(
                grade,
                flags=grade.flags | {Flag.DAILY_CAP},
                feedback=f"{DAILY_CAP_NOTE}\n{grade.feedback}",
            )
        return await self._store(claim, loaded, grade)

    async def _over_daily_cap(self, work: AnswerWork) -> bool:
        """Whether the author already had `round_daily_cap` other answers graded by the LLM
        today (UTC); an answer graded by it before (an edit) keeps its place."""
        if self._offline is None or self._round_daily_cap is None:
            return False
        today = self._clock.now().replace(hour=0, minute=0, second=0, microsecond=0)
        async with self._sessions() as session:
            used = await session.scalar(
                select(func.count(distinct(Grade.answer_id)))
                .join(Answer, Answer.id == Grade.answer_id)
                .where(
                    Answer.member_id == work.member_id,
                    Answer.id != work.answer_id,
                    Grade.grader == self._grader.id,
                    Grade.created_at >= today,
                )
            )
        return (used or 0) >= self._round_daily_cap

    # --- one claim -----------------------------------------------------------------------------

    async def _grade(
        self, claim: Claim, question: Question, text: str, grader: Grader | None = None
    ) -> GradeResult | None:
        """The grade, with the lease kept alive meanwhile; None if grading failed (the job is
        then queued again, later)."""
        renewing = asyncio.ensure_future(self._keep_leased(claim))
        try:
            return await (grader or self._grader).grade(question, text)
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
                    _HOLDING.values(lease_until=now + self._lease, updated_at=now),
                    _claimed(claim),
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
        probe = None
        if not claim.regrade and not grade.provisional:
            probe = await self._written_probe(turns, turn_id, question, text, grade)
        now = self._clock.now()
        async with self._sessions.begin() as session:
            if not await _finish(session, claim, "done", now):
                return
            delivery = await turns.apply_turn_grade(
                session, turn_id, text, grade, regrade=claim.regrade, probe=probe
            )
            if grade.provisional:
                regrades = await _regrades_queued(session, turn_id)
                if regrades < MAX_REGRADES:
                    delay = self._regrade_after * 2**regrades
                    await enqueue(session, now, turn_id=turn_id, delay=delay, regrade=True)
        if delivery is not None:
            await turns.deliver(delivery)

    async def _written_probe(
        self, turns: TurnGrading, turn_id: int, question: Question, text: str, grade: GradeResult
    ) -> dict[str, str] | None:
        """The follow-up the LLM writes for the point the interview will probe; None (the
        bank's follow-up is asked) without a writer, or when the writer fails."""
        if self._follow_ups is None:
            return None
        planned = await turns.plan_probe(turn_id, grade)
        if planned is None:
            return None
        try:
            written = await self._follow_ups.follow_up(question, text, planned["point"])
        except Exception as exc:
            log.warning("no written follow-up for %s (%s); asking the bank's", question.id, exc)
            return None
        return {"point": planned["point"], "probe": written, "by": "llm"}

    async def _store(self, claim: Claim, work: AnswerWork, grade: GradeResult) -> Owed | None:
        """Keep the grade and close the job, if this worker still holds it, with the feedback
        it owes (held by this worker under a lease). Grades that finish together are stored
        together, in one transaction."""
        return await self._stores.put((claim, work, grade))

    async def _store_batch(
        self, batch: list[tuple[Claim, AnswerWork, GradeResult]]
    ) -> list[Owed | Exception | None]:
        """Store `batch` in one transaction, in member order (so two replicas' batches lock
        members in the same order); if that fails, each grade in a transaction of its own, so
        one that cannot be stored does not hold back the others."""
        now = self._clock.now()
        order = sorted(range(len(batch)), key=lambda i: (batch[i][1].member_id, batch[i][0].job_id))
        try:
            async with self._sessions.begin() as session:
                stored: list[Owed | Exception | None] = [None] * len(batch)
                for i in order:
                    stored[i] = await self._store_in(session, *batch[i], now)
            return stored
        except Exception as error:
            if len(batch) == 1:
                return [error]
            log.warning("storing %d grades together failed (%s); storing them one by one",
                        len(batch), error)  # fmt: skip
        alone: list[Owed | Exception | None] = []
        for item in batch:
            try:
                async with self._sessions.begin() as session:
                    alone.append(await self._store_in(session, *item, now))
            except Exception as error:
                alone.append(error)
        return alone

    async def _store_in(
        self,
        session: AsyncSession,
        claim: Claim,
        work: AnswerWork,
        grade: GradeResult,
        now: datetime,
    ) -> Owed | None:
        """One grade's store in the caller's transaction. A provisional grade also queues a
        regrade, later and later, until a real grade replaces it."""
        if not await _finish(session, claim, "done", now):
            return None  # another worker holds the job now; its grade is the one kept
        # Locked until commit: an edit or a withdrawal of this answer waits for the grade, or
        # this waits for it, so the recount below never mixes a stale revision in.
        answer = (await session.execute(_ANSWER_NOW, {"answer_id": work.answer_id})).first()
        if answer is None or answer.revision != work.revision:
            return None  # edited since: the new text has its own job
        graded = (
            await session.execute(_GRADED, {"answer_id": work.answer_id, "revision": work.revision})
        ).all()
        if any(is_human(grader) for _, grader in graded):
            return None  # an admin's grade of this text stands; no machine replaces it
        earlier = [provisional for provisional, _ in graded]
        notice = _notice(earlier, grade) if work.thread is not None else None
        lease_until = None if notice is None else now + self._lease
        grade_id = await session.scalar(
            _INSERT_GRADE,
            {
                "answer_id": work.answer_id,
                "answer_revision": work.revision,
                "grader": grade.grader,
                "question_version": grade.rubric_version,
                "score": grade.score,
                "max_score": grade.max_score,
                "points": grade.points_json(),
                "feedback": grade.feedback,
                "provisional": grade.provisional,
                "flags": sorted(grade.flags),
                "usage": None if grade.usage is None else asdict(grade.usage),
                "created_at": now,
                "notice": notice,
                "notice_lease_until": lease_until,
            },
        )
        await tally.recount(
            session, round_id=answer.round_id, member_id=answer.member_id, within=work.tally_key
        )
        if grade.provisional and len(earlier) < MAX_REGRADES:
            delay = self._regrade_after * 2 ** len(earlier)
            await enqueue(session, now, answer_id=work.answer_id, delay=delay, regrade=True)
        if grade_id is None or lease_until is None:
            return None
        return Owed(grade_id, lease_until, work, grade, update=notice == UPDATE)

    async def _retry_later(self, claim: Claim, exc: Exception) -> None:
        now = self._clock.now()
        failed = claim.attempt >= MAX_ATTEMPTS
        async with self._sessions.begin() as session:
            result = await session.execute(
                _HOLDING.values(
                    status="failed" if failed else "pending",
                    run_after=now + timedelta(seconds=30 * 2 ** (claim.attempt - 1)),
                    lease_until=None,
                    last_error=f"{type(exc).__name__}: {exc}"[:2000],
                    updated_at=now,
                ),
                _claimed(claim),
            )
        if not result.rowcount:  # type: ignore[attr-defined]
            return  # another worker holds the job now
        log.warning(
            "grading job %s failed (attempt %s)%s: %s",
            claim.job_id, claim.attempt, ", giving up" if failed else ", will retry", exc,
        )  # fmt: skip


# What every grade's store runs, built once (core statements: no ORM objects on this path).
_ANSWER_NOW = (
    select(Answer.revision, Answer.round_id, Answer.member_id)
    .where(Answer.id == bindparam("answer_id"))
    .with_for_update(key_share=True)
)
_GRADED = (
    select(Grade.provisional, Grade.grader)
    .where(
        Grade.answer_id == bindparam("answer_id"), Grade.answer_revision == bindparam("revision")
    )
    .order_by(Grade.id)
)
_JOBS = GradingJob.metadata.tables[GradingJob.__tablename__]
_INSERT_JOB = insert(_JOBS)
_GRADES = Grade.metadata.tables[Grade.__tablename__]
_INSERT_GRADE = insert(_GRADES).returning(_GRADES.c.id)


def _notice(earlier: Sequence[bool], grade: GradeResult) -> str | None:
    """What a new grade owes its author, given whether each earlier grade of the same text was
    provisional: the first grade, or a real grade replacing a provisional one."""
    if not earlier:
        return FIRST
    if earlier[-1] and not grade.provisional:
        return UPDATE
    return None


_HOLDING = update(_JOBS).where(
    _JOBS.c.id == bindparam("job"),
    _JOBS.c.status == "running",
    _JOBS.c.attempts == bindparam("attempt"),
)
"""UPDATE of a job that matches only while the claim (bound with `_claimed`) is the job's
current claim."""
_FINISH = _HOLDING.values(status=bindparam("to"), lease_until=None, updated_at=bindparam("now"))


def _claimed(claim: Claim) -> dict[str, int]:
    return {"job": claim.job_id, "attempt": claim.attempt}


async def _finish(session: AsyncSession, claim: Claim, status: str, now: datetime) -> bool:
    """Close the job in the caller's transaction; False if another worker holds it now."""
    result = await session.execute(_FINISH, {**_claimed(claim), "to": status, "now": now})
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def _regrades_queued(session: AsyncSession, turn_id: int) -> int:
    """How many regrades were queued already for a mock-interview turn."""
    count = await session.scalar(
        select(func.count())
        .select_from(GradingJob)
        .where(GradingJob.turn_id == turn_id, GradingJob.regrade)
    )
    return int(count or 0)
