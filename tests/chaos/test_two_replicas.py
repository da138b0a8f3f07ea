"""Two replicas on one database: each scheduled question is posted once, each answer handled
once, whichever replica the timer or Slack picks."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pytest

from bot.clock import SystemClock
from bot.domain import ChannelRef
from bot.services.channels import ChannelService
from bot.services.messenger import Messenger
from bot.storage.db import make_engine, make_sessionmaker
from tests.chaos.harness import Chaos, until
from tests.conftest import make_settings
from tests.fakes import slack_api

pytestmark = [pytest.mark.asyncio, pytest.mark.postgres]

CHANNELS = [f"C{n:03d}" for n in range(1, 51)]
START_LEAD = timedelta(seconds=12)  # enough for two replicas to come up before the post time


async def schedule_channels(database_url: str, post_time: datetime) -> None:
    """Set up every channel through the app's own service, all due at `post_time` (UTC)."""
    engine = make_engine(database_url)
    try:
        channels = ChannelService(
            sessions=make_sessionmaker(engine),
            clock=SystemClock(),
            settings=make_settings(database_url),
            messenger=Messenger(),
        )
        for channel in CHANNELS:
            await channels.ensure(
                ChannelRef("slack", "T1", channel),
                name=channel.lower(),
                post_time=post_time.time(),
                timezone="UTC",
                weekdays="daily",
                window_minutes=60,
            )
    finally:
        await engine.dispose()


def next_minute_after(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0) + timedelta(minutes=1)


async def test_fifty_channels_due_the_same_minute_get_one_question_each(chaos: Chaos) -> None:
    post_at = next_minute_after(datetime.now(UTC) + START_LEAD)
    await schedule_channels(chaos.database_url, post_at)
    first, second = chaos.replica(), chaos.replica()
    await chaos.start(first, second)

    wait = (post_at - datetime.now(UTC)).total_seconds()
    await until(
        lambda: len(chaos.questions()) >= len(CHANNELS),
        timeout=max(wait, 0) + 30,
        what=f"{len(CHANNELS)} question posts at {post_at:%H:%M} UTC",
    )
    await chaos.settle(done=lambda: True, quiet=3.0, timeout=15)

    posted = {channel: len(chaos.questions(channel)) for channel in CHANNELS}
    assert [c for c, n in posted.items() if n != 1] == [], posted
    assert len(chaos.questions()) == len(CHANNELS)
    rounds = await chaos.query("SELECT status, count(*) FROM rounds GROUP BY status")
    assert [tuple(r) for r in rounds] == [("open", len(CHANNELS))]

    # Slack delivers one answer to both replicas at once (say, around a load balancer's retry).
    [question] = chaos.questions(CHANNELS[0])
    assert question.reply is not None
    thread_ts = str(question.reply["ts"])
    event = slack_api.message_event(
        "Compare live precision with fresh labels and watch PSI drift while labels lag.",
        user="U0001",
        channel=CHANNELS[0],
        thread_ts=thread_ts,
    )
    event_id = slack_api.fresh_event_id()
    statuses = await asyncio.gather(
        chaos.send_event(first, event, event_id=event_id),
        chaos.send_event(second, event, event_id=event_id),
    )
    assert list(statuses) == [200, 200]
    started = time.monotonic()
    await chaos.settle(done=lambda: "U0001" in chaos.feedback(thread_ts), timeout=20)

    assert await chaos.stored_answers() == {str(event["ts"]): 1}
    assert chaos.feedback(thread_ts) == {"U0001": 1}, f"after {time.monotonic() - started:.1f}s"
