"""The fake's message history (tests/fakes/slack_history.py) against the real slack_sdk client:
it must read back the way Slack does, or the adapter's tests prove nothing."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from slack_sdk.web.async_client import AsyncWebClient

from tests.fakes.slack_api import FakeSlack

pytestmark = pytest.mark.asyncio
TAG = {"event_type": "opsdrill_post", "event_payload": {"key": "round-1"}}


def _texts(response: Any) -> list[str]:
    return [m["text"] for m in response["messages"]]


async def test_history_is_newest_first_with_exclusive_bounds_and_pages(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    posted = await client.chat_postMessage(channel="C1", text="question", metadata=TAG)
    parent = str(posted["ts"])
    say = fake.conversations.say
    one, two = say("one"), say("two")
    say("in the thread", thread_ts=parent)
    broadcast = await client.chat_postMessage(
        channel="C1", thread_ts=parent, reply_broadcast=True, text="also to the channel"
    )
    everything = await client.conversations_history(channel="C1")
    assert _texts(everything) == ["also to the channel", "two", "one", "question"]
    assert "metadata" not in everything["messages"][-1]
    assert everything["messages"][-1]["reply_count"] == 2
    assert everything["messages"][0]["subtype"] == "thread_broadcast"
    assert everything["messages"][0]["ts"] == broadcast["ts"]

    between = await client.conversations_history(channel="C1", oldest=one, latest=two)
    assert _texts(between) == []
    inclusive = await client.conversations_history(
        channel="C1", oldest=one, latest=two, inclusive=True
    )
    assert _texts(inclusive) == ["two", "one"]

    first = await client.conversations_history(channel="C1", limit=3, include_all_metadata=True)
    assert first["has_more"] is True
    rest = await client.conversations_history(
        channel="C1", include_all_metadata=True, cursor=first["response_metadata"]["next_cursor"]
    )
    assert _texts(rest) == ["question"] and rest["messages"][0]["metadata"] == TAG
    assert rest["response_metadata"]["next_cursor"] == "" and rest["has_more"] is False


async def test_replies_are_the_parent_then_oldest_first_across_pages(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    parent = fake.conversations.say("question", user="UBOT", bot_id="BBOT")
    replies = [fake.conversations.say(f"reply {n}", thread_ts=parent) for n in range(4)]
    fake.conversations.say("not in the thread")

    page = await client.conversations_replies(channel="C1", ts=parent, oldest=replies[0], limit=2)
    assert _texts(page) == ["question", "reply 1"]  # the parent heads the first page anyway
    page = await client.conversations_replies(
        channel="C1", ts=parent, oldest=replies[0], limit=2,
        cursor=page["response_metadata"]["next_cursor"],
    )  # fmt: skip
    assert _texts(page) == ["reply 2", "reply 3"] and not page["response_metadata"]["next_cursor"]
    by_reply = await client.conversations_replies(channel="C1", ts=replies[2])
    assert _texts(by_reply) == ["question", "reply 0", "reply 1", "reply 2", "reply 3"]


async def test_a_lost_response_leaves_the_post_in_the_channel(fake: FakeSlack) -> None:
    # No session of our own: slack_sdk applies `timeout` only to the sessions it makes.
    client = AsyncWebClient(token="xoxb-test", base_url=fake.api_url, timeout=1)
    fake.lose_response("chat.postMessage", how="hang")
    with pytest.raises(TimeoutError):
        await client.chat_postMessage(channel="C1", text="question", metadata=TAG)
    fake.lose_response("chat.postMessage", how="close")
    client.retry_handlers.clear()  # slack_sdk would otherwise send it again
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await client.chat_postMessage(channel="C1", text="again")
    assert [m["text"] for m in fake.conversations.messages("C1")] == ["question", "again"]
