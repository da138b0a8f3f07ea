"""`/drill stats` and `/drill forget-me`: a person's own numbers, and deleting them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.flow.harness import Harness, strong_answer

pytestmark = pytest.mark.asyncio
MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.fixture
async def bot(database_url: str):  # type: ignore[no-untyped-def]
    harness = await Harness.start(database_url, now=MONDAY)
    await harness.configure()
    yield harness
    await harness.stop()


async def _day(bot: Harness, day: int, answer: str | None) -> None:
    """Play day `day`: `answer` is "strong", "weak" or None (skips the round)."""
    await bot.tick(MONDAY + timedelta(days=day))
    question = await bot.question()
    if answer is not None:
        text = strong_answer(question) if answer == "strong" else question.weak_answer.text
        await bot.answer(bot.platform.user("U-ada", "ada"), text)
    await bot.grade_all()
    await bot.tick(MONDAY + timedelta(days=day, hours=8))


async def test_stats_show_points_streak_and_topics(bot: Harness) -> None:
    for day, answer in enumerate(["strong", None, "strong", "weak", "strong"]):
        await _day(bot, day, answer)
    card = await bot.command("stats", user=bot.platform.user("U-ada", "ada"))
    assert card is not None
    fields = {f.label: f.value for f in card.fields}
    assert fields["Rounds answered"] == "4"
    assert fields["Streak"] == "3 (best 3)"
    assert "/10" in fields["Strongest topics"] and "/10" in fields["Topics to work on"]


async def test_an_open_round_not_yet_answered_does_not_break_the_streak(bot: Harness) -> None:
    await _day(bot, 0, "strong")
    await _day(bot, 1, "strong")
    await bot.tick(MONDAY + timedelta(days=2))  # today's round is open, not answered yet
    card = await bot.command("stats", user=bot.platform.user("U-ada", "ada"))
    assert card is not None and {f.label: f.value for f in card.fields}["Streak"] == "2 (best 2)"


async def test_stats_for_someone_new_say_how_to_start(bot: Harness) -> None:
    card = await bot.command("stats", user=bot.platform.user("U-new", "new"))
    assert card is not None and "No answers yet" in card.body


async def test_forget_me_asks_first_then_deletes_everything(bot: Harness) -> None:
    await _day(bot, 0, "strong")
    ada = bot.platform.user("U-ada", "ada")
    ask = await bot.command("forget-me", user=ada)
    assert ask is not None and "forget-me confirm" in ask.body
    board = await bot.command("leaderboard all")
    assert board is not None and "<@U-ada>" in board.body

    done = await bot.command("forget-me confirm", user=ada)
    assert done is not None and "Removed 1 answer(s)" in done.body
    board = await bot.command("leaderboard all")
    assert board is not None and "<@U-ada>" not in board.body
    stats = await bot.command("stats", user=ada)
    assert stats is not None and "No answers yet" in stats.body
