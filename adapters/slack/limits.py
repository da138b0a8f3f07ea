"""Slack's rate limits, kept on our side of the wire: a budget per Web API method and workspace,
sized by Slack's tiers, and chat.postMessage's one message a second per channel.

Every method has its own budget, so a burst of feedback (ephemerals, reactions) waits in its
own queues and never in front of a question post or a reveal (chat.postMessage)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import ClientTimeout, FormData
from aiolimiter import AsyncLimiter
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

Rate = tuple[float, float]
"""(calls, seconds): at most that many calls in that many seconds, in a burst or spread out."""

TIER_RATES: dict[int, Rate] = {1: (1, 60), 2: (20, 60), 3: (50, 60), 4: (100, 60)}
"""Slack's documented floor for each tier ("1+", "20+", "50+", "100+" a minute)."""

METHOD_TIERS = {
    "chat.postEphemeral": 4,
    "reactions.add": 3,
    "users.info": 4,
    "conversations.open": 3,
    "conversations.history": 3,
    "conversations.replies": 3,
    "views.open": 4,
    "views.publish": 4,
    "auth.test": 4,
}
DEFAULT_TIER = 3
POST_METHOD = "chat.postMessage"
POST_RATE: Rate = (1, 1.0)  # Slack: about one message a second per channel, short bursts aside


class SlackLimits:
    """Hands out the limiter for a call: (method, workspace), or (channel) for posts."""

    def __init__(self, rates: Mapping[str, Rate] | None = None) -> None:
        """`rates` overrides the tier of a method (or `chat.postMessage`'s per-channel pace)."""
        self._rates = dict(rates or {})
        self._limiters: dict[tuple[str, str, str], AsyncLimiter] = {}

    @classmethod
    def per_minute(cls, calls: Mapping[str, float]) -> SlackLimits:
        """Limits from calls a minute by method (`SLACK_RATE_LIMITS`): a burst of that many,
        except posts, which stay spread out (60 a minute: one a second per channel)."""
        return cls({
            method: (1, 60 / n) if method == POST_METHOD else (n, 60)
            for method, n in calls.items()
        })  # fmt: skip

    def rate(self, method: str) -> Rate:
        if method in self._rates:
            return self._rates[method]
        if method == POST_METHOD:
            return POST_RATE
        return TIER_RATES[METHOD_TIERS.get(method, DEFAULT_TIER)]

    def limiter(self, method: str, team_id: str, channel_id: str | None = None) -> AsyncLimiter:
        """The budget a call of `method` in `team_id` spends (per channel for posts)."""
        channel = (channel_id or "") if method == POST_METHOD else ""
        key = (method, team_id, channel)
        if key not in self._limiters:
            calls, seconds = self.rate(method)
            self._limiters[key] = AsyncLimiter(calls, seconds)
        return self._limiters[key]


class PacedWebClient(AsyncWebClient):
    """An AsyncWebClient whose every call first waits for its budget in `limits`."""

    def __init__(self, *, limits: SlackLimits, team_id: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._limits = limits
        self._team_id = team_id

    async def api_call(
        self,
        api_method: str,
        *,
        http_verb: str = "POST",
        files: dict[str, Any] | None = None,
        data: dict[str, Any] | FormData | None = None,
        params: dict[str, Any] | None = None,
        json: dict[str, Any] | None = None,
        headers: dict[str, Any] | None = None,
        auth: dict[str, Any] | None = None,
    ) -> AsyncSlackResponse:
        async with self._limits.limiter(api_method, self._team_id, _channel_of(json, params, data)):
            return await super().api_call(
                api_method,
                http_verb=http_verb,
                files=files,
                data=data,
                params=params,
                json=json,
                headers=headers,
                auth=auth,
            )

    async def _request(
        self, *, http_verb: str, api_url: str, req_args: dict[str, Any]
    ) -> dict[str, Any]:
        # slack_sdk gives `timeout` only to the sessions it opens itself; with a shared session
        # each request carries it, so a call Slack never answers fails after `timeout` seconds.
        if self.session is not None:
            req_args = {**req_args, "timeout": ClientTimeout(total=self.timeout)}
        result: dict[str, Any] = await super()._request(
            http_verb=http_verb, api_url=api_url, req_args=req_args
        )
        return result


def _channel_of(*payloads: object) -> str | None:
    for payload in payloads:
        if isinstance(payload, dict) and payload.get("channel"):
            return str(payload["channel"])
    return None
