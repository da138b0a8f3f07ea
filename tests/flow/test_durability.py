"""Nothing lost, nothing doubled: posts whose response was lost, answers sent while the bot was
away, grading leases that run out, an LLM outage, hostile text and values."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from adapters.console.memory import MemoryAdapter
from bot.domain import Reconnected
from bot.grading.base import Grade as GradeResult
from bot.questions.schema import Question
from bot.services.rounds import POST_LEASE
from bot.storage.models import Answer, Grade, GradingJob, Round
from tests.fakes.anthropic_api import FakeAnthropic, status
from tests.flow.harness import ADMIN, Harness, strong_answer

pytestmark = pytest.mark.asyncio
MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


async def _count(bot: Harness, model: type, *where: object) -> int:
    async with bot.app.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


# --- posts -----------------------------------------------------------------------------------


async def test_a_post_whose_response_was_lost_is_found_not_posted_again(database_url: str) -> None:
    platform = MemoryAdapter(admins={ADMIN}, lose_post_responses=1)
    bot = await Harness.start(database_url, now=MONDAY, platform=platform)
    try:
        await bot.configure()
        await bot.tick()  # the platform takes the post, but we never hear back
        assert len(bot.questions()) == 1
        await bot.tick(MONDAY + POST_LEASE + timedelta(seconds=1))
        assert len(bot.questions()) == 1
        async with bot.app.sessions() as session:
            rnd = (await session.scalars(select(Round))).one()
        assert rnd.status == "open" and rnd.message_id == bot.thread().message_id
        ada = bot.platform.user("U-ada", "ada")
        await bot.answer(ada, strong_answer(await bot.question()))
        await bot.settle()
        assert len(bot.feedback_for(ada)) == 1
    finally:
        await bot.stop()


async def test_a_retried_post_says_late_only_when_it_really_is(database_url: str) -> None:
    platform = MemoryAdapter(admins={ADMIN}, fail_posts=1)
    bot = await Harness.start(database_url, now=MONDAY, platform=platform)
    try:
        await bot.configure()
        await bot.tick()  # fails
        await bot.tick(MONDAY + POST_LEASE + timedelta(seconds=1))  # 2 minutes on: on time
        [post] = bot.questions()
        assert post.card is not None and "late" not in post.card.footer.lower()
    finally:
        await bot.stop()

    platform = MemoryAdapter(admins={ADMIN}, fail_posts=1)
    bot = await Harness.start(database_url, now=MONDAY + timedelta(days=1), platform=platform)
    try:
        await bot.tick()  # fails
        await bot.tick(MONDAY + timedelta(days=1, minutes=30))
        late = bot.questions()[-1]
        assert late.card is not None and "Posted late" in late.card.footer
    finally:
        await bot.stop()


async def test_a_round_given_up_as_missed_is_not_reopened_by_a_late_post(
    database_url: str,
) -> None:
    platform = MemoryAdapter(admins={ADMIN}, fail_posts=100)
    bot = await Harness.start(database_url, now=MONDAY, platform=platform)
    try:
        await bot.configure(window_minutes=60)
        await bot.tick()
        await bot.tick(MONDAY + timedelta(hours=1))  # the window ends: given up
        async with bot.app.sessions() as session:
            rnd = (await session.scalars(select(Round))).one()
        assert rnd.status == "missed"
        platform.fail_posts = 0
        await bot.app.rounds._post(rnd.id, again=True)  # a slow attempt that lands now
        async with bot.app.sessions() as session:
            assert (await session.get_one(Round, rnd.id)).status == "missed"
    finally:
        await bot.stop()


# --- answers sent while the bot was away ---------------------------------------------------


async def test_answers_written_while_the_bot_was_down_are_graded_once_after_restart(
    database_url: str,
) -> None:
    bot = await Harness.start(database_url, now=MONDAY)
    await bot.configure()
    await bot.tick()
    question = await bot.question()
    ada, bo = bot.platform.user("U-ada", "ada"), bot.platform.user("U-bo", "bo")
    await bot.answer(ada, strong_answer(question))  # heard before the crash
    await bot.app.stop()
    thread = bot.thread()
    bot.platform.write_in_thread(bo, thread, strong_answer(question))  # while it was down
    bot.clock.advance(minutes=30)
    bot = await bot.restart()
    try:
        await bot.settle()
        assert await _count(bot, Answer) == 2
        assert len(bot.feedback_for(bo)) == 1 and len(bot.feedback_for(ada)) == 1
        bot = await bot.restart()  # reading the thread again takes nothing twice
        await bot.settle()
        assert await _count(bot, Answer) == 2
        assert len(bot.feedback_for(bo)) == 1
    finally:
        await bot.stop()


async def test_a_reconnect_reads_the_open_threads_back(database_url: str) -> None:
    bot = await Harness.start(database_url, now=MONDAY)
    try:
        await bot.configure()
        await bot.tick()
        cy = bot.platform.user("U-cy", "cy")
        bot.platform.write_in_thread(cy, bot.thread(), strong_answer(await bot.question()))
        await bot.app.router.handle(Reconnected(platform="memory"))
        await bot.settle()
        assert len(bot.feedback_for(cy)) == 1
    finally:
        await bot.stop()


# --- grading leases ----------------------------------------------------------------------


async def test_a_job_whose_lease_ran_out_is_graded_and_told_once(database_url: str) -> None:
    bot = await Harness.start(database_url, now=MONDAY)
    try:
        await bot.configure()
        await bot.tick()
        ada = bot.platform.user("U-ada", "ada")
        await bot.answer(ada, strong_answer(await bot.question()))
        first = await bot.app.grading.claim()  # a worker that then stalls
        bot.clock.advance(minutes=6)
        second = await bot.app.grading.claim()  # its lease ran out: another worker takes it
        assert first is not None and second is not None and first.job_id == second.job_id
        await bot.app.grading.run(second)
        await bot.app.grading.run(first)  # the stalled worker wakes up: its grade is dropped
        assert await _count(bot, Grade) == 1
        assert len(bot.feedback_for(ada)) == 1
    finally:
        await bot.stop()


async def test_a_stalled_workers_failure_leaves_the_job_with_its_new_holder(
    database_url: str,
) -> None:
    bot = await Harness.start(database_url, now=MONDAY)
    try:
        await bot.configure()
        await bot.tick()
        await bot.answer(bot.platform.user("U-ada", "ada"), strong_answer(await bot.question()))
        grading = bot.app.grading
        stalled = await grading.claim()
        bot.clock.advance(minutes=6)
        holder = await grading.claim()
        assert stalled is not None and holder is not None
        await grading._retry_later(stalled, TimeoutError("the stalled call gave up"))
        assert await grading.claim() is None  # still the holder's: nobody grades it a third time
        await grading.run(holder)
        assert await _count(bot, Grade) == 1
    finally:
        await bot.stop()


async def test_feedback_that_could_not_be_sent_is_sent_once_later(database_url: str) -> None:
    bot = await Harness.start(database_url, now=MONDAY)
    try:
        await bot.configure()
        await bot.tick()
        ada = bot.platform.user("U-ada", "ada")
        await bot.answer(ada, strong_answer(await bot.question()))
        bot.platform.fail_replies = 1  # the platform fails just as the feedback goes out
        await bot.settle()
        assert bot.feedback_for(ada) == []
        bot.clock.advance(minutes=2)  # the sender's lease runs out
        await bot.settle()
        await bot.settle()
        assert len(bot.feedback_for(ada)) == 1
        assert "scored" in bot.feedback_for(ada)[0].title
    finally:
        await bot.stop()


class _SlowGrader:
    """The offline grader's answer, after `delay` real seconds (a long LLM call)."""

    def __init__(self, inner: object, delay: float) -> None:
        self._inner, self._delay = inner, delay
        self.id = "slow"

    async def grade(self, question: Question, answer: str) -> GradeResult:
        await asyncio.sleep(self._delay)
        return await self._inner.grade(question, answer)  # type: ignore[attr-defined, no-any-return]


async def test_a_long_grading_call_keeps_its_lease(database_url: str) -> None:
    bot = await Harness.start(database_url, now=MONDAY)
    try:
        await bot.configure()
        await bot.tick()
        ada = bot.platform.user("U-ada", "ada")
        await bot.answer(ada, strong_answer(await bot.question()))
        grading = bot.app.grading
        grading._lease = timedelta(seconds=0.3)
        grading._grader = _SlowGrader(grading._grader, 1.0)
        claim = await grading.claim()
        assert claim is not None
        running = asyncio.create_task(grading.run(claim))
        await asyncio.sleep(0.1)
        for _ in range(6):  # the clock runs far past the first lease while the call goes on
            bot.clock.advance(seconds=10)
            await asyncio.sleep(0.15)
            assert await grading.claim() is None, "a second worker took a job still being graded"
        await running
        assert await _count(bot, Grade) == 1
        assert len(bot.feedback_for(ada)) == 1
    finally:
        await bot.stop()


# --- an LLM outage during a round ----------------------------------------------------------


async def test_an_llm_outage_gives_provisional_grades_then_one_final_grade_each(
    database_url: str, fake_anthropic: FakeAnthropic
) -> None:
    bot = await Harness.start(
        database_url, now=MONDAY, ANTHROPIC_API_KEY="sk-test-key",
        ANTHROPIC_BASE_URL=fake_anthropic.url, OPSDRILL_GRADER_RETRIES=0,
        OPSDRILL_GRADER_TIMEOUT=2, OPSDRILL_REGRADE_AFTER=30,
    )  # fmt: skip
    try:
        await bot.configure()
        await bot.tick()
        fake_anthropic.fallback = status(529, "overloaded_error")
        people = [bot.platform.user(f"U-{n}", f"p{n}") for n in range(3)]
        for person in people:
            await bot.answer(person, "We retrain when drift alerts fire, after validating data.")
        await bot.settle()
        assert all("provisional" in bot.feedback_for(p)[0].title for p in people)
        fake_anthropic.fallback = None
        bot.clock.advance(seconds=31)  # OPSDRILL_REGRADE_AFTER, not 5 minutes
        await bot.settle()
        bot.clock.advance(hours=6)  # later regrades find nothing left to do
        await bot.settle()
        for person in people:
            titles = [c.title for c in bot.feedback_for(person)]
            assert len(titles) == 2 and titles[1].startswith("Updated grade")
        assert await _count(bot, Grade, Grade.provisional.is_(False)) == 3
        assert await _count(bot, GradingJob, GradingJob.status == "pending") == 0
    finally:
        await bot.stop()


# --- closing -----------------------------------------------------------------------------


class _GatedGrader:
    """Grades only once `gate` is set."""

    def __init__(self, inner: object) -> None:
        self._inner = inner
        self.id = "gated"
        self.gate = asyncio.Event()

    async def grade(self, question: Question, answer: str) -> GradeResult:
        await self.gate.wait()
        return await self._inner.grade(question, answer)  # type: ignore[attr-defined, no-any-return]


async def test_one_channels_slow_grading_does_not_hold_up_another_channels_post(
    database_url: str,
) -> None:
    bot = await Harness.start(database_url, now=MONDAY)
    try:
        await bot.configure(window_minutes=60)
        other = bot.platform.channel("C2")
        ten = datetime(2026, 1, 1, 10).time()
        await bot.app.channels.ensure(
            other, name="two", post_time=ten, timezone="UTC", weekdays="daily", window_minutes=60
        )
        await bot.tick()
        await bot.answer(bot.platform.user("U-ada", "ada"), strong_answer(await bot.question()))
        gated = _GatedGrader(bot.app.grading._grader)
        bot.app.grading._grader = gated
        bot.clock.set(MONDAY + timedelta(hours=1))  # C1 closes; C2 opens
        await asyncio.wait_for(bot.app.scheduler.sweep(), timeout=5)
        assert [p.message.channel.channel_id for p in bot.questions() if p.message] == ["C1", "C2"]
        assert not [r for r in bot.platform.of_kind("reply") if r.broadcast]  # no reveal yet
        gated.gate.set()
        await bot.app.background.idle()
        [reveal] = [r for r in bot.platform.of_kind("reply") if r.broadcast]
        assert reveal.card is not None and "ada" in str(reveal.card)
    finally:
        await bot.stop()


# --- hostile text and values -------------------------------------------------------------


async def test_an_answer_with_nul_bytes_and_lone_surrogates_is_stored_and_graded(
    database_url: str,
) -> None:
    bot = await Harness.start(database_url, now=MONDAY)
    try:
        await bot.configure()
        await bot.tick()
        ada = bot.platform.user("U-ada", "ad\x00a")
        text = "Retrain\x00 on drift \ud800 signals. " + strong_answer(await bot.question())
        await bot.answer(ada, text)
        await bot.settle()
        [feedback] = bot.feedback_for(ada)
        assert "scored" in feedback.title
        async with bot.app.sessions() as session:
            stored = (await session.scalars(select(Answer.text))).one()
        assert "\x00" not in stored and "\ufffd" in stored
    finally:
        await bot.stop()


@pytest.mark.parametrize("value", ["99999999999h", "9" * 400 + "m", "1000000h"])
async def test_an_absurd_window_gets_a_clear_message(database_url: str, value: str) -> None:
    bot = await Harness.start(database_url, now=MONDAY)
    try:
        await bot.configure()
        card = await bot.command(f"window {value}")
        assert card is not None and card.title == "Window not changed"
        assert "24 hours" in card.body
    finally:
        await bot.stop()
