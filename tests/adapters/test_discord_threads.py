"""Thread replies on Discord, with the real discord.py against the fake Discord: an answer in
several messages is joined and graded once, and a new attempt is confirmed with a button."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.storage.models import Answer
from tests.adapters.test_discord import ADA, DiscordBot, _question, running_bot
from tests.flow.harness import strong_answer

pytestmark = pytest.mark.asyncio


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[DiscordBot]:
    async with running_bot(tmp_path, OPSDRILL_DISCORD_JOIN_WINDOW="45") as running:
        yield running


def _advance(bot: DiscordBot, seconds: float) -> None:
    bot.app.clock.advance(seconds=seconds)  # type: ignore[attr-defined]


async def _stored(bot: DiscordBot, count: int) -> list[str]:
    """Wait until `count` thread messages are stored; their statuses."""
    for _ in range(300):
        async with bot.app.sessions() as session:
            stored = (await session.scalars(select(Answer.status).order_by(Answer.id))).all()
        if len(stored) >= count:
            return list(stored)
        await asyncio.sleep(0.01)
    raise TimeoutError(f"{count} stored message(s); got {stored}")


async def _dms_to_ada(bot: DiscordBot, count: int) -> list[Any]:
    dm = bot.fake.dm_channel_for(ADA)
    return await bot.fake.wait_for("POST", rf"/channels/{dm}/messages", count)


async def test_an_answer_in_three_messages_is_joined_and_graded_once(bot: DiscordBot) -> None:
    thread_id = await bot.post_round()
    [post] = bot.fake.requests_to("POST", rf"/channels/{bot.fake.channel_id}/messages")
    assert "joined into one answer" in json.dumps(post.json["embeds"])
    question = await _question(bot)
    points = [p.phrasings[0].rstrip(".") + "." for p in question.rubric]
    parts = [points[0], " ".join(points[1:3]), " ".join(points[3:])]
    for n, part in enumerate(parts, 1):
        await bot.fake.user_message(thread_id, ADA, part)
        await _stored(bot, n)  # every part stored as it arrives
        _advance(bot, 20)  # the next within the window after this one
    assert await _stored(bot, 3) == ["counted", "part", "part"]
    assert await bot.app.grading.drain() == 0  # not until the window after the last part
    _advance(bot, 30)  # 50 s after the last part
    assert await bot.app.grading.drain() == 1
    async with bot.app.sessions() as session:
        text = (await session.scalars(select(Answer.text).order_by(Answer.id))).first()
    assert text == "\n\n".join(parts)
    [feedback] = await _dms_to_ada(bot, 1)
    assert "Your answer scored 10/10" in json.dumps(feedback.json["embeds"], ensure_ascii=False)


async def test_keep_on_a_new_attempt_s_prompt_is_a_button_in_the_dm(bot: DiscordBot) -> None:
    thread_id = await bot.post_round()
    question = await _question(bot)
    await bot.fake.user_message(thread_id, ADA, strong_answer(question))
    await _stored(bot, 1)
    _advance(bot, 46)
    await bot.app.grading.drain()
    await _dms_to_ada(bot, 1)
    _advance(bot, 60)
    await bot.fake.user_message(thread_id, ADA, "new answer: " + question.weak_answer.text)
    assert await _stored(bot, 2) == ["counted", "candidate"]
    _advance(bot, 46)
    assert await bot.app.grading.drain() == 1
    prompt = (await _dms_to_ada(bot, 2))[-1].json
    assert "Replace your 10/10 answer" in json.dumps(prompt["embeds"])
    buttons = prompt["components"][0]["components"]
    assert [b["label"] for b in buttons] == ["Replace (lower: 0/10)", "Keep my 10/10 answer"]
    keep = buttons[1]["custom_id"]
    assert keep.startswith("drill_keep:")

    dm = bot.fake.dm_channel_for(ADA)
    [message] = [m for m in bot.fake.messages_in(dm) if m.get("components")]
    click = await bot.fake.button_click(ADA, keep, message)
    response = await bot.answer_to(click)
    assert response["type"] == 5 and response["data"]["flags"] & 64  # deferred at once
    assert "Kept your answer" in json.dumps(response["data"]["embeds"])
    board = await bot.command(ADA, "leaderboard", period="week")
    assert f"<@{ADA}> 10 pts" in json.dumps(board["data"].get("embeds", []))
