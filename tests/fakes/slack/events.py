"""Events API envelopes and the message events Slack sends (posted, changed, deleted, by a bot,
app mentions)."""

from __future__ import annotations

import time
import uuid

from tests.fakes.slack.payloads import (
    fresh_event_id,
    fresh_ts,
)
from tests.fakes.slack.wire import (
    JSON,
    VERIFICATION_TOKEN,
)


def event_callback(
    event: JSON,
    *,
    team_id: str = "T1",
    event_id: str | None = None,
    api_app_id: str = "A1",
    event_time: int | None = None,
    bot_user_id: str = "UBOT",
) -> JSON:
    """An Events API envelope (the JSON body Slack POSTs, or the events_api payload)."""
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "context_team_id": team_id,
        "context_enterprise_id": None,
        "api_app_id": api_app_id,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or fresh_event_id(),
        "event_time": int(time.time()) if event_time is None else event_time,
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": team_id,
                "user_id": bot_user_id,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": f"4-fake-{team_id}",
    }


def url_verification(challenge: str = "fake-challenge") -> JSON:
    return {"token": VERIFICATION_TOKEN, "challenge": challenge, "type": "url_verification"}


def _channel_type(channel: str) -> str:
    return {"D": "im", "G": "group"}.get(channel[:1], "channel")


def message_event(
    text: str,
    *,
    user: str = "U1",
    channel: str = "C1",
    ts: str | None = None,
    thread_ts: str | None = None,
    team: str = "T1",
) -> JSON:
    """A user's message (event type message, no subtype); `ts` is fresh when None."""
    ts = ts or fresh_ts()
    event: JSON = {
        "type": "message",
        "client_msg_id": str(uuid.uuid4()),
        "text": text,
        "user": user,
        "ts": ts,
        "team": team,
        "channel": channel,
        "event_ts": ts,
        "channel_type": _channel_type(channel),
    }
    if thread_ts is not None:
        event["thread_ts"] = thread_ts
    return event


def app_mention_event(
    text: str,
    *,
    user: str = "U1",
    channel: str = "C1",
    ts: str | None = None,
    thread_ts: str | None = None,
    team: str = "T1",
    bot_user_id: str = "UBOT",
) -> JSON:
    """An app_mention; the text is prefixed with the bot's mention unless it already has it."""
    ts = ts or fresh_ts()
    mention = f"<@{bot_user_id}>"
    event: JSON = {
        "type": "app_mention",
        "client_msg_id": str(uuid.uuid4()),
        "text": text if mention in text else f"{mention} {text}",
        "user": user,
        "ts": ts,
        "team": team,
        "channel": channel,
        "event_ts": ts,
    }
    if thread_ts is not None:
        event["thread_ts"] = thread_ts
    return event


def message_changed_event(
    text: str,
    *,
    previous_text: str = "",
    user: str = "U1",
    channel: str = "C1",
    ts: str,
    thread_ts: str | None = None,
    team: str = "T1",
    event_ts: str | None = None,
) -> JSON:
    """An edit of the message at `ts` (subtype message_changed)."""
    event_ts = event_ts or fresh_ts()
    message: JSON = {
        "type": "message", "user": user, "text": text, "ts": ts, "team": team,
        "edited": {"user": user, "ts": event_ts}, "client_msg_id": str(uuid.uuid4()),
    }  # fmt: skip
    previous: JSON = {"type": "message", "user": user, "text": previous_text, "ts": ts}
    if thread_ts is not None:
        message["thread_ts"] = thread_ts
        previous["thread_ts"] = thread_ts
    return {
        "type": "message",
        "subtype": "message_changed",
        "message": message,
        "previous_message": previous,
        "channel": channel,
        "hidden": True,
        "ts": event_ts,
        "event_ts": event_ts,
        "channel_type": _channel_type(channel),
    }


def message_deleted_event(
    deleted_ts: str,
    *,
    previous_text: str = "",
    user: str = "U1",
    channel: str = "C1",
    thread_ts: str | None = None,
    event_ts: str | None = None,
) -> JSON:
    """The deletion of the message at `deleted_ts` (subtype message_deleted)."""
    event_ts = event_ts or fresh_ts()
    previous: JSON = {"type": "message", "user": user, "text": previous_text, "ts": deleted_ts}
    if thread_ts is not None:
        previous["thread_ts"] = thread_ts
    return {
        "type": "message",
        "subtype": "message_deleted",
        "previous_message": previous,
        "channel": channel,
        "hidden": True,
        "deleted_ts": deleted_ts,
        "ts": event_ts,
        "event_ts": event_ts,
        "channel_type": _channel_type(channel),
    }


def bot_message_event(
    text: str,
    *,
    bot_id: str = "BBOT",
    user: str | None = "UBOT",
    app_id: str = "A1",
    channel: str = "C1",
    ts: str | None = None,
    thread_ts: str | None = None,
    team: str = "T1",
    subtype: str | None = None,
    username: str | None = None,
) -> JSON:
    """A message posted by an app (by default this fake's own bot, as an echo of its post).
    Pass ``subtype="bot_message"`` (usually with ``user=None``) for a legacy integration."""
    ts = ts or fresh_ts()
    event: JSON = {
        "type": "message",
        "text": text,
        "ts": ts,
        "bot_id": bot_id,
        "app_id": app_id,
        "team": team,
        "bot_profile": {"id": bot_id, "app_id": app_id, "name": username or "bot", "team_id": team},
        "channel": channel,
        "event_ts": ts,
        "channel_type": _channel_type(channel),
    }
    if user is not None:
        event["user"] = user
    if subtype is not None:
        event["subtype"] = subtype
    if username is not None:
        event["username"] = username
    if thread_ts is not None:
        event["thread_ts"] = thread_ts
    return event
