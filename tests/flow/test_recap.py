"""The weekly recap: a picture and three lines in the channel once a week, `/drill recap` now
(admins post, members see it privately), `/drill recap day`, opt-out and forget-me."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select

from adapters.console.memory import MemoryAdapter
from bot.domain import Card
from bot.storage.models import Recap
from tests.flow.conftest import MONDAY
from tests.flow.harness import Harness, partial_answer, strong_answer

pytestmark = pytest.mark.asyncio
NEXT_MONDAY = MONDAY + timedelta(weeks=1)
PNG = b"\x89PNG\r\n\x1a\n"


async def _answers(bot: Harness, **texts: str) -> None:
    """Each person (by id) answers the open round: "strong" or "partial"."""
    question = await bot.question()
    for user_id, how in texts.items():
        bot.clock.advance(minutes=1)
        text = strong_answer(question) if how == "strong" else partial_answer(question)
        await bot.answer(bot.platform.user(user_id, user_id.lower()), text)
    await bot.grade_all()


def _recaps(bot: Harness) -> list[Card]:
    return [s.card for s in bot.platform.uploads_in(bot.channel) if s.card is not None]


async def test_the_recap_posts_once_a_week_with_its_picture_and_three_lines(
    bot: Harness, database_url: str
) -> None:
    await _answers(bot, ADA="strong", BOB="partial")
    await bot.tick(NEXT_MONDAY - timedelta(minutes=1))
    assert _recaps(bot) == []  # not before the channel's post time
    replica = await Harness.start(database_url, clock=bot.clock, platform=MemoryAdapter())
    try:
        bot.clock.set(NEXT_MONDAY)
        # Both processes find the recap due before either has taken it.
        await asyncio.gather(bot.app.recaps.sync_all(), replica.app.recaps.sync_all())
        await asyncio.gather(bot.app.background.idle(), replica.app.background.idle())
        await bot.tick()
        [upload] = bot.platform.of_kind("upload") + replica.platform.of_kind("upload")
    finally:
        await replica.stop()
    assert upload.message is not None and upload.message.channel == bot.channel
    assert upload.file is not None and upload.file[0] == "recap.png"
    assert upload.file[1].startswith(PNG) and len(upload.file[1]) < 200_000
    assert upload.card is not None
    assert upload.card.title == "Weekly recap · #mlops · 23 Nov – 29 Nov"
    best, improver, weakest = upload.card.body.splitlines()
    assert best.startswith("Best answer: <@ADA> scored 10/10")
    assert improver.startswith("Biggest improver: nobody yet")
    assert "Practise it with `/drill mock " in weakest
    assert upload.card.names == {"ADA": "ada", "BOB": "bob"}
    posted = len(bot.platform.of_kind("upload"))

    await bot.tick(NEXT_MONDAY + timedelta(minutes=5))
    bot = await bot.restart()
    await bot.tick(NEXT_MONDAY + timedelta(minutes=10))
    assert len(_recaps(bot)) == posted

    # The next week: ADA did better than before, and is the improver.
    await bot.tick(NEXT_MONDAY + timedelta(hours=1))
    await _answers(bot, ADA="strong", CY="partial")
    await bot.tick(NEXT_MONDAY + timedelta(weeks=1))
    assert len(_recaps(bot)) == posted + 1


async def test_the_biggest_improver_is_named(bot: Harness) -> None:
    await _answers(bot, ADA="partial")
    await bot.tick(NEXT_MONDAY + timedelta(hours=1))
    await _answers(bot, ADA="strong")
    await bot.tick(NEXT_MONDAY + timedelta(weeks=1))
    [_, card] = _recaps(bot)
    assert card.body.splitlines()[1].startswith("Biggest improver: <@ADA>, from ")


async def test_a_week_without_answers_posts_no_recap(bot: Harness) -> None:
    await bot.tick(NEXT_MONDAY)
    assert _recaps(bot) == []
    reply = await bot.card("recap")
    assert reply.title == "Nothing to recap yet"


async def test_people_who_opted_out_are_someone_and_never_quoted(bot: Harness) -> None:
    await _answers(bot, ADA="strong", BOB="partial")
    await bot.card("leaderboard hide-me", "ADA")
    await bot.tick(NEXT_MONDAY)
    [card] = _recaps(bot)
    assert "ADA" not in card.body and "ADA" not in card.names
    assert card.body.startswith("Best answer: <@BOB>")  # ADA's 10/10 is not quoted
    top = {f.label: f.value for f in card.fields}["Top of the week"]
    assert "someone" in top and "<@BOB>" in top and "ADA" not in top


async def test_an_admin_posts_one_now_and_only_once_a_week(bot: Harness) -> None:
    await _answers(bot, ADA="strong")
    assert (await bot.card("recap")).title == "Posting the weekly recap"
    assert len(_recaps(bot)) == 1
    again = await bot.card("recap")
    assert "already had its recap here" in again.footer
    assert len(_recaps(bot)) == 1


async def test_a_member_sees_the_recap_privately_with_the_picture_by_dm(bot: Harness) -> None:
    await _answers(bot, ADA="strong")
    card = await bot.card("recap", "BOB")
    assert card.title.startswith("Weekly recap") and "Only you see this" in card.footer
    [(name, content)] = bot.platform.files_to(bot.platform.user("BOB", "bob"))
    assert name == "recap.png" and content.startswith(PNG)
    again = await bot.card("recap", "BOB")  # the text again; the picture is not drawn twice
    assert again.body == card.body and "came by DM today" in again.footer
    assert len(bot.platform.files_to(bot.platform.user("BOB", "bob"))) == 1
    assert _recaps(bot) == []


async def test_admins_move_or_stop_the_recap_and_members_cannot(bot: Harness) -> None:
    assert (await bot.card("recap day friday", "BOB")).title == "Admins only"
    assert (await bot.card("recap day someday")).title == "Which day?"
    assert "Every Monday at 09:00 UTC" in (await bot.card("recap day")).body
    moved = await bot.card("recap day fri")
    assert "Every Friday at 09:00 UTC" in moved.body
    await _answers(bot, ADA="strong")
    await bot.tick(MONDAY + timedelta(days=4))  # Friday: the seven days before it
    [card] = _recaps(bot)
    assert card.title.endswith("20 Nov – 26 Nov")
    await bot.tick(NEXT_MONDAY)
    assert len(_recaps(bot)) == 1
    assert (await bot.card("recap day off")).title == "Weekly recap off"
    await _answers(bot, ADA="strong")
    await bot.tick(MONDAY + timedelta(days=4, weeks=1))
    assert len(_recaps(bot)) == 1


async def test_forget_me_scrubs_stored_recaps_and_leaves_the_next_ones(bot: Harness) -> None:
    await _answers(bot, ADA="strong", BOB="partial")
    await bot.card("recap")
    await bot.card("forget-me confirm", "ADA")
    async with bot.app.sessions() as session:
        [recap] = (await session.scalars(select(Recap))).all()
    assert recap.summary is not None and "ADA" not in str(recap.summary)
    assert recap.summary["lines"][0].startswith("(removed")
    assert "<@BOB>" in str(recap.summary)
    later = await bot.card("recap", "BOB")
    assert "ADA" not in later.body and "ADA" not in later.names
    assert later.body.startswith("Best answer: <@BOB>")


async def test_the_recap_comes_at_the_post_time_of_the_channels_time_zone(bot: Harness) -> None:
    await _answers(bot, ADA="strong")
    await bot.card("schedule 08:00 Asia/Tokyo daily")  # Monday 08:00 there: Sunday 23:00 UTC
    await bot.tick(NEXT_MONDAY - timedelta(hours=10, minutes=1))
    assert _recaps(bot) == []
    await bot.tick(NEXT_MONDAY - timedelta(hours=10))
    [card] = _recaps(bot)
    assert card.title.endswith("23 Nov – 29 Nov")
