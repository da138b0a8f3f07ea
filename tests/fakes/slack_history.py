"""FakeSlack's memory of messages, and the responses it can lose.

- ``Conversations`` keeps every message posted with chat.postMessage (or written by a person
  with ``say()``, which sends no event: as if the bot was offline) and answers
  conversations.history and conversations.replies over them with Slack's semantics: history is
  newest first and holds top-level messages (and broadcast replies); replies is the parent and
  then its replies, oldest first; ``oldest``/``latest`` are exclusive unless ``inclusive``;
  ``limit`` and ``cursor`` page (``response_metadata.next_cursor``, empty on the last page);
  ``metadata`` is shown only with ``include_all_metadata``.
- ``LostResponses`` makes the fake accept a call (and store what it posted) but never answer
  it: the response hangs until the fake stops, or the connection is closed."""

from __future__ import annotations

import asyncio
import base64
import binascii
import copy
import re
import uuid
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal

from aiohttp import web

if TYPE_CHECKING:
    from tests.fakes.slack.wire import Call

JSON = dict[str, Any]
Loss = Literal["hang", "close"]

DEFAULT_LIMIT = 100
MAX_LIMIT = 999
_TS = re.compile(r"[0-9]+(\.[0-9]*)?")


def ts_key(ts: str) -> tuple[int, int]:
    """A Slack ts ("seconds.micros") as a sortable pair; "1.5" means 1.500000."""
    seconds, _, fraction = str(ts).partition(".")
    return int(seconds or 0), int((fraction or "0").ljust(6, "0")[:6])


class Conversations:
    """The messages of every channel, and the two Web API methods that read them."""

    def __init__(self, *, next_ts: Callable[[], str], team_id: str) -> None:
        self._next_ts = next_ts
        self._team_id = team_id
        self._channels: dict[str, list[JSON]] = {}

    # --- writing -------------------------------------------------------------------------------

    def store(self, channel: str, message: JSON, *, broadcast: bool = False) -> None:
        """Keep `message` (as chat.postMessage made it) in `channel`."""
        message = copy.deepcopy(message)
        thread_ts = message.get("thread_ts")
        if thread_ts is not None and thread_ts != message["ts"]:
            if broadcast:
                message["subtype"] = "thread_broadcast"
            self._count_reply(channel, str(thread_ts), message)
        messages = self._channels.setdefault(channel, [])
        messages.append(message)
        messages.sort(key=lambda m: ts_key(m["ts"]))

    def say(
        self,
        text: str,
        *,
        user: str = "U1",
        channel: str = "C1",
        thread_ts: str | None = None,
        ts: str | None = None,
        **fields: Any,
    ) -> str:
        """`user` writes `text` in `channel` (in `thread_ts`'s thread when given), and Slack
        sends no event for it. Extra `fields` (bot_id, subtype, metadata...) go into the
        message as they are. Returns the new message's ts."""
        message: JSON = {
            "type": "message",
            "user": user,
            "text": text,
            "ts": ts or self._next_ts(),
            "team": self._team_id,
            "client_msg_id": str(uuid.uuid4()),
        }
        if thread_ts is not None:
            message["thread_ts"] = thread_ts
        message.update(fields)
        self.store(channel, message)
        return str(message["ts"])

    def messages(self, channel: str) -> list[JSON]:
        """Everything in `channel`, replies included, oldest first."""
        return list(self._channels.get(channel, []))

    def _count_reply(self, channel: str, thread_ts: str, reply: JSON) -> None:
        parent = self._find(channel, thread_ts)
        if parent is None:
            return
        parent["thread_ts"] = thread_ts
        parent["reply_count"] = int(parent.get("reply_count", 0)) + 1
        users = list(parent.get("reply_users", []))
        if reply.get("user") and reply["user"] not in users:
            users.append(reply["user"])
        parent["reply_users"], parent["reply_users_count"] = users, len(users)
        parent["latest_reply"] = reply["ts"]

    def _find(self, channel: str, ts: str) -> JSON | None:
        return next((m for m in self._channels.get(channel, []) if m["ts"] == ts), None)

    # --- reading: the Web API methods ----------------------------------------------------------

    def history(self, call: Call) -> JSON:
        p = call.params
        if not p.get("channel"):
            return _error("channel_not_found")
        if (bad := _range_error(p)) is not None:
            return _error(bad)
        top_level = [
            m
            for m in self._channels.get(str(p["channel"]), [])
            if m.get("thread_ts") in (None, m["ts"]) or m.get("subtype") == "thread_broadcast"
        ]
        in_range = [m for m in reversed(top_level) if _within(m, p)]
        return _page(in_range, p)

    def replies(self, call: Call) -> JSON:
        p = call.params
        channel = str(p.get("channel") or "")
        if not channel:
            return _error("channel_not_found")
        if (bad := _range_error(p)) is not None:
            return _error(bad)
        asked = self._find(channel, str(p.get("ts") or ""))
        if asked is None:
            return _error("thread_not_found")
        # A reply's ts stands for its whole thread.
        parent = self._find(channel, str(asked.get("thread_ts") or asked["ts"])) or asked
        replies = [
            m
            for m in self._channels[channel]
            if m.get("thread_ts") == parent["ts"] and m["ts"] != parent["ts"] and _within(m, p)
        ]
        # Slack puts the parent first on the first page whatever the range; later pages omit it.
        return _page(replies, p, first=parent)


class LostResponses:
    """Calls the fake carries out but never answers."""

    def __init__(self) -> None:
        self._pending: dict[str, list[Loss]] = {}
        self._released = asyncio.Event()

    def lose(self, method: str, *, how: Loss = "hang", times: int = 1) -> None:
        """Carry out the next `times` calls to `method`, then `hang` (answer only when the fake
        stops, long after any client gave up) or `close` the connection unanswered."""
        self._pending.setdefault(method, []).extend([how] * times)

    async def answer(self, method: str, request: web.Request) -> web.StreamResponse | None:
        """What the fake sends instead of its answer to `method`; None to answer normally."""
        queue = self._pending.get(method)
        if not queue:
            return None
        if queue.pop(0) == "hang":
            await self._released.wait()
        elif request.transport is not None:
            request.transport.close()
        # The client is gone by now; aiohttp drops this quietly.
        raise asyncio.CancelledError

    def release(self) -> None:
        """Let hanging calls end (when the fake stops)."""
        self._released.set()


# --- paging ------------------------------------------------------------------------------------


def _range_error(p: Mapping[str, Any]) -> str | None:
    for name in ("oldest", "latest"):
        value = p.get(name)
        if value is not None and not _TS.fullmatch(str(value)):
            return f"invalid_ts_{name}"
    return None


def _within(message: JSON, p: Mapping[str, Any]) -> bool:
    key, inclusive = ts_key(message["ts"]), _flag(p.get("inclusive"))
    if p.get("oldest") is not None:
        oldest = ts_key(p["oldest"])
        if key < oldest or (key == oldest and not inclusive):
            return False
    if p.get("latest") is not None:
        latest = ts_key(p["latest"])
        if key > latest or (key == latest and not inclusive):
            return False
    return True


def _page(messages: list[JSON], p: Mapping[str, Any], *, first: JSON | None = None) -> JSON:
    """One page of `messages` (already in answer order) from `cursor`, `first` heading the
    first page. Metadata is left out unless asked for."""
    try:
        limit = min(max(int(p.get("limit") or DEFAULT_LIMIT), 1), MAX_LIMIT)
    except ValueError:
        return _error("invalid_limit")
    start = 0
    if p.get("cursor"):
        start_at = _decode_cursor(str(p["cursor"]))
        if start_at is None:
            return _error("invalid_cursor")
        start = next((i for i, m in enumerate(messages) if m["ts"] == start_at), len(messages))
        first = None
    room = limit - (first is not None)
    shown = ([first] if first is not None else []) + messages[start : start + room]
    rest = messages[start + room :]
    with_metadata = _flag(p.get("include_all_metadata"))
    return {
        "ok": True,
        "messages": [_shown(m, with_metadata=with_metadata) for m in shown],
        "has_more": bool(rest),
        "pin_count": 0,
        "response_metadata": {"next_cursor": _encode_cursor(rest[0]["ts"]) if rest else ""},
    }


def _shown(message: JSON, *, with_metadata: bool) -> JSON:
    shown = copy.deepcopy(message)
    if not with_metadata:
        shown.pop("metadata", None)
    return shown


def _encode_cursor(ts: str) -> str:
    return base64.b64encode(f"next_ts:{ts}".encode()).decode()


def _decode_cursor(cursor: str) -> str | None:
    try:
        decoded = base64.b64decode(cursor, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    prefix, _, ts = decoded.partition(":")
    return ts if prefix == "next_ts" and ts else None


def _flag(value: Any) -> bool:
    """A boolean argument as it arrives: True in JSON, "1"/"true" in a query or form."""
    return value is True or str(value).lower() in ("1", "true")


def _error(error: str) -> JSON:
    return {"ok": False, "error": error}
