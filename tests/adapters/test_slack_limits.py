"""Slack's rate limits on our side: feedback paced per method still reaches every author once,
and a backlog of it never holds up a post."""

from __future__ import annotations

import itertools
import time
from collections import Counter
from pathlib import Path

import pytest

from adapters.slack.limits import SlackLimits
from bot.domain import Card, ChannelRef
from tests.adapters.slack_harness import ANSWER, SlackBot
from tests.fakes.slack_api import FakeSlack

pytestmark = pytest.mark.asyncio
PEOPLE = [f"U{n}" for n in range(1, 7)]


async def _bot(tmp_path: Path, fake: FakeSlack, **rates: tuple[float, float]) -> SlackBot:
    limits = SlackLimits({k.replace("_", "."): v for k, v in rates.items()})
    return await SlackBot.start(f"sqlite:///{tmp_path / 'slack.db'}", fake, limits=limits)


async def _answers(bot: SlackBot) -> None:
    thread = await bot.post_question()
    for user in PEOPLE:
        await bot.answer(f"{ANSWER} ({user})", thread, user=user)
    await bot.fake.wait_for_call("reactions.add", count=len(PEOPLE))  # the "eyes" receipts


async def test_paced_feedback_still_reaches_every_author_once(
    tmp_path: Path, fake: FakeSlack
) -> None:
    bot = await _bot(tmp_path, fake, chat_postEphemeral=(1, 0.1), reactions_add=(1, 0.1))
    try:
        await _answers(bot)
        assert await bot.app.grading.drain() == len(PEOPLE)
        feedback = [c for c in fake.calls_to("chat.postEphemeral")
                    if "Your answer scored" in str(c.params)]  # fmt: skip
        assert Counter(c.params["user"] for c in feedback) == dict.fromkeys(PEOPLE, 1)
        graded = [c for c in fake.calls_to("reactions.add") if c.params["name"] != "eyes"]
        assert len(graded) == len(PEOPLE)
        gaps = [b.at - a.at for a, b in itertools.pairwise(feedback)]
        assert min(gaps) >= 0.08, gaps  # chat.postEphemeral kept to its budget
    finally:
        await bot.stop()


async def test_a_post_is_not_queued_behind_a_feedback_backlog(
    tmp_path: Path, fake: FakeSlack
) -> None:
    bot = await _bot(tmp_path, fake, chat_postEphemeral=(1, 0.3))
    try:
        await _answers(bot)
        grading = bot.app.background  # the backlog drains beside the post
        grading.spawn(bot.app.grading.drain(), what="grading")
        await fake.wait_for_call("chat.postEphemeral")
        other = ChannelRef("slack", "T1", "C2")
        started = time.monotonic()
        await bot.adapter.post(other, Card(title="Today's MLOps question", body="…"))
        assert time.monotonic() - started < 0.25, "the post waited behind the feedback"
        told = [c for c in fake.calls_to("chat.postEphemeral")
                if "Your answer scored" in str(c.params)]  # fmt: skip
        assert len(told) < len(PEOPLE), "the backlog was already gone: nothing was tested"
        await grading.idle()
    finally:
        await bot.stop()
