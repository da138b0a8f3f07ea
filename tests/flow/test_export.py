"""Your data: `/drill export` (JSON by DM), `/drill export channel` (admins, CSV)."""

from __future__ import annotations

import csv
import io
import json

import pytest

from tests.flow.harness import Harness, strong_answer

pytestmark = pytest.mark.asyncio


async def test_export_sends_everything_stored_about_the_person_as_json(bot: Harness) -> None:
    ada = bot.platform.user("ADA", "ada")
    await bot.answer(ada, strong_answer(await bot.question()))
    await bot.grade_all()
    await bot.card("squad create red")
    await bot.card("squad join red", "ADA")
    await bot.card("contest the second point was there", "ADA")
    await bot.mock(ada, "monitoring 1")
    await bot.dm(ada, "I would compare the live metric with its baseline.")

    reply = await bot.card("export", "ADA")
    assert reply.title == "On its way"
    await bot.app.background.idle()
    [(name, content)] = bot.platform.files_to(ada)
    assert name == "opsdrill-my-data.json"
    data = json.loads(content)
    assert data["format"] == "opsdrill-export/1" and data["user"] == "ADA"
    [answer] = data["answers"]
    assert answer["text"] == strong_answer(await bot.question())
    [grade] = answer["grades"]
    assert grade["score"] == 10 and {p["point_id"] for p in grade["points"]}
    assert all("verdict" in p for p in grade["points"])
    assert answer["contest"]["reason"] == "the second point was there"
    assert data["squad"] == "red"
    [interview] = data["interviews"]
    assert interview["turns"][0]["answers"] == [
        "I would compare the live metric with its baseline."
    ]
    other = bot.platform.user("BOB", "bob")
    await bot.card("export", "BOB")
    await bot.app.background.idle()
    [(_, nothing)] = bot.platform.files_to(other)
    assert json.loads(nothing)["stored"] is False


async def test_after_forget_me_an_export_holds_nothing(bot: Harness) -> None:
    ada = bot.platform.user("ADA", "ada")
    await bot.answer(ada, strong_answer(await bot.question()))
    await bot.grade_all()
    await bot.card("forget-me confirm", "ADA")
    await bot.card("export", "ADA")
    await bot.app.background.idle()
    [(_, content)] = bot.platform.files_to(ada)
    assert json.loads(content)["stored"] is False


async def test_admins_get_the_channel_as_csv_and_members_are_refused(bot: Harness) -> None:
    for user_id in ("ADA", "BOB"):
        bot.clock.advance(minutes=1)
        await bot.answer(
            bot.platform.user(user_id, user_id.lower()), strong_answer(await bot.question())
        )
    await bot.grade_all()
    await bot.card("leaderboard hide-me", "BOB")
    assert (await bot.card("export channel", "ADA")).title == "Admins only"
    assert (await bot.card("export channel")).title == "On its way"
    await bot.app.background.idle()
    [(name, content)] = bot.platform.files_to(bot.admin)
    assert name == "opsdrill-C1.csv"
    rows = list(csv.DictReader(io.StringIO(content.decode())))
    assert [(r["user"], r["score"]) for r in rows] == [("ADA", "10"), ("BOB", "10")]
    assert rows[1]["name"] == "someone"  # BOB opted out of being named
    assert bot.platform.files_to(bot.platform.user("ADA", "ada")) == []
