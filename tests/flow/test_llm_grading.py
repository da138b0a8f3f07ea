"""Grading through Claude inside the whole app: outages degrade to a provisional grade that a
later regrade replaces, and the leaderboard follows."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.fakes.anthropic_api import FakeAnthropic, status
from tests.flow.harness import Harness

pytestmark = pytest.mark.asyncio
MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


async def _bot(database_url: str, fake_anthropic: FakeAnthropic) -> Harness:
    bot = await Harness.start(
        database_url, now=MONDAY, ANTHROPIC_API_KEY="sk-test-key",
        ANTHROPIC_BASE_URL=fake_anthropic.url, OPSDRILL_GRADER_RETRIES=1, OPSDRILL_GRADER_TIMEOUT=2,
    )  # fmt: skip
    await bot.configure()
    await bot.tick()
    return bot


async def test_an_overloaded_api_gives_a_provisional_grade_then_a_regrade_replaces_it(
    database_url: str, fake_anthropic: FakeAnthropic
) -> None:
    bot = await _bot(database_url, fake_anthropic)
    try:
        question = await bot.question()
        first, second = question.rubric[0], question.rubric[1]
        text = (
            f"My plan: {first.id.replace('-', ' ')}. "
            f"Then {second.id.replace('-', ' ')}, which matters in practice."
        )
        ada = bot.platform.user("U-ada", "ada")
        fake_anthropic.fallback = status(529, "overloaded_error", {"retry-after-ms": "5"})
        await bot.answer(ada, text)
        await bot.grade_all()
        [provisional] = bot.feedback_for(ada)
        assert "provisional" in provisional.title
        assert "offline:" in provisional.footer

        fake_anthropic.fallback = None  # the API is back
        assert await bot.grade_all() == 0  # the regrade waits its turn
        bot.clock.advance(minutes=6)
        assert await bot.grade_all() == 1
        updated = bot.feedback_for(ada)[-1]
        expected = first.weight + second.weight
        assert updated.title == f"Updated grade: your answer scored {expected}/10"
        board = await bot.command("leaderboard")
        assert board is not None and f"<@U-ada> {expected} pts" in board.body
    finally:
        await bot.stop()


async def test_token_usage_is_kept_with_each_grade(
    database_url: str, fake_anthropic: FakeAnthropic
) -> None:
    from sqlalchemy import select

    from bot.storage.models import Grade

    bot = await _bot(database_url, fake_anthropic)
    try:
        for n in range(2):
            await bot.answer(bot.platform.user(f"U-{n}", f"p{n}"), "We retrain every month.")
        await bot.grade_all()
        async with bot.app.sessions() as session:
            usages = (await session.scalars(select(Grade.usage).order_by(Grade.id))).all()
        # The two calls may run at once: whichever reached the API first wrote the cache.
        assert all(u is not None for u in usages)
        assert sorted(u["cache_creation_input_tokens"] > 0 for u in usages) == [False, True]
        assert sorted(u["cache_read_input_tokens"] > 0 for u in usages) == [False, True]
        assert all(u is not None and u["output_tokens"] == 120 for u in usages)
    finally:
        await bot.stop()
