"""slack_sdk retry handlers that never send a message twice.

A connection error or a 5xx after Slack took a `chat.postMessage` looks, to the client, just
like one before it did; repeating the call would show the message twice. So those retries skip
posts: a round's question is found again by its key (`find_post`) before the core posts it
anew. A 429 means Slack took nothing, so rate-limited calls, posts included, are retried."""

from __future__ import annotations

from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

_NOT_REPEATABLE = ("chat.postMessage",)


def _repeatable(request: HttpRequest) -> bool:
    return not request.url.rstrip("/").endswith(_NOT_REPEATABLE)


class _NotForPosts(AsyncRetryHandler):
    """Mixed in before a built-in handler: its retries, except of a post."""

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return _repeatable(request) and await super()._can_retry_async(
            state=state, request=request, response=response, error=error
        )


class _ConnectionErrors(_NotForPosts, AsyncConnectionErrorRetryHandler):
    pass


class _ServerErrors(_NotForPosts, AsyncServerErrorRetryHandler):
    pass


def retry_handlers() -> list[AsyncRetryHandler]:
    return [
        _ConnectionErrors(max_retry_count=1),
        AsyncRateLimitErrorRetryHandler(max_retry_count=3),
        _ServerErrors(max_retry_count=2),
    ]
