"""`opsdrill chat`: the bot in the terminal, with you as a member of a local team."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from rich.console import Console

from adapters.console import ConsoleAdapter
from bot.app import App
from bot.config import Settings
from bot.domain import ChannelRef, UserRef

CHAT_TEAM = "local"
CHAT_CHANNEL = "mlops"
QUIT = {"/quit", "/exit", "quit", "exit"}


async def typed_lines(console: Console) -> AsyncIterator[str]:
    """What the person types, line by line, until end of input or `/quit`."""
    while True:
        try:
            line = (await asyncio.to_thread(console.input, "[bold]> [/bold]")).strip()
        except (EOFError, KeyboardInterrupt):
            return
        if line.lower() in QUIT:
            return
        if line:
            yield line


async def handle_line(
    app: App, adapter: ConsoleAdapter, me: UserRef, channel: ChannelRef, line: str
) -> None:
    """One typed line, as the platforms would take it: `/drill …` (or `/…`) is a command; while
    a mock interview is going, anything else is a reply to it (a DM on Slack and Discord);
    otherwise it is an answer in the open round's thread."""
    if line.startswith("/"):
        name = line.removeprefix("/drill") if line.startswith("/drill") else line.lstrip("/")
        adapter.show(await adapter.command(me, channel, name))
    elif (meant := mistyped_command(line, app.router.commands)) is not None:
        adapter.console.print(
            f"Did you mean /drill {meant}? Commands start with a slash; that line was not "
            "taken as an answer.",
            style="yellow",
        )
    elif await app.interviews.is_active(me):
        adapter.show(await adapter.dm(me, line))
    else:
        thread = await app.views.open_thread(channel)
        if thread is None:
            adapter.console.print(
                "No round is open right now. `/drill today` tells when the next one opens; "
                "`/drill post` posts one now.",
                style="yellow",
            )
            return
        adapter.show((await adapter.answer(me, thread, line))[1])


def mistyped_command(line: str, commands: frozenset[str]) -> str | None:
    """The command a line without its slash meant (`drill today`, `help`), if it looks like
    one; None for anything else, such as an answer."""
    words = line.split()
    first = words[0].lower().lstrip("\\").rstrip(":") if words else ""
    if first == "drill":
        rest = words[1:]
        if rest and rest[0].lower() in commands:
            return " ".join(rest)[:60]
        return "help" if len(rest) <= 2 else None
    if len(words) <= 2 and first in commands:
        return " ".join(words)
    return None


async def run_chat(settings: Settings, console: Console, *, name: str) -> None:
    adapter = ConsoleAdapter(
        team_id=CHAT_TEAM, console=console, channel_names={CHAT_CHANNEL: CHAT_CHANNEL}
    )
    app = await App.create(settings, adapters=[adapter])
    me = adapter.user("U-me", name)
    adapter.admins.add(me.user_id)  # it is your own bot: you may post and close rounds
    channel = adapter.channel(CHAT_CHANNEL)
    try:
        await app.channels.ensure(channel, name=CHAT_CHANNEL)
        await app.start()
        if await app.views.open_thread(channel) is None:
            adapter.show(await adapter.command(me, channel, "post"))
        else:
            adapter.show(await adapter.command(me, channel, "today"))
        console.print(
            "Type your answer and press Enter to submit it; `/drill help` for commands; "
            "`/quit` to leave.",
            style="dim",
        )
        async for line in typed_lines(console):
            await handle_line(app, adapter, me, channel, line)
            await asyncio.sleep(0)
    finally:
        await app.stop()
