"""`opsdrill run`: the long-running bot process."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import sys
from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import App
from bot.config import Settings
from bot.ports import ChatAdapter
from bot.storage.db import make_engine

log = logging.getLogger(__name__)
HEARTBEAT_EVERY = 30.0
SWITCH_INTERVAL = 0.0005


class NoPlatformConfigured(Exception):
    """`opsdrill run` was started with no chat platform to serve."""


def platform_adapters(
    settings: Settings,
    *,
    slack_mode: str | None = None,
    host: str = "0.0.0.0",
    port: int = 3000,
    engine: AsyncEngine | None = None,
) -> list[ChatAdapter]:
    """The adapters the environment configures; NoPlatformConfigured says what is missing.
    `engine` is the app's database, for Slack installations into many workspaces."""
    adapters: list[ChatAdapter] = []
    multi = bool(settings.slack_client_id and settings.slack_client_secret)
    if settings.slack_bot_token or multi:
        mode = slack_mode or ("socket" if settings.slack_app_token else "http")
        if mode == "socket" and not settings.slack_app_token:
            raise NoPlatformConfigured(
                "Slack Socket Mode needs SLACK_APP_TOKEN (an xapp- token with "
                "connections:write); or run over HTTP with --slack-mode http --port N."
            )
        if mode == "http" and not settings.slack_signing_secret:
            raise NoPlatformConfigured("Slack over HTTP needs SLACK_SIGNING_SECRET.")
        if mode == "socket" and multi:
            raise NoPlatformConfigured(
                "Installing into many workspaces (SLACK_CLIENT_ID/SECRET) needs HTTP mode: "
                "--slack-mode http --port N."
            )
        from adapters.slack import SlackAdapter

        adapters.append(
            SlackAdapter(settings, mode=mode, host=host, port=port, engine=engine)  # type: ignore[arg-type]
        )
    if settings.discord_token:
        from adapters.discord import DiscordAdapter

        adapters.append(DiscordAdapter(settings))
    if not adapters:
        raise NoPlatformConfigured(
            "No chat platform is configured. Set SLACK_BOT_TOKEN or DISCORD_TOKEN (see the "
            "README), or try the bot in the terminal with `opsdrill chat`."
        )
    return adapters


async def run_bot(
    settings: Settings,
    *,
    stop_signals: Iterable[signal.Signals] = (),
    slack_mode: str | None = None,
    host: str = "0.0.0.0",
    port: int = 3000,
) -> None:
    engine = make_engine(settings.database_url)  # one pool, shared with the Slack adapter
    adapters = platform_adapters(
        settings, slack_mode=slack_mode, host=host, port=port, engine=engine
    )
    # The database drivers' threads hand results back through the GIL: a short switch interval
    # keeps a busy event loop from holding each handback for the default 5 ms.
    sys.setswitchinterval(SWITCH_INTERVAL)
    app = await App.create(settings, adapters=adapters, engine=engine)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in stop_signals:
        loop.add_signal_handler(sig, stop.set)
    await app.start()
    # What is loaded by now (the bank, the grader's models, the SDKs) lives as long as the
    # process: kept out of the collector's full passes, which otherwise walk it all and stall
    # the event loop for 60-75 ms, several times in a burst (every ack in flight waits).
    gc.freeze()
    log.info("OpsDrill is running with %s", ", ".join(a.platform for a in adapters))
    try:
        while not stop.is_set():
            settings.heartbeat_file.touch()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=HEARTBEAT_EVERY)
    finally:
        await app.stop()
