"""A human in the loop: admins regrade answers (`/drill grade`), see the history (`/drill
audit`), and members contest a grade (`/drill contest`)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.services.grading import enqueue
from bot.services.review import _message_id
from bot.storage.models import Answer, Grade
from tests.flow.harness import Harness, partial_answer

pytestmark = pytest.mark.asyncio


async def _answered(bot: Harness, user_id: str) -> float:
    """`user_id` answers today's question with a partial answer; its machine score."""
    user = bot.platform.user(user_id, user_id.lower())
    await bot.answer(user, partial_answer(await bot.question()))
    await bot.settle()
    board = await bot.card("leaderboard week")
    line = next(line for line in board.body.splitlines() if f"<@{user_id}>" in line)
    return float(line.split("> ")[1].split(" pts")[0])


async def test_an_admin_regrade_counts_is_explained_to_the_person_and_audited(
    bot: Harness,
) -> None:
    machine = await _answered(bot, "ADA")
    assert machine < 9

    done = await bot.card("grade <@ADA|ada> 9 explained canary rollback with concrete metrics")
    assert "Grade changed" in done.title and f"{machine:g}/10 → 9/10" in done.body

    board = await bot.card("leaderboard week")
    assert "<@ADA> 9 pts" in board.body
    [told] = bot.dms(bot.platform.user("ADA", "ada"))
    assert "9/10" in told.body and f"was {machine:g}/10" in told.body
    assert "explained canary rollback" in told.body

    history = await bot.card("audit <@ADA>")
    assert "offline:" in history.body and f"{machine:g} → 9/10" in history.body
    assert "<@U-admin>" in history.body and "why: explained canary rollback" in history.body
    async with bot.app.sessions() as session:
        human = (
            await session.execute(select(Grade).where(Grade.grader.like("human:%")))
        ).scalar_one()
    assert (human.grader, human.score, human.previous_score) == ("human:U-admin", 9, machine)


async def test_a_later_machine_regrade_does_not_replace_the_admins_grade(bot: Harness) -> None:
    await _answered(bot, "ADA")
    await bot.card("grade <@ADA> 2 copied from the model answer")
    async with bot.app.sessions.begin() as session:
        answer_id = (await session.execute(select(Answer.id))).scalar_one()
        await enqueue(session, bot.clock.now(), answer_id=answer_id, regrade=True)
    await bot.settle()
    board = await bot.card("leaderboard week")
    assert "<@ADA> 2 pts" in board.body


async def test_members_cannot_grade_or_audit(bot: Harness) -> None:
    await _answered(bot, "ADA")
    for line in ("grade <@ADA> 10 self-service", "audit", "audit <@ADA>"):
        refused = await bot.card(line, user_id="ADA")
        assert refused.title == "Admins only", line
    board = await bot.card("leaderboard week")
    assert "<@ADA> 10 pts" not in board.body


async def test_a_contest_is_queued_for_the_admins_until_one_regrades_the_answer(
    bot: Harness,
) -> None:
    await _answered(bot, "ADA")
    queued = await bot.card("contest I covered shadow traffic in my second sentence", "ADA")
    assert queued.title == "Sent to the admins"
    open_list = await bot.card("audit")
    assert "<@ADA>" in open_list.body and "covered shadow traffic" in open_list.body

    await bot.card("grade ada 7 fair point, partial credit for shadow traffic")
    settled = await bot.card("audit")
    assert "<@ADA>" not in settled.body and "None open" in settled.body
    history = await bot.card("audit <@ADA>")
    assert "contested" in history.body and "(resolved)" in history.body


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("grade", "Regrade an answer"),
        ("grade <@ADA> 7", "Regrade an answer"),
        ("grade <@ADA> eleven good", "is not a score"),
        ("grade <@ADA> 11 good", "is not a score"),
        ("grade <@NOBODY> 5 good", "I don't know"),
        ("grade https://x.slack.com/archives/C1/p1700000000123456 5 good", "No answer at that"),
    ],
)
async def test_bad_regrade_requests_get_a_clear_answer_and_change_nothing(
    bot: Harness, line: str, expected: str
) -> None:
    machine = await _answered(bot, "ADA")
    card = await bot.card(line)
    assert expected in card.title + card.body
    board = await bot.card("leaderboard week")
    assert f"<@ADA> {machine:g} pts" in board.body


async def test_contesting_without_an_answer_or_a_reason_is_explained(bot: Harness) -> None:
    assert (await bot.card("contest", "ADA")).title == "Contest a grade"
    nothing = await bot.card("contest the grader is unfair", "ADA")
    assert nothing.title == "Nothing to contest here"


async def test_answer_links_name_the_message_on_each_platform() -> None:
    slack = "<https://acme.slack.com/archives/C1/p1700000000123456?thread_ts=1700000000.000100>"
    assert _message_id(slack) == "1700000000.123456"
    assert _message_id("https://discord.com/channels/1/2/1234567890123") == "1234567890123"
    assert _message_id("https://example.com/nothing-here") is None
