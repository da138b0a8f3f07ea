"""What the Discord fake adds for a bot that lost a response or was away: nonce de-duplication,
history as Discord serves it, lost responses and messages the bot never heard of.

``FakeDiscordWithHistory`` is ``FakeDiscord`` plus:
- ``POST /channels/{id}/messages`` with ``nonce`` and ``enforce_nonce: true``: the same author
  sending the same nonce within ``NONCE_WINDOW`` gets the message it already created back (no
  new message, no MESSAGE_CREATE), as Discord does.
- ``GET /channels/{id}/messages[/{id}]`` without ``nonce``: Discord returns it only in the
  create response and MESSAGE_CREATE, never in history. (Paging by ``after``/``before``/
  ``limit`` and 160004 for a second thread on one message are the base fake's.)
- ``lose_response()``: the next matching request does its work, then the connection is cut
  before the response is written.
- ``user_message_while_away()``: a person's message stored without any gateway event.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from tests.fakes.discord import JSON, FakeDiscord, Request

NONCE_WINDOW = 600.0
"""Seconds a nonce is remembered (Discord: "the past few minutes")."""


@dataclass
class _Loss:
    method: str
    pattern: re.Pattern[str]
    remaining: int


def _without_nonce(message: JSON) -> JSON:
    return {k: v for k, v in message.items() if k != "nonce"}


class FakeDiscordWithHistory(FakeDiscord):
    """``FakeDiscord`` with the additions above (see the module docstring)."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._nonces: dict[tuple[str, str], tuple[JSON, float]] = {}
        """(author id, nonce) -> (message, when it was created)."""
        self._losses: list[_Loss] = []
        self.lost: list[Request] = []
        """Requests whose response the fake cut off."""

    def lose_response(self, method: str, path_regex: str, *, times: int = 1) -> None:
        """The next `times` successful requests matching `method` and `path_regex` (fullmatch)
        take effect, but their connection is cut instead of answered."""
        self._losses.append(_Loss(method.upper(), re.compile(path_regex), times))

    def user_message_while_away(self, channel_id: int, user_id: int, content: str) -> JSON:
        """`user_id` posts `content` in a channel or thread and no gateway event says so, as
        while the bot was offline. Returns the stored message."""
        if user_id not in self.members:
            raise ValueError(f"user {user_id} is not a guild member; add_member() them first")
        return self.new_message(channel_id, user_id, {"content": content})

    # --- overridden handlers -------------------------------------------------------------------

    async def _post_message(self, req: Request, p: dict[str, str]) -> JSON:
        body: JSON = dict(req.json or {})
        nonce = body.get("nonce")
        if nonce is None or not body.get("enforce_nonce"):
            return await super()._post_message(req, p)
        key = (str(self.bot_user_id), str(nonce))
        seen = self._nonces.get(key)
        if seen is not None and time.monotonic() - seen[1] < NONCE_WINDOW:
            return seen[0]
        message = await super()._post_message(req, p)
        self._nonces[key] = (message, time.monotonic())
        return message

    async def _get_messages(self, req: Request, p: dict[str, str]) -> list[JSON]:
        return [_without_nonce(m) for m in await super()._get_messages(req, p)]

    async def _get_message(self, req: Request, p: dict[str, str]) -> JSON:
        return _without_nonce(await super()._get_message(req, p))

    async def _api(self, request: web.Request) -> web.StreamResponse:
        seen = len(self.requests)
        response = await super()._api(request)
        path = "/" + request.match_info["tail"]
        if response.status < 300 and self._take_loss(request.method, path):
            # Discord did the work; the caller never hears of it.
            self.lost.append(
                next(
                    r for r in self.requests[seen:] if (r.method, r.path) == (request.method, path)
                )
            )
            if request.transport is not None:
                request.transport.abort()
        return response

    def _take_loss(self, method: str, path: str) -> bool:
        for loss in self._losses:
            if loss.method == method and loss.pattern.fullmatch(path):
                loss.remaining -= 1
                if loss.remaining <= 0:
                    self._losses.remove(loss)
                return True
        return False
