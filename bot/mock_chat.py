"""`opsdrill mock`: a mock interview in the terminal, each line you type a direct message."""

from __future__ import annotations

from rich.console import Console

from bot.chat import handle_line
from bot.config import Settings
from bot.terminal import converse, terminal

GOODBYE = "Bye! An unfinished interview stays open: opsdrill mock picks it up."


async def run_mock(
    settings: Settings, console: Console, *, name: str, topic: str | None, questions: int | None
) -> bool:
    """Run one interview to its scorecard (or until you quit); False if none could start."""
    async with terminal(settings, console, name=name, admin=False, schedule=False) as t:
        args = " ".join(a for a in (topic, str(questions) if questions else None) if a)
        await handle_line(t.app, t.adapter, t.me, t.channel, f"/drill mock {args}")
        if not await t.app.interviews.is_active(t.me):
            return False
        console.print(
            "Type your answer and press Enter. hint, repeat, skip and stop work as in a DM; "
            "/quit or Ctrl-C leaves the interview open for next time.",
            style="dim",
        )

        async def handle(line: str) -> bool:
            await handle_line(t.app, t.adapter, t.me, t.channel, line)
            await t.app.grading.drain()
            return await t.app.interviews.is_active(t.me)

        await converse(console, handle, goodbye=GOODBYE)
        return True
