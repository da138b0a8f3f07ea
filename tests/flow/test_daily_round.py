"""A daily round as a team lives it: posted on schedule, answered, graded, closed, ranked."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from bot.domain import Reaction
from tests.flow.harness import Harness, partial_answer, strong_answer

pytestmark = pytest.mark.asyncio

MONDAY_0800 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


@pytest.fixture
async def bot(database_url: str):  # type: ignore[no-untyped-def]
    harness = await Harness.start(database_url, now=MONDAY_0800)
    yield harness
    await harness.stop()


async def test_question_is_posted_at_the_scheduled_time_and_not_before(bot: Harness) -> None:
    await bot.configure()
    await bot.tick(MONDAY_0800 + timedelta(minutes=59))
    assert bot.platform.posts() == []

    await bot.tick(MONDAY_0800 + timedelta(hours=1))
    [post] = bot.platform.posts()
    assert post.card is not None and post.card.title == "Today's MLOps question"
    assert post.card.deadline == datetime(2026, 11, 23, 17, 0, tzinfo=UTC)
    assert any(b.label == "Answer privately" for b in post.card.buttons)


async def test_whole_round_answers_get_scored_feedback_and_the_reveal_ranks_them(
    bot: Harness,
) -> None:
    await bot.configure()
    await bot.tick(MONDAY_0800 + timedelta(hours=1))
    question = await bot.question()
    ada, bob = bot.platform.user("U-ada", "ada"), bot.platform.user("U-bob", "bob")
    ada_msg = await bot.answer(ada, strong_answer(question))
    await bot.answer(bob, partial_answer(question))
    assert bot.platform.reactions_on(ada_msg) == [Reaction.RECEIVED]

    assert await bot.grade_all() == 2
    [ada_feedback] = bot.feedback_for(ada)
    [bob_feedback] = bot.feedback_for(bob)
    assert ada_feedback.title.startswith("Your answer scored 10/10")
    assert "A strong answer adds" in bob_feedback.fields[0].value
    assert Reaction.GRADED in bot.platform.reactions_on(ada_msg)

    await bot.tick(MONDAY_0800 + timedelta(hours=9))  # 17:00, the window ends
    reveal = [s for s in bot.platform.of_kind("reply") if s.broadcast]
    assert len(reveal) == 1 and reveal[0].card is not None
    assert reveal[0].card.body == question.model_answer.strip()
    standings = reveal[0].card.fields[1].value
    assert standings.index("<@U-ada>") < standings.index("<@U-bob>")


async def test_an_answer_after_close_is_politely_refused_and_not_counted(bot: Harness) -> None:
    await bot.configure()
    await bot.tick(MONDAY_0800 + timedelta(hours=1))
    ada = bot.platform.user("U-ada", "ada")
    await bot.tick(MONDAY_0800 + timedelta(hours=9))

    late = await bot.answer(ada, "Retrain when the metric drops below the agreed threshold.")
    [notice] = bot.feedback_for(ada)
    assert notice.title == "This round is closed"
    assert bot.platform.reactions_on(late) == [Reaction.REJECTED]
    board = await bot.command("leaderboard week")
    assert board is not None and "<@U-ada>" not in board.body


async def test_an_edit_before_close_replaces_the_answer_and_its_grade(bot: Harness) -> None:
    await bot.configure()
    await bot.tick(MONDAY_0800 + timedelta(hours=1))
    question = await bot.question()
    ada = bot.platform.user("U-ada", "ada")
    message = await bot.answer(ada, question.weak_answer.text)
    await bot.grade_all()
    await bot.platform.edit(ada, message, strong_answer(question))
    assert await bot.grade_all() == 0  # graded once the edits stop
    bot.clock.advance(seconds=61)
    assert await bot.grade_all() == 1

    titles = [c.title for c in bot.feedback_for(ada)]
    assert titles[-1].startswith("Your answer scored 10/10")
    board = await bot.command("leaderboard week")
    assert board is not None and "<@U-ada> 10 pts" in board.body


async def test_deleting_a_replacement_makes_the_replaced_answer_count_again(
    bot: Harness,
) -> None:
    await bot.configure()
    await bot.tick(MONDAY_0800 + timedelta(hours=1))
    question = await bot.question()
    ada = bot.platform.user("U-ada", "ada")
    await bot.answer(ada, strong_answer(question))
    second = await bot.answer(ada, "new answer: " + question.weak_answer.text)
    await bot.grade_all()
    await bot.command("replace", user=ada)
    board = await bot.command("leaderboard week")
    assert board is not None and "<@U-ada> 10 pts" not in board.body

    await bot.platform.delete(second)
    board = await bot.command("leaderboard week")
    assert board is not None and "<@U-ada> 10 pts" in board.body


async def test_a_platform_retry_of_the_same_event_is_stored_once(bot: Harness) -> None:
    await bot.configure()
    await bot.tick(MONDAY_0800 + timedelta(hours=1))
    ada = bot.platform.user("U-ada", "ada")
    thread = bot.thread()
    message, _ = await bot.platform.answer(
        ada, thread, "the first delivery of an answer", event_id="Ev1"
    )
    from bot.domain import AnswerPosted

    retry = AnswerPosted(
        event_id="Ev1", message=message, thread=thread, author=ada, author_name="ada",
        text="the first delivery of an answer",
    )  # fmt: skip
    assert await bot.app.router.handle(retry) is None
    assert await bot.grade_all() == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [("   ", "Your answer is empty"), ("x" * 5000, "the limit is 4,000")],
)
async def test_empty_or_huge_answers_get_a_clear_message_and_are_not_graded(
    bot: Harness, text: str, expected: str
) -> None:
    await bot.configure()
    await bot.tick(MONDAY_0800 + timedelta(hours=1))
    ada = bot.platform.user("U-ada", "ada")
    await bot.answer(ada, text)
    [notice] = bot.feedback_for(ada)
    assert expected in notice.body
    assert await bot.grade_all() == 0


async def test_a_private_answer_is_acknowledged_privately_and_counts(bot: Harness) -> None:
    await bot.configure()
    await bot.tick(MONDAY_0800 + timedelta(hours=1))
    question = await bot.question()
    ada = bot.platform.user("U-ada", "ada")
    ack = await bot.platform.answer_privately(ada, bot.thread(), strong_answer(question))
    assert ack is not None and ack.title == "Answer received"
    assert bot.platform.of_kind("react") == []
    await bot.grade_all()
    board = await bot.command("leaderboard")
    assert board is not None and "<@U-ada> 10 pts" in board.body


async def test_a_burst_of_answers_is_stored_and_graded_by_the_background_workers(
    database_url: str,
) -> None:
    bot = await Harness.start(
        database_url, now=MONDAY_0800 + timedelta(hours=1), workers=True,
        OPSDRILL_GRADING_WORKERS=3,
    )  # fmt: skip
    try:
        await bot.configure()
        await bot.tick()
        question = await bot.question()
        people = [bot.platform.user(f"U-{n}", f"p{n}") for n in range(25)]
        await asyncio.gather(*(bot.answer(p, strong_answer(question)) for p in people))
        for _ in range(200):
            if all(bot.feedback_for(p) for p in people):
                break
            await asyncio.sleep(0.05)
        assert all(bot.feedback_for(p)[0].title.startswith("Your answer scored") for p in people)
    finally:
        await bot.stop()
