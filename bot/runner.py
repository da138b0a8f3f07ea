"""`opsdrill run`: the long-running bot process."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Iterable

from bot.app import App
from bot.config import Settings
from bot.ports import ChatAdapter

log = logging.getLogger(__name__)
HEARTBEAT_EVERY = 30.0


class NoPlatformConfigured(Exception):
    """`opsdrill run` was started with no chat platform to serve."""


def platform_adapters(settings: Settings) -> list[ChatAdapter]:
    """The adapters the environment configures."""
    adapters: list[ChatAdapter] = []
    if settings.slack_bot_token or settings.discord_token:
        raise NoPlatformConfigured(
            "This version runs in the terminal only (`opsdrill chat`, `opsdrill demo`); "
            "the Slack and Discord adapters are not part of it yet."
        )
    if not adapters:
        raise NoPlatformConfigured(
            "No chat platform is configured. Set SLACK_BOT_TOKEN or DISCORD_TOKEN, "
            "or try the bot in the terminal with `opsdrill chat`."
        )
    return adapters


async def run_bot(settings: Settings, *, stop_signals: Iterable[signal.Signals] = ()) -> None:
    adapters = platform_adapters(settings)
    app = await App.create(settings, adapters=adapters)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in stop_signals:
        loop.add_signal_handler(sig, stop.set)
    await app.start()
    log.info("OpsDrill is running with %s", ", ".join(a.platform for a in adapters))
    try:
        while not stop.is_set():
            settings.heartbeat_file.touch()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=HEARTBEAT_EVERY)
    finally:
        await app.stop()
