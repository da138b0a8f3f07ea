"""Answers and discussion in one thread: the first reply is the answer, later ones are talk,
and a new attempt replaces the answer only when its author says so."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from adapters.console.memory import MemoryAdapter
from bot.domain import Card, Reaction, UserRef
from bot.services.replies import KEEP, REPLACE
from bot.storage.models import Answer
from tests.flow.conftest import MONDAY
from tests.flow.harness import ADMIN, Harness, partial_answer, strong_answer

pytestmark = pytest.mark.asyncio


async def _board(bot: Harness) -> str:
    return (await bot.card("leaderboard week")).body


def _prompts(bot: Harness, user: UserRef) -> list[Card]:
    return [c for c in bot.feedback_for(user) if c.title.startswith("Replace your")]


def _button(card: Card, action: str) -> tuple[str, str]:
    [button] = [b for b in card.buttons if b.action_id == action]
    return button.label, button.value


async def test_later_replies_are_discussion_and_never_change_the_score(bot: Harness) -> None:
    question = await bot.question()
    ada = bot.platform.user("U-ada", "ada")
    await bot.answer(ada, strong_answer(question))
    await bot.grade_all()
    assert "<@U-ada> 10 pts" in await _board(bot)

    talk = [
        await bot.answer(ada, "+1"),
        await bot.answer(ada, "great question, thanks"),
        await bot.answer(ada, "Bob, I would add shadow traffic before the canary, we do that"),
        await bot.answer(ada, "We retrain monthly."),
    ]
    assert await bot.grade_all() == 0
    assert "<@U-ada> 10 pts" in await _board(bot)
    assert all(bot.platform.reactions_on(m) == [] for m in talk)  # no reaction spam
    hints = [c for c in bot.feedback_for(ada) if c.title == "Only your first reply is graded"]
    assert len(hints) == 1 and "new answer:" in hints[0].body  # once per round, says how


async def test_a_very_short_first_reply_is_not_taken_as_the_answer(bot: Harness) -> None:
    question = await bot.question()
    ada = bot.platform.user("U-ada", "ada")
    await bot.answer(ada, "great question!")
    assert await bot.grade_all() == 0
    assert [c.title for c in bot.feedback_for(ada)] == ["Taken as discussion"]
    await bot.answer(ada, strong_answer(question))
    assert await bot.grade_all() == 1
    assert "<@U-ada> 10 pts" in await _board(bot)


async def test_a_short_first_reply_edited_into_an_answer_becomes_the_answer(
    bot: Harness,
) -> None:
    question = await bot.question()
    ada = bot.platform.user("U-ada", "ada")
    first = await bot.answer(ada, "hmm, thinking")
    await bot.platform.edit(ada, first, strong_answer(question))
    bot.clock.advance(seconds=61)
    assert await bot.grade_all() == 1
    assert "<@U-ada> 10 pts" in await _board(bot)


async def test_a_new_attempt_asks_first_and_replace_counts_its_grade(bot: Harness) -> None:
    question = await bot.question()
    ada = bot.platform.user("U-ada", "ada")
    await bot.answer(ada, partial_answer(question))
    await bot.grade_all()
    before = await _board(bot)
    assert "<@U-ada> 10 pts" not in before

    attempt = await bot.answer(ada, "New answer: " + strong_answer(question))
    assert bot.platform.reactions_on(attempt) == [Reaction.RECEIVED]
    await bot.settle()
    [prompt] = _prompts(bot, ada)
    assert "10/10" in prompt.body and "Lower" not in prompt.body
    assert await _board(bot) == before  # nothing changes until Ada chooses

    label, _ = _button(prompt, REPLACE)
    assert label == "Replace"
    done = await bot.platform.press(ada, bot.channel, prompt.buttons[0])
    assert done is not None and done.title == "Your new attempt counts now"
    assert "10/10" in done.body
    assert "<@U-ada> 10 pts" in await _board(bot)


async def _weaker_attempt(bot: Harness, marker: str = "new answer: ") -> tuple[UserRef, Card]:
    """Ada's 10/10 answer, graded, then a weak new attempt: Ada and the prompt she got."""
    question = await bot.question()
    ada = bot.platform.user("U-ada", "ada")
    await bot.answer(ada, strong_answer(question))
    await bot.grade_all()
    await bot.answer(ada, marker + question.weak_answer.text)
    await bot.settle()
    [prompt] = _prompts(bot, ada)
    return ada, prompt


async def test_a_downgrade_is_shown_as_one_and_keep_leaves_the_answer(bot: Harness) -> None:
    ada, prompt = await _weaker_attempt(bot, "replace: ")
    assert prompt.title == "Replace your 10/10 answer with this one?"
    assert "Lower score" in prompt.body and "down from 10/10" in prompt.body
    label, value = _button(prompt, REPLACE)
    assert label.startswith("Replace (lower")
    assert _button(prompt, KEEP)[0] == "Keep my 10/10 answer"

    kept = await bot.platform.press(ada, bot.channel, prompt.buttons[1])
    assert kept is not None and kept.title == "Kept your answer"
    assert "<@U-ada> 10 pts" in await _board(bot)
    late = await bot.card(f"replace {value}", "U-ada")  # a click on the old prompt
    assert late.title == "No new attempt is waiting"
    assert "<@U-ada> 10 pts" in await _board(bot)


async def test_nobody_else_can_replace_someone_s_answer(bot: Harness) -> None:
    _, prompt = await _weaker_attempt(bot)
    _, value = _button(prompt, REPLACE)
    assert (await bot.card(f"replace {value}", "U-bob")).title == "No new attempt is waiting"
    assert "<@U-ada> 10 pts" in await _board(bot)


async def test_an_unanswered_prompt_loses_nothing_across_a_restart(bot: Harness) -> None:
    question = await bot.question()
    ada = bot.platform.user("U-ada", "ada")
    await bot.answer(ada, partial_answer(question))
    await bot.answer(ada, "new answer: " + strong_answer(question))
    bot = await bot.restart()  # before anything was graded or anyone chose
    try:
        await bot.settle()
        assert len(_prompts(bot, ada)) == 1
        assert "<@U-ada> 10 pts" not in await _board(bot)
        done = await bot.card("replace", "U-ada")  # the command, typed later
        assert done.title == "Your new attempt counts now"
        assert "<@U-ada> 10 pts" in await _board(bot)
    finally:
        await bot.stop()


async def test_an_attempt_nobody_chose_leaves_the_answer_at_the_close(bot: Harness) -> None:
    await _weaker_attempt(bot)
    await bot.command("close")
    await bot.settle()
    assert "<@U-ada> 10 pts" in await _board(bot)
    assert (await bot.card("replace", "U-ada")).title == "No new attempt is waiting"


async def test_editing_the_first_answer_regrades_it_and_deleting_talk_changes_nothing(
    bot: Harness,
) -> None:
    question = await bot.question()
    ada = bot.platform.user("U-ada", "ada")
    first = await bot.answer(ada, question.weak_answer.text)
    talk = await bot.answer(ada, "Also curious how others handle label delay here")
    await bot.grade_all()
    assert "<@U-ada> 10 pts" not in await _board(bot)

    await bot.platform.edit(ada, first, strong_answer(question))
    await bot.platform.edit(ada, talk, "Also curious how others handle the label delay")
    bot.clock.advance(seconds=61)  # graded once the edits stop
    assert await bot.grade_all() == 1
    assert "<@U-ada> 10 pts" in await _board(bot)

    await bot.platform.delete(talk)
    assert "<@U-ada> 10 pts" in await _board(bot)
    await bot.platform.delete(first)
    assert "<@U-ada>" not in await _board(bot)


async def test_a_second_private_answer_is_a_new_attempt(bot: Harness) -> None:
    question = await bot.question()
    ada = bot.platform.user("U-ada", "ada")
    await bot.platform.answer_privately(ada, bot.thread(), strong_answer(question))
    await bot.grade_all()
    ack = await bot.platform.answer_privately(ada, bot.thread(), question.weak_answer.text)
    assert ack is not None and ack.title == "New attempt received"
    await bot.settle()
    assert "<@U-ada> 10 pts" in await _board(bot)
    assert len(_prompts(bot, ada)) == 1


async def test_the_question_card_and_help_say_the_rule(bot: Harness) -> None:
    [post] = bot.questions()
    assert post.card is not None and "first reply" in post.card.footer
    assert "new answer:" in post.card.footer and "joined" not in post.card.footer
    assert "new answer:" in (await bot.card("help")).body


# --- Discord: an answer in several messages -------------------------------------------------


@pytest.fixture
async def discord(database_url: str) -> AsyncIterator[Harness]:
    """The usual bot on a platform named discord, where answers come in parts."""
    platform = MemoryAdapter(platform="discord", admins={ADMIN})
    harness = await Harness.start(
        database_url, now=MONDAY, platform=platform, OPSDRILL_DISCORD_JOIN_WINDOW=45
    )
    await harness.configure()
    await harness.tick(MONDAY)
    yield harness
    await harness.stop()


async def _texts(bot: Harness) -> list[tuple[str, str]]:
    async with bot.app.sessions() as session:
        rows = await session.execute(select(Answer.status, Answer.text).order_by(Answer.id))
        return [(status, text) for status, text in rows.tuples()]


async def test_consecutive_parts_are_joined_and_graded_once_after_the_window(
    discord: Harness,
) -> None:
    bot = discord
    [post] = bot.questions()
    assert post.card is not None and "joined into one answer" in post.card.footer
    question = await bot.question()
    ada = bot.platform.user("U-ada", "ada")
    points = [p.phrasings[0].rstrip(".") + "." for p in question.rubric]
    parts = [" ".join(points[:1]), " ".join(points[1:2]), " ".join(points[2:])]
    await bot.answer(ada, parts[0])
    bot.clock.advance(seconds=30)
    await bot.answer(ada, parts[1])
    bot = await bot.restart()  # every part is stored as it arrives
    try:
        bot.clock.advance(seconds=30)
        await bot.answer(ada, parts[2])
        assert await bot.grade_all() == 0  # not before the window after the last part
        bot.clock.advance(seconds=46)
        assert await bot.grade_all() == 1
        assert [s for s, _ in await _texts(bot)] == ["counted", "part", "part"]
        assert (await _texts(bot))[0][1] == "\n\n".join(parts)
        await bot.settle()
        assert [c.title for c in bot.feedback_for(ada)] == ["Your answer scored 10/10"]
        assert "<@U-ada> 10 pts" in await _board(bot)

        bot.clock.advance(seconds=120)  # long after: discussion again
        await bot.answer(ada, "and that is how we did it at my last job")
        assert await bot.grade_all() == 0
    finally:
        await bot.stop()


async def test_small_talk_right_after_an_answer_is_not_joined_to_it(discord: Harness) -> None:
    bot = discord
    ada = bot.platform.user("U-ada", "ada")
    await bot.answer(ada, strong_answer(await bot.question()))
    await bot.answer(ada, "thanks, great question")
    assert [s for s, _ in await _texts(bot)] == ["counted", "discussion"]


async def test_editing_or_deleting_a_part_regrades_the_joined_answer(discord: Harness) -> None:
    bot = discord
    question = await bot.question()
    ada = bot.platform.user("U-ada", "ada")
    first = await bot.answer(ada, "We watch live precision on fresh labels every day.")
    second = await bot.answer(ada, "we rotate the on-call owner weekly.")
    bot.clock.advance(seconds=46)
    await bot.grade_all()
    await bot.platform.edit(ada, second, strong_answer(question))
    bot.clock.advance(seconds=61)
    assert await bot.grade_all() == 1
    joined = (await _texts(bot))[0][1]
    assert joined.startswith("We watch live") and joined.endswith(strong_answer(question))
    await bot.platform.delete(second)
    assert (await _texts(bot))[0][1] == "We watch live precision on fresh labels every day."
    await bot.platform.edit(ada, first, "We watch live precision on fresh labels.")
    assert (await _texts(bot))[0][1] == "We watch live precision on fresh labels."


async def test_messages_read_back_after_downtime_are_not_joined(discord: Harness) -> None:
    bot = discord
    question = await bot.question()
    ada = bot.platform.user("U-ada", "ada")
    written = bot.clock.now() - timedelta(minutes=10)
    for n, text in enumerate([strong_answer(question), "and we page the owner when it drifts"]):
        event = bot.platform.write_in_thread(ada, bot.thread(), text)  # the bot is away
        bot.platform.threads[bot.thread().message_id][-1] = dataclasses.replace(
            event, sent_at=written + timedelta(seconds=10 * n)
        )
    assert await bot.app.answers.catch_up_all("discord") == 2
    assert [s for s, _ in await _texts(bot)] == ["counted", "discussion"]
