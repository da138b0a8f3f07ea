"""`opsdrill mock`: a mock interview in the terminal, each line you type a direct message."""

from __future__ import annotations

from rich.console import Console

from adapters.console import ConsoleAdapter
from bot.app import App
from bot.chat import CHAT_CHANNEL, CHAT_TEAM, handle_line, typed_lines
from bot.config import Settings


async def run_mock(
    settings: Settings, console: Console, *, name: str, topic: str | None, questions: int | None
) -> bool:
    """Run one interview to its scorecard (or until you quit); False if none could start."""
    adapter = ConsoleAdapter(team_id=CHAT_TEAM, console=console)
    app = await App.create(settings, adapters=[adapter])
    me = adapter.user("U-me", name)  # the same person as in `opsdrill chat`
    channel = adapter.channel(CHAT_CHANNEL)
    try:
        await app.start(schedule=False, workers=False)
        args = " ".join(a for a in (topic, str(questions) if questions else None) if a)
        before = len(adapter.dms_to(me))
        reply = await adapter.command(me, channel, f"mock {args}")
        active = await app.interviews.is_active(me)
        if not active or len(adapter.dms_to(me)) == before:
            adapter.show(reply)  # a refusal, or the offer to resume: nothing came by DM
        if not active:
            return False
        console.print(
            "Type your answer and press Enter. `hint`, `repeat`, `skip` and `stop` work as in "
            "a DM; `/quit` leaves the interview open for next time.",
            style="dim",
        )
        async for line in typed_lines(console):
            await handle_line(app, adapter, me, channel, line)
            if not await app.interviews.is_active(me):
                break
        return True
    finally:
        await app.stop()
