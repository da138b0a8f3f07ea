"""A burst of answers graded by Claude: as many calls at once as OPSDRILL_LLM_CONCURRENCY
allows and never more, every author told once; feedback held up by the platform stays with its
sender, past its lease, and is not sent a second time by another worker."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from adapters.console.memory import MemoryAdapter
from bot.domain import Card, MessageRef, UserRef
from bot.services.feedback import Receipts
from bot.services.grading import GradingService
from bot.services.messenger import Messenger
from bot.storage.models import Answer, Grade, Member
from tests.fakes.anthropic_api import FakeAnthropic
from tests.flow.harness import ADMIN, Harness, strong_answer

pytestmark = pytest.mark.asyncio
MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


async def _answered(bot: Harness, count: int) -> list[UserRef]:
    """Start today's round and have `count` people answer it well."""
    await bot.configure()
    await bot.tick()
    text = strong_answer(await bot.question())
    people = [bot.platform.user(f"U-{n}", f"p{n}") for n in range(count)]
    for person in people:
        await bot.answer(person, text)
    return people


async def _until_told(bot: Harness, people: list[UserRef], *, timeout: float = 10) -> None:  # noqa: ASYNC109
    async with asyncio.timeout(timeout):
        while not all(bot.feedback_for(p) for p in people):  # noqa: ASYNC110
            await asyncio.sleep(0.02)


async def test_llm_calls_in_flight_never_exceed_the_configured_concurrency(
    database_url: str, fake_anthropic: FakeAnthropic
) -> None:
    fake_anthropic.latency = 0.2
    bot = await Harness.start(
        database_url, now=MONDAY, workers=True, ANTHROPIC_API_KEY="sk-test-key",
        ANTHROPIC_BASE_URL=fake_anthropic.url, OPSDRILL_LLM_CONCURRENCY=4,
    )  # fmt: skip
    try:
        people = await _answered(bot, 12)
        await _until_told(bot, people)
        assert fake_anthropic.peak == 4
        assert len(fake_anthropic.requests) == 12
        await bot.app.grading.feedback.idle()
        assert all(len(bot.feedback_for(p)) == 1 for p in people)
    finally:
        await bot.stop()


class _HeldUp(MemoryAdapter):
    """A platform whose replies wait until `gate` opens, as behind a long rate-limit queue."""

    def __init__(self, **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self.gate = asyncio.Event()

    async def reply(
        self, parent: MessageRef, card: Card, *, private_to: UserRef | None = None,
        broadcast: bool = False,
    ) -> MessageRef | None:  # fmt: skip
        await self.gate.wait()
        return await super().reply(parent, card, private_to=private_to, broadcast=broadcast)


async def test_feedback_held_up_past_its_lease_is_not_sent_again_by_another_worker(
    database_url: str,
) -> None:
    platform = _HeldUp(admins={ADMIN})
    bot = await Harness.start(database_url, now=MONDAY, platform=platform, OPSDRILL_GRADING_LEASE=1)
    try:
        await bot.configure()
        await bot.tick()
        ada = platform.user("U-ada", "ada")
        await bot.answer(ada, strong_answer(await bot.question()))
        grading = asyncio.create_task(bot.app.grading.drain())  # its feedback waits at the gate
        await asyncio.sleep(0.2)
        bot.clock.advance(seconds=5)  # far past the first lease
        await asyncio.sleep(0.6)  # the sender renews it meanwhile (every third of a lease)

        other_platform = MemoryAdapter(admins={ADMIN})
        other = GradingService(  # a second replica, on the same database
            sessions=bot.app.sessions, clock=bot.clock, grader=bot.app.grading._grader,
            messenger=Messenger({"memory": other_platform}), lease=timedelta(seconds=1),
        )  # fmt: skip
        await other.drain()
        assert other_platform.sent == []

        platform.gate.set()
        await grading
        assert len(bot.feedback_for(ada)) == 1
    finally:
        platform.gate.set()
        await bot.stop()


async def _refuse_grades_of(bot: Harness, answer_id: int | None) -> None:
    """Make the database itself refuse to store a grade of `answer_id` (None: stop refusing),
    as a failing disk or a constraint would."""
    postgres = bot.app.engine.dialect.name == "postgresql"
    async with bot.app.engine.begin() as conn:
        if answer_id is None:
            await conn.execute(
                text("DROP TRIGGER refuse_grade" + (" ON grades" if postgres else ""))
            )
            return
        if postgres:
            await conn.execute(text(
                "CREATE FUNCTION refuse_grade() RETURNS trigger AS $$ BEGIN "
                f"IF NEW.answer_id = {answer_id} THEN RAISE EXCEPTION 'refused'; END IF; "
                "RETURN NEW; END $$ LANGUAGE plpgsql"
            ))  # fmt: skip
            await conn.execute(text(
                "CREATE TRIGGER refuse_grade BEFORE INSERT ON grades "
                "FOR EACH ROW EXECUTE FUNCTION refuse_grade()"
            ))  # fmt: skip
        else:
            await conn.execute(text(
                "CREATE TRIGGER refuse_grade BEFORE INSERT ON grades "
                f"WHEN NEW.answer_id = {answer_id} BEGIN SELECT RAISE(ABORT, 'refused'); END"
            ))  # fmt: skip


async def test_a_grade_that_cannot_be_stored_does_not_hold_back_those_graded_with_it(
    database_url: str,
) -> None:
    """Grades that finish together are stored in one transaction; when one of them cannot be
    stored, the others still are, and their authors get their feedback; the refused one is
    graded again once its lease runs out."""
    bot = await Harness.start(database_url, now=MONDAY, OPSDRILL_GRADING_LEASE=1)
    try:
        people = await _answered(bot, 5)
        async with bot.app.sessions() as session:
            refused = await session.scalar(
                select(Answer.id).join(Member).where(Member.external_id == "U-2")
            )
        await _refuse_grades_of(bot, refused)
        with pytest.raises(DBAPIError, match="refused"):
            await bot.grade_all()
        await bot.app.grading.feedback.idle()
        told = [p for p in people if bot.feedback_for(p)]
        assert told == [p for p in people if p.user_id != "U-2"]

        await _refuse_grades_of(bot, None)
        bot.clock.advance(seconds=5)  # past the refused job's lease
        await bot.settle()
        assert [len(bot.feedback_for(p)) for p in people] == [1] * 5
    finally:
        await bot.stop()


async def test_a_notice_is_recorded_as_sent_only_under_a_lease_that_still_holds_it(
    database_url: str,
) -> None:
    """A sender whose lease was taken over cannot mark the notice sent: the worker that holds
    it now still owes it."""
    platform = _HeldUp(admins={ADMIN})
    bot = await Harness.start(database_url, now=MONDAY, platform=platform)
    try:
        await bot.configure()
        await bot.tick()
        await bot.answer(platform.user("U-ada", "ada"), strong_answer(await bot.question()))
        grading = asyncio.create_task(bot.app.grading.drain())  # its feedback waits at the gate
        async with asyncio.timeout(10):
            while True:
                async with bot.app.sessions() as session:
                    owed = (
                        await session.execute(select(Grade.id, Grade.notice_lease_until))
                    ).first()
                if owed is not None:
                    break
                await asyncio.sleep(0.02)
        grade_id, lease = owed
        receipts = Receipts(bot.app.sessions)
        assert not await receipts.clear(grade_id, [lease - timedelta(minutes=1)])
        assert await receipts.clear(grade_id, [lease])
        async with bot.app.sessions() as session:
            assert await session.scalar(select(Grade.notice).where(Grade.id == grade_id)) is None
        platform.gate.set()
        await grading
    finally:
        platform.gate.set()
        await bot.stop()
