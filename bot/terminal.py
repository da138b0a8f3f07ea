"""The terminal side of `opsdrill chat` and `opsdrill mock`: the local team, you in it, and the
loop that reads what you type until you leave (`/quit`, end of input or Ctrl-C)."""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import queue
import signal
import sys
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from rich.console import Console

from adapters.console import ConsoleAdapter
from bot.app import App
from bot.config import Settings
from bot.domain import ChannelRef, UserRef

CHAT_TEAM = "local"
CHAT_CHANNEL = "mlops"
PERSON_ID = "U-me"  # the same person in `opsdrill chat` and `opsdrill mock`
QUIT = {"/quit", "/exit", "quit", "exit"}
PROMPT = "[bold]> [/bold]"


def default_name() -> str:
    """Your login name: the terminal's person is you."""
    try:
        return getpass.getuser() or "me"
    except (OSError, KeyError):
        return "me"


@dataclass
class Terminal:
    """One terminal session: the app, the console platform and who is typing."""

    app: App
    adapter: ConsoleAdapter
    me: UserRef
    channel: ChannelRef
    console: Console
    admin: bool


@contextlib.asynccontextmanager
async def terminal(
    settings: Settings, console: Console, *, name: str, admin: bool, schedule: bool = True
) -> AsyncIterator[Terminal]:
    """The local team's #mlops with you in it, running until the block ends. Grading runs when
    `drain` is called, so what a line causes is on screen before the next prompt."""
    adapter = ConsoleAdapter(
        team_id=CHAT_TEAM, console=console, channel_names={CHAT_CHANNEL: CHAT_CHANNEL}
    )
    app = await App.create(settings, adapters=[adapter])
    me = adapter.user(PERSON_ID, name)
    if admin:
        adapter.admins.add(me.user_id)
    channel = adapter.channel(CHAT_CHANNEL)
    try:
        await app.channels.ensure(channel, name=CHAT_CHANNEL)
        await app.start(schedule=schedule, workers=False)
        yield Terminal(app, adapter, me, channel, console, admin)
    finally:
        await app.stop()


async def converse(
    console: Console, handle: Callable[[str], Awaitable[bool]], *, goodbye: str
) -> None:
    """Give each typed line to `handle` (False: the session is over) until `/quit`, end of
    input or Ctrl-C, then say `goodbye`. Ctrl-C leaves at once, even mid-line."""
    loop = asyncio.get_running_loop()
    interrupted = asyncio.Event()
    loop.add_signal_handler(signal.SIGINT, interrupted.set)
    keyboard = _Keyboard(console, loop)
    line: Any = ""
    try:
        while True:
            line = await _unless(interrupted, keyboard.line())
            if not isinstance(line, str) or line.strip().lower() in QUIT:
                break
            if line.strip() and await _unless(interrupted, handle(line.strip())) is not True:
                break
    finally:
        loop.remove_signal_handler(signal.SIGINT)
    if not isinstance(line, str) or interrupted.is_set():
        console.print()  # off the prompt's line (^C or ^D was typed there)
    console.print(goodbye, style="dim")


_INTERRUPTED = object()


async def _unless(stop: asyncio.Event, work: Awaitable[Any]) -> Any:
    """`work`'s result, or `_INTERRUPTED` (with `work` cancelled) if `stop` is set first."""
    task = asyncio.ensure_future(work)
    stopper = asyncio.ensure_future(stop.wait())
    await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    stopper.cancel()
    if task.done():
        return task.result()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return _INTERRUPTED


class _Keyboard:
    """Reads a line when asked, in a daemon thread: a read blocked on the keyboard neither
    delays Ctrl-C nor keeps the process alive, and the prompt shows only when asked for."""

    def __init__(self, console: Console, loop: asyncio.AbstractEventLoop) -> None:
        self._console = console
        self._loop = loop
        self._typed = sys.stdin.isatty()  # else the lines come from a file or a pipe
        self._asks: queue.SimpleQueue[asyncio.Future[str | None]] = queue.SimpleQueue()
        threading.Thread(target=self._read, name="keyboard", daemon=True).start()

    async def line(self) -> str | None:
        """The next line typed, None at end of input."""
        future: asyncio.Future[str | None] = self._loop.create_future()
        self._asks.put(future)
        return await future

    def _read(self) -> None:
        while True:
            future = self._asks.get()
            try:
                line: str | None = self._console.input(PROMPT)
                if not self._typed:
                    self._console.print(line, highlight=False, markup=False)  # as if echoed
            except (EOFError, OSError, ValueError):
                line = None
            self._loop.call_soon_threadsafe(_settle, future, line)
            if line is None:
                return


def _settle(future: asyncio.Future[str | None], line: str | None) -> None:
    if not future.done():
        future.set_result(line)
