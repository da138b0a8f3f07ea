"""Leaderboards over periods and scopes, and the /drill commands people type."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.domain import ChannelRef
from tests.flow.harness import Harness, partial_answer, strong_answer

pytestmark = pytest.mark.asyncio

# Monday 23 November 2026; the month began on a Sunday.
MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.fixture
async def bot(database_url: str):  # type: ignore[no-untyped-def]
    harness = await Harness.start(database_url, now=MONDAY - timedelta(days=14))
    await harness.configure()
    yield harness
    await harness.stop()


async def _play_round(bot: Harness, day: datetime, answers: dict[str, str]) -> None:
    """Open the day's round, have people answer (strong/partial/weak) in order, close it."""
    await bot.tick(day)
    question = await bot.question()
    texts = {
        "strong": strong_answer(question),
        "partial": partial_answer(question),
        "weak": question.weak_answer.text,
    }
    for user_id, kind in answers.items():
        bot.clock.advance(minutes=1)
        await bot.answer(bot.platform.user(user_id, user_id.lower()), texts[kind])
    await bot.grade_all()
    await bot.tick(day + timedelta(hours=8))


def _order(body: str) -> list[str]:
    return [line.split("<@")[1].split(">")[0] for line in body.splitlines() if "<@" in line]


async def test_week_month_and_all_time_count_only_their_own_rounds(bot: Harness) -> None:
    await _play_round(bot, MONDAY - timedelta(days=14), {"OLD": "strong"})  # 9 Nov
    await _play_round(bot, MONDAY - timedelta(days=2), {"MONTH": "strong"})  # Sat 21 Nov
    await _play_round(bot, MONDAY, {"WEEK": "strong"})

    week = await bot.command("leaderboard week")
    month = await bot.command("leaderboard month")
    alltime = await bot.command("leaderboard all")
    assert week is not None and month is not None and alltime is not None
    assert _order(week.body) == ["WEEK"]
    assert sorted(_order(month.body)) == ["MONTH", "OLD", "WEEK"]
    assert sorted(_order(alltime.body)) == ["MONTH", "OLD", "WEEK"]
    assert "This week" in week.title and "All time" in alltime.title


async def test_points_add_up_across_rounds_and_ties_go_to_who_answered_first(
    bot: Harness,
) -> None:
    await _play_round(bot, MONDAY, {"LATE": "strong", "EARLY": "strong"})
    # Same score, but EARLY's first answer came later on Monday... then Tuesday decides.
    await _play_round(bot, MONDAY + timedelta(days=1), {"EARLY": "strong", "LATE": "strong"})
    board = await bot.command("leaderboard week")
    assert board is not None
    assert _order(board.body) == ["LATE", "EARLY"]  # equal points: LATE answered first
    assert "<@LATE> 20 pts · 2 rounds" in board.body

    await _play_round(bot, MONDAY + timedelta(days=2), {"EARLY": "partial", "LATE": "weak"})
    board = await bot.command("leaderboard week")
    assert board is not None and _order(board.body)[0] == "EARLY"


async def test_the_team_board_adds_up_every_channel_of_the_team(bot: Harness) -> None:
    await _play_round(bot, MONDAY, {"ADA": "strong"})
    other = ChannelRef(bot.channel.platform, bot.channel.team_id, "C2")
    await bot.app.channels.ensure(other, name="ml-platform")
    await bot.platform.command(bot.admin, other, "post")
    question = await bot.question()
    await bot.answer(bot.platform.user("BOB", "bob"), strong_answer(question))
    await bot.grade_all()

    channel_board = await bot.command("leaderboard")
    team_board = await bot.command("leaderboard team")
    assert channel_board is not None and team_board is not None
    assert _order(channel_board.body) == ["ADA"]
    assert sorted(_order(team_board.body)) == ["ADA", "BOB"]


async def test_every_board_follows_an_edit_a_replacement_and_a_withdrawal(bot: Harness) -> None:
    await bot.tick(MONDAY)
    question = await bot.question()
    ada, bob = bot.platform.user("ADA", "ada"), bot.platform.user("BOB", "bob")
    first = await bot.answer(ada, question.weak_answer.text)
    await bot.answer(bob, partial_answer(question))
    await bot.grade_all()
    assert _order(await _every_board(bot)) == ["BOB", "ADA"]

    await bot.platform.edit(ada, first, strong_answer(question))
    bot.clock.advance(seconds=61)  # graded once the edits stop
    await bot.grade_all()
    body = await _every_board(bot)
    assert _order(body) == ["ADA", "BOB"] and "<@ADA> 10 pts" in body

    second = await bot.answer(ada, "new answer: " + question.weak_answer.text)
    await bot.grade_all()
    await bot.command("replace", user=ada)  # the new attempt replaces the first
    assert _order(await _every_board(bot)) == ["BOB", "ADA"]

    await bot.platform.delete(second)  # the first counts again, with the grade of its edit
    assert "<@ADA> 10 pts" in await _every_board(bot)


async def _every_board(bot: Harness) -> str:
    """The body every leaderboard shows, checking they agree (one round: all cover it)."""
    bodies = set()
    for scope in ("", "team "):
        for period in ("week", "month", "all"):
            card = await bot.command(f"leaderboard {scope}{period}")
            assert card is not None
            bodies.add(card.body)
    assert len(bodies) == 1, bodies
    return bodies.pop()


async def test_the_team_month_counts_up_to_the_askers_today_not_a_channel_ahead(
    bot: Harness,
) -> None:
    await _play_round(bot, MONDAY, {"ADA": "strong"})  # Monday 23 November, in UTC
    ahead = ChannelRef(bot.channel.platform, bot.channel.team_id, "C-line-islands")
    await bot.app.channels.ensure(ahead, name="pacific", timezone="Pacific/Kiritimati")
    bot.clock.set(MONDAY + timedelta(hours=12))  # 21:00 UTC: already Tuesday at UTC+14
    await bot.platform.command(bot.admin, ahead, "post")
    question = await bot.question()
    for name in ("ADA", "BOB"):
        await bot.answer(bot.platform.user(name, name.lower()), strong_answer(question))
    await bot.grade_all()

    month = await bot.command("leaderboard team month")  # asked where it is still Monday
    alltime = await bot.command("leaderboard team all")
    assert month is not None and alltime is not None
    assert _order(month.body) == ["ADA"] and "<@ADA> 10 pts" in month.body
    assert _order(alltime.body) == ["ADA", "BOB"] and "· 2 rounds" in alltime.body

    bot.clock.set(MONDAY + timedelta(days=1))  # Tuesday here too
    month = await bot.command("leaderboard team month")
    assert month is not None and month.body == alltime.body


async def test_an_unknown_period_gets_a_friendly_hint(bot: Harness) -> None:
    card = await bot.command("leaderboard yesterday")
    assert card is not None and "Unknown period" in card.title


async def test_unknown_commands_get_help_not_an_error(bot: Harness) -> None:
    card = await bot.command("frobnicate now")
    assert card is not None
    assert card.title == "OpsDrill commands"
    assert "Unknown command `frobnicate`" in card.body
    assert "/drill leaderboard" in card.body


async def test_today_shows_the_open_question_or_when_the_next_one_comes(bot: Harness) -> None:
    bot.clock.set(MONDAY - timedelta(days=14, hours=1))
    card = await bot.command("today")
    assert card is not None and card.title == "No round is open right now"
    assert "opens Monday 09 November at 09:00 UTC" in card.body
    await bot.tick(MONDAY - timedelta(days=14))
    card = await bot.command("today")
    assert card is not None and card.title == "Today's MLOps question"


async def test_admin_commands_are_refused_to_members(bot: Harness) -> None:
    member = bot.platform.user("U-member", "member")
    for command in ("post", "close"):
        card = await bot.command(command, user=member)
        assert card is not None and card.title == "Admins only"
    assert bot.platform.posts() == []


async def test_admins_listed_in_settings_may_post_and_close(database_url: str) -> None:
    bot = await Harness.start(database_url, now=MONDAY, OPSDRILL_ADMINS="U-lead")
    try:
        lead = bot.platform.user("U-lead", "lead")
        card = await bot.command("post", user=lead)
        assert card is not None and card.title == "Posted today's question."
        again = await bot.command("post", user=lead)
        assert (again is not None and "already" in again.title) or "open" in again.title
        closed = await bot.command("close", user=lead)
        assert closed is not None and closed.title.startswith("Closed the round")
        assert len([s for s in bot.platform.of_kind("reply") if s.broadcast]) == 1
    finally:
        await bot.stop()


async def test_hide_me_lists_a_person_as_someone_on_boards_and_reveals(bot: Harness) -> None:
    ada, bob = bot.platform.user("ADA", "ada"), bot.platform.user("BOB", "bob")
    hid = await bot.command("leaderboard hide-me", user=ada)
    assert hid is not None and hid.title == "You're off the boards"
    await _play_round(bot, MONDAY, {"ADA": "strong", "BOB": "partial"})

    board = await bot.command("leaderboard week")
    assert board is not None
    assert "<@ADA>" not in board.body and "ADA" not in board.names
    assert "🥇 someone 10 pts" in board.body and "<@BOB>" in board.body
    [reveal] = [
        s.card for s in bot.platform.of_kind("reply")
        if s.card is not None and s.card.title == "Round closed: the model answer"
    ]  # fmt: skip
    assert "<@ADA>" not in str(reveal) and "someone" in str(reveal)
    stats = await bot.command("stats", user=ada)  # still graded, and still their own stats
    assert stats is not None and {f.label: f.value for f in stats.fields}["Points"] == "10"

    await bot.command("leaderboard show-me", user=ada)
    board = await bot.command("leaderboard week", user=bob)
    assert board is not None and "🥇 <@ADA> 10 pts" in board.body
