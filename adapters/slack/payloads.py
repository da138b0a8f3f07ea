"""Slack payloads (Events API, slash commands, interactivity) to core events, and back."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from bot.domain import (
    AnswerDeleted,
    AnswerEdited,
    AnswerPosted,
    ChannelRef,
    CommandInvoked,
    DirectMessage,
    MessageRef,
    UserRef,
    button_command,
)
from bot.user_text import MAX_ANSWER_CHARS

PLATFORM = "slack"
PRIVATE_ANSWER_VIEW = "private_answer"
_IGNORED_SUBTYPES = {"bot_message", "channel_join", "channel_leave", "channel_topic"}


def answer_event(
    body: dict[str, Any], event: dict[str, Any], *, team_id: str, author_name: str
) -> AnswerPosted | AnswerEdited | AnswerDeleted | DirectMessage | None:
    """A thread reply, its edit or its deletion, or a direct message to the bot; None for
    anything else (bots included)."""
    subtype = event.get("subtype")
    if event.get("channel_type") == "im":
        if subtype is not None or _from_bot(event) or not event.get("user"):
            return None
        return DirectMessage(
            event_id=body.get("event_id"),
            user=UserRef(PLATFORM, team_id, str(event["user"])),
            user_name=author_name,
            text=str(event.get("text", "")),
            message_id=f"{event.get('channel', '')}:{event.get('ts', '')}",
        )
    channel = ChannelRef(PLATFORM, team_id, str(event.get("channel", "")))
    event_id = body.get("event_id")
    if subtype == "message_changed":
        msg = event.get("message") or {}
        if _from_bot(msg) or not msg.get("thread_ts") or msg.get("thread_ts") == msg.get("ts"):
            return None
        return AnswerEdited(
            event_id=event_id,
            message=MessageRef(channel, str(msg["ts"]), str(msg["thread_ts"])),
            thread=_thread(channel, str(msg["thread_ts"])),
            author=UserRef(PLATFORM, team_id, str(msg.get("user", ""))),
            text=str(msg.get("text", "")),
        )
    if subtype == "message_deleted":
        previous = event.get("previous_message") or {}
        thread_ts = previous.get("thread_ts")
        if not thread_ts or _from_bot(previous):
            return None
        ts = str(event.get("deleted_ts") or previous.get("ts"))
        return AnswerDeleted(
            event_id=event_id,
            message=MessageRef(channel, ts, str(thread_ts)),
            thread=_thread(channel, str(thread_ts)),
        )
    if (
        subtype in _IGNORED_SUBTYPES
        or _from_bot(event)
        or subtype not in (None, "thread_broadcast")
    ):
        return None
    thread_ts = event.get("thread_ts")
    if not thread_ts or thread_ts == event.get("ts") or not event.get("user"):
        return None
    return AnswerPosted(
        event_id=event_id,
        message=MessageRef(channel, str(event["ts"]), str(thread_ts)),
        thread=_thread(channel, str(thread_ts)),
        author=UserRef(PLATFORM, team_id, str(event["user"])),
        author_name=author_name,
        text=str(event.get("text", "")),
        sent_at=_time_of(str(event["ts"])),
    )


def command_event(body: dict[str, Any], *, user_name: str) -> CommandInvoked:
    team_id = str(body.get("team_id", ""))
    name, *args = str(body.get("text", "")).split() or ["help"]
    return CommandInvoked(
        channel=ChannelRef(PLATFORM, team_id, str(body.get("channel_id", ""))),
        user=UserRef(PLATFORM, team_id, str(body.get("user_id", ""))),
        user_name=user_name,
        name=name,
        args=tuple(args),
    )


def command_button_event(body: dict[str, Any], *, user_name: str) -> CommandInvoked | None:
    """A click on a button that runs a `/drill` command, as that command; None otherwise."""
    actions = body.get("actions") or [{}]
    command = button_command(str(actions[0].get("action_id", "")), str(actions[0].get("value", "")))
    if command is None:
        return None
    team_id = str((body.get("team") or {}).get("id") or (body.get("user") or {}).get("team_id"))
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get(
        "channel_id", ""
    )
    return CommandInvoked(
        channel=ChannelRef(PLATFORM, team_id, str(channel)),
        user=UserRef(PLATFORM, team_id, str((body.get("user") or {}).get("id", ""))),
        user_name=user_name,
        name=command[0],
        args=command[1],
    )


def private_answer_modal(body: dict[str, Any]) -> dict[str, Any]:
    """The modal behind "Answer privately": it remembers which round it answers."""
    container = body.get("container") or {}
    channel = container.get("channel_id") or (body.get("channel") or {}).get("id")
    thread_ts = container.get("message_ts") or (body.get("message") or {}).get("ts")
    return {
        "type": "modal",
        "callback_id": PRIVATE_ANSWER_VIEW,
        "private_metadata": json.dumps({"channel": channel, "thread_ts": thread_ts}),
        "title": {"type": "plain_text", "text": "Answer privately"},
        "submit": {"type": "plain_text", "text": "Submit"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {
                "type": "input",
                "block_id": "answer",
                "label": {"type": "plain_text", "text": "Your answer (hidden until the reveal)"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": "answer",
                    "multiline": True,
                    "max_length": MAX_ANSWER_CHARS,
                },
            }
        ],
    }


def private_answer_event(body: dict[str, Any], *, team_id: str, author_name: str) -> AnswerPosted:
    view = body["view"]
    meta = json.loads(view.get("private_metadata") or "{}")
    channel = ChannelRef(PLATFORM, team_id, str(meta.get("channel", "")))
    thread_ts = str(meta.get("thread_ts", ""))
    value = view["state"]["values"]["answer"]["answer"].get("value") or ""
    return AnswerPosted(
        message=MessageRef(channel, f"view-{view['id']}", thread_ts),
        thread=_thread(channel, thread_ts),
        author=UserRef(PLATFORM, team_id, str(body["user"]["id"])),
        author_name=author_name,
        text=str(value),
        private=True,
    )


def _time_of(ts: str) -> datetime | None:
    """A Slack message ts (seconds since the epoch, with a counter after the dot) as a time."""
    try:
        return datetime.fromtimestamp(float(ts), UTC)
    except (ValueError, OverflowError, OSError):
        return None


def _thread(channel: ChannelRef, thread_ts: str) -> MessageRef:
    return MessageRef(channel, thread_ts, thread_ts)


def _from_bot(message: dict[str, Any]) -> bool:
    return bool(message.get("bot_id") or message.get("subtype") == "bot_message")
