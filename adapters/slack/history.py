"""Reading Slack back: our own post whose response was lost (found by the key it carries in its
message metadata), and what people wrote in a thread while the bot was away."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from adapters.slack.payloads import answer_event
from bot.domain import AnswerPosted, ChannelRef, MessageRef

log = logging.getLogger(__name__)

POST_EVENT_TYPE = "opsdrill_post"
"""The message metadata event type our keyed posts carry."""
PAGE_SIZE = 200  # Slack's advice for paginated methods: no more than 200 per page

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)

Page = Callable[[str | None], Awaitable[AsyncSlackResponse]]
"""Fetches one page of a cursor-paginated method, given the cursor (None for the first)."""


def post_metadata(key: str | None) -> dict[str, Any] | None:
    """The `metadata` argument of chat.postMessage that tags a post with `key`."""
    if key is None:
        return None
    return {"event_type": POST_EVENT_TYPE, "event_payload": {"key": key}}


def slack_ts(moment: datetime) -> str:
    """`moment` as a Slack timestamp ("seconds.micros"); a naive datetime is taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    # Integer maths: a float of today's epoch seconds cannot hold all six decimals exactly.
    micros = (moment - _EPOCH) // _MICROSECOND
    return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"


async def find_post(
    client: AsyncWebClient,
    channel: ChannelRef,
    key: str,
    *,
    since: datetime,
    bot_user_id: str | None = None,
) -> MessageRef | None:
    """Our bot's post in `channel` tagged `key`, sent at or after `since` (newest wins)."""
    own = bot_user_id or str((await client.auth_test())["user_id"])

    async def page(cursor: str | None) -> AsyncSlackResponse:
        return await client.conversations_history(
            channel=channel.channel_id,
            oldest=slack_ts(since),
            inclusive=True,
            include_all_metadata=True,
            limit=PAGE_SIZE,
            cursor=cursor,
        )

    async for message in _messages(page):
        # Another app (or a person's workflow) may use the same event type; only ours counts.
        if message.get("user") != own or not _tagged(message, key):
            continue
        ts = str(message["ts"])
        return MessageRef(channel, ts, ts)
    return None


async def thread_replies(
    client: AsyncWebClient, thread: MessageRef, *, after: str | None = None
) -> list[AnswerPosted]:
    """People's replies in `thread` after message `after` (all when None), oldest first."""
    channel = thread.channel
    thread_ts = thread.thread_id or thread.message_id

    async def page(cursor: str | None) -> AsyncSlackResponse:
        return await client.conversations_replies(
            channel=channel.channel_id, ts=thread_ts, oldest=after, limit=PAGE_SIZE, cursor=cursor
        )

    answers: list[AnswerPosted] = []
    try:
        async for message in _messages(page):
            if after is not None and message.get("ts") == after:
                continue  # `oldest` is exclusive, but a page boundary must never repeat it
            # Shaped like the thread reply event `answer_event` reads, so a reply read back is
            # judged by the same rules (bots, joins, the parent itself) as one heard live.
            event = {**message, "channel": channel.channel_id}
            core = answer_event({}, event, team_id=channel.team_id, author_name="")
            if isinstance(core, AnswerPosted):
                answers.append(core)
    except SlackApiError as error:
        if error.response.get("error") != "thread_not_found":
            raise
        # The question was deleted: there is no thread left to read answers from.
        log.warning("Slack: thread %s in channel %s is gone", thread_ts, channel.channel_id)
        return []
    return sorted(answers, key=lambda a: _ts_order(a.message.message_id))


async def _messages(page: Page) -> AsyncIterator[dict[str, Any]]:
    """Every message of every page, following `response_metadata.next_cursor`."""
    cursor: str | None = None
    seen: set[str] = set()
    while True:
        response = await page(cursor)
        for message in response.get("messages") or []:
            if isinstance(message, dict):
                yield message
        cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
        if cursor is None or cursor in seen:  # a cursor handed out twice would page forever
            return
        seen.add(cursor)


def _tagged(message: dict[str, Any], key: str) -> bool:
    metadata = message.get("metadata")
    if not isinstance(metadata, dict) or metadata.get("event_type") != POST_EVENT_TYPE:
        return False
    payload = metadata.get("event_payload")
    return isinstance(payload, dict) and payload.get("key") == key


def _ts_order(ts: str) -> tuple[int, int]:
    seconds, _, fraction = ts.partition(".")
    return int(seconds or 0), int((fraction or "0").ljust(6, "0")[:6])
