"""`/drill stats` and `/drill forget-me`: a person's own numbers, and deleting them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.domain import ChannelRef, MessageRef
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


async def test_a_streak_counts_days_across_channels_and_skips_days_without_rounds(
    bot: Harness,
) -> None:
    ada = bot.platform.user("U-ada", "ada")
    other = ChannelRef(bot.channel.platform, bot.channel.team_id, "C2")
    await bot.app.channels.ensure(other, name="ml-platform", weekdays="daily")

    async def play(day: int, where: list[str]) -> None:
        await bot.tick(MONDAY + timedelta(days=day))
        for channel_id in where:
            thread = _thread_in(bot, channel_id)
            question = await bot.app.views.question_for_thread(thread)
            assert question is not None
            await bot.platform.answer(ada, thread, strong_answer(question))
        await bot.grade_all()
        await bot.tick(MONDAY + timedelta(days=day, hours=8))

    async def streak() -> str:
        card = await bot.command("stats", user=ada)
        assert card is not None
        return {f.label: f.value for f in card.fields}["Streak"]

    await play(0, ["C1"])
    await play(1, ["C2"])  # the other channel's round that day: the day still counts
    await play(2, ["C1", "C2"])
    assert await streak() == "3 (best 3)"

    for channel in (bot.channel, other):  # two days without rounds anywhere
        await bot.platform.command(bot.admin, channel, "pause")
    await bot.tick(MONDAY + timedelta(days=3, hours=9))
    await bot.tick(MONDAY + timedelta(days=4, hours=9))
    for channel in (bot.channel, other):
        await bot.platform.command(bot.admin, channel, "resume")
    await play(5, ["C2"])
    assert await streak() == "4 (best 4)"

    await play(7, ["C1"])  # the bot was down all of day 6: no round ran, nothing breaks
    assert await streak() == "5 (best 5)"

    await play(8, [])  # rounds ran and closed unanswered: the streak ends
    assert await streak() == "0 (best 5)"


def _thread_in(bot: Harness, channel_id: str) -> MessageRef:
    posts = [p for p in bot.questions() if p.message and p.message.channel.channel_id == channel_id]
    assert posts, f"no question in {channel_id}"
    message = posts[-1].message
    assert message is not None
    return message


async def test_one_topic_is_not_both_strongest_and_to_work_on(bot: Harness) -> None:
    await _day(bot, 0, "strong")
    card = await bot.command("stats", user=bot.platform.user("U-ada", "ada"))
    assert card is not None
    fields = {f.label: f.value for f in card.fields}
    assert "/10" in fields["Strongest topics"]
    assert "/10" not in fields["Topics to work on"] and "more topics" in fields["Topics to work on"]


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


async def test_team_stats_name_the_teams_strongest_and_weakest_topics(bot: Harness) -> None:
    await _day(bot, 0, "strong")
    await _day(bot, 1, "weak")
    card = await bot.command("stats team", user=bot.platform.user("U-bob", "bob"))
    assert card is not None and card.title == "Team topics · last 4 weeks"
    lines = card.body.splitlines()
    assert lines[0].startswith("Strongest: ")
    assert "/drill mock " in lines[1] or "more topics" in lines[1]
    assert sum(1 for line in lines if line.startswith("• ")) >= 1
    assert "answer" in card.body and "/10" in card.body


async def test_team_stats_before_any_answer_say_so(bot: Harness) -> None:
    card = await bot.command("stats team")
    assert card is not None and "No graded round answers" in card.body
