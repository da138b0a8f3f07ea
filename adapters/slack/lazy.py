"""Bolt's lazy listeners, run as tracked background work instead of untracked tasks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from logging import Logger

from slack_bolt.lazy_listener.async_internals import to_runnable_function
from slack_bolt.lazy_listener.async_runner import AsyncLazyListenerRunner
from slack_bolt.request.async_request import AsyncBoltRequest

from bot.background import Background


class TrackedLazyRunner(AsyncLazyListenerRunner):
    """Starts each lazy listener (what follows the ack of a command, button or App Home) in
    `background`, so stopping the adapter, and tests, can wait for it instead of sleeping."""

    def __init__(self, background: Background, logger: Logger) -> None:
        self.logger = logger
        self._background = background

    def start(self, function: Callable[..., Awaitable[None]], request: AsyncBoltRequest) -> None:
        work = to_runnable_function(internal_func=function, logger=self.logger, request=request)
        self._background.spawn(work, what="a Slack lazy listener")
