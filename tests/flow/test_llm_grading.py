"""Grading through Claude inside the whole app: outages degrade to a provisional grade that a
later regrade replaces, and the leaderboard follows."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bot.domain import ChannelRef
from bot.grading.base import Flag
from bot.storage.models import Grade
from tests.fakes.anthropic_api import FakeAnthropic, status
from tests.flow.harness import Harness

pytestmark = pytest.mark.asyncio
MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


async def _bot(database_url: str, fake_anthropic: FakeAnthropic, **env: object) -> Harness:
    bot = await Harness.start(
        database_url, now=MONDAY, ANTHROPIC_API_KEY="sk-test-key",
        ANTHROPIC_BASE_URL=fake_anthropic.url, OPSDRILL_GRADER_RETRIES=1, OPSDRILL_GRADER_TIMEOUT=2,
        **env,
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


async def test_twenty_quick_edits_cost_one_llm_call_after_the_edits_stop(
    database_url: str, fake_anthropic: FakeAnthropic
) -> None:
    bot = await _bot(database_url, fake_anthropic)
    try:
        ada = bot.platform.user("U-ada", "ada")
        message = await bot.answer(ada, "We retrain every month.")
        await bot.grade_all()
        calls = len(fake_anthropic.requests)
        for n in range(20):
            bot.clock.advance(seconds=10)
            await bot.platform.edit(ada, message, f"We retrain every month, draft {n}.")
            await bot.grade_all()
        assert len(fake_anthropic.requests) == calls  # still editing: nothing graded yet
        bot.clock.advance(seconds=61)
        assert await bot.grade_all() == 1
        assert len(fake_anthropic.requests) == calls + 1
        assert "draft 19" in fake_anthropic.requests[-1].body["messages"][0]["content"]
    finally:
        await bot.stop()


async def test_past_the_daily_cap_a_persons_answers_get_the_offline_grade_marked_as_such(
    database_url: str, fake_anthropic: FakeAnthropic
) -> None:
    bot = await _bot(database_url, fake_anthropic, OPSDRILL_ROUND_DAILY_CAP=1)
    try:
        ada = bot.platform.user("U-ada", "ada")
        await bot.answer(ada, "We retrain every month.")
        await bot.grade_all()
        assert len(fake_anthropic.requests) == 1
        assert "anthropic:" in bot.feedback_for(ada)[-1].footer

        other = ChannelRef(bot.channel.platform, bot.channel.team_id, "C2")
        await bot.app.channels.ensure(other, name="ml-platform")
        await bot.platform.command(bot.admin, other, "post")
        await bot.answer(ada, "We retrain every month, and on drift.")  # the day's second
        await bot.answer(bot.platform.user("U-bob", "bob"), "We retrain weekly.")
        await bot.grade_all()
        assert len(fake_anthropic.requests) == 2  # Bob's; Ada's went offline
        capped = bot.feedback_for(ada)[-1]
        assert "offline:" in capped.footer and "today's share" in str(capped.fields)
        async with bot.app.sessions() as session:
            # In the order the answers came (the last two are graded side by side).
            flags = (await session.scalars(select(Grade.flags).order_by(Grade.answer_id))).all()
        assert [Flag.DAILY_CAP.value in f for f in flags] == [False, True, False]
    finally:
        await bot.stop()


async def test_a_cap_of_zero_grades_every_round_answer_offline(
    database_url: str, fake_anthropic: FakeAnthropic
) -> None:
    bot = await _bot(database_url, fake_anthropic, OPSDRILL_ROUND_DAILY_CAP=0)
    try:
        ada = bot.platform.user("U-ada", "ada")
        await bot.answer(ada, "We retrain every month.")
        await bot.grade_all()
        assert fake_anthropic.requests == []
        assert "offline:" in bot.feedback_for(ada)[-1].footer
    finally:
        await bot.stop()


async def test_quoted_words_in_feedback_ping_nobody(
    database_url: str, fake_anthropic: FakeAnthropic
) -> None:
    bot = await _bot(database_url, fake_anthropic)
    try:
        point = (await bot.question()).rubric[0]
        pings = "<!here> @everyone <@U0BOSS1> <@&987654> <!subteam^S1|@oncall>"
        text = f"Hey {pings}: my plan is {point.id.replace('-', ' ')}."
        ada = bot.platform.user("U-ada", "ada")
        await bot.answer(ada, text)
        await bot.grade_all()
        [feedback] = bot.feedback_for(ada)
        assert "you said:" in feedback.body  # the sentence with the pings is quoted back
        for ping in ("<!here>", "@everyone", "<@U0BOSS1>", "<@&987654>", "<!subteam"):
            assert ping not in feedback.body
        assert "everyone" in feedback.body and "U0BOSS1" in feedback.body  # the words stay
    finally:
        await bot.stop()
