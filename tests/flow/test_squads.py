"""Squads: team against team, ranked fairly (average points per active member)."""

from __future__ import annotations

import pytest

from bot.domain import ChannelRef
from tests.flow.harness import Harness, partial_answer, strong_answer

pytestmark = pytest.mark.asyncio


async def _answers(bot: Harness, kinds: dict[str, str]) -> None:
    question = await bot.question()
    texts = {"strong": strong_answer(question), "partial": partial_answer(question)}
    for user_id, kind in kinds.items():
        await bot.answer(bot.platform.user(user_id, user_id.lower()), texts[kind])
    await bot.grade_all()


async def test_a_big_squad_does_not_win_by_headcount(bot: Harness) -> None:
    await bot.card("squad create big")
    await bot.card("squad create small")
    added = await bot.card("squad add big <@A1> <@A2> <@A3> <@A4>")
    assert "Added to `big`" in added.title
    joined = await bot.card("squad join small", "B1")
    assert joined.title == "You're in `small`"
    # Big: four members, all answer partially (more points in total); small: one strong answer.
    await _answers(bot, {"A1": "partial", "A2": "partial", "A3": "partial", "A4": "partial",
                         "B1": "strong"})  # fmt: skip

    board = await bot.card("leaderboard squads week")
    lines = board.body.splitlines()
    assert lines[0].startswith("1. small — 10 avg per active member · 1 of 1 active (100%)")
    assert lines[1].startswith("2. big — ") and "4 of 4 active (100%)" in lines[1]
    assert "average points per active member" in board.footer


async def test_participation_shows_beside_the_average_and_breaks_ties(bot: Harness) -> None:
    await bot.card("squad create idle")
    await bot.card("squad create busy")
    await bot.card("squad add idle <@I1> <@I2> <@I3>")
    await bot.card("squad add busy <@K1>")
    await _answers(bot, {"I1": "strong", "K1": "strong"})
    board = await bot.card("leaderboard squads")
    lines = board.body.splitlines()
    assert lines[0].startswith("1. busy") and "1 of 1 active (100%)" in lines[0]
    assert lines[1].startswith("2. idle") and "1 of 3 active (33%)" in lines[1]


async def test_one_squad_per_person_and_admins_alone_create_or_add(bot: Harness) -> None:
    await bot.card("squad create red")
    await bot.card("squad create blue")
    await bot.card("squad join red", "P1")
    await bot.card("squad join blue", "P1")  # moves, never in two
    listing = await bot.card("squad", "P1")
    assert "`blue` · 1 member" in listing.body and "`red` · 0 members" in listing.body
    for line in ("squad create green", "squad add red <@P1>"):
        assert (await bot.card(line, "P1")).title == "Admins only"
    assert (await bot.card("squad join nope", "P1")).title == "No squad `nope`"
    assert "Name the squad" in (await bot.card("squad create !!")).title
    assert "already exists" in (await bot.card("squad create RED")).title


async def test_without_squads_each_channel_competes_as_one(bot: Harness) -> None:
    other = ChannelRef(bot.channel.platform, bot.channel.team_id, "C2")
    await bot.app.channels.ensure(other, name="ml-platform")
    await _answers(bot, {"U1": "strong", "U2": "partial"})
    await bot.platform.command(bot.admin, other, "post")
    await _answers(bot, {"U3": "strong"})
    board = await bot.card("leaderboard squads week")
    rows = {line.split(" — ")[0][3:]: line for line in board.body.splitlines()}
    assert "1 of 1 active" in rows["#ml-platform"] and "2 of 2 active" in rows["#mlops"]
    averages = [float(line.split(" — ")[1].split(" avg")[0]) for line in rows.values()]
    assert averages == sorted(averages, reverse=True)


async def test_forget_me_takes_a_person_out_of_their_squad(bot: Harness) -> None:
    await bot.card("squad create red")
    await bot.card("squad join red", "P1")
    await bot.card("forget-me confirm", "P1")
    listing = await bot.card("squad")
    assert "`red` · 0 members" in listing.body
