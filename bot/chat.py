"""`opsdrill chat`: the bot in the terminal, with you as a member (or an admin) of a local
team."""

from __future__ import annotations

from rich.console import Console

from adapters.console import ConsoleAdapter
from bot.app import App
from bot.config import Settings
from bot.domain import ChannelRef, UserRef
from bot.terminal import CHAT_CHANNEL, Terminal, converse, terminal

MOCK_HINT = (
    "Mock interview: type your answers here. hint, repeat, skip and stop work as in a DM; "
    "nothing you type counts as a round answer until the interview ends."
)
PRACTICE_LIMIT = 100


def no_round_hint(*, admin: bool) -> str:
    """What to do when no round is open; it agrees with what `/drill post` will say."""
    if admin:
        return (
            "No round is open right now. /drill post posts today's question if it has not run "
            "yet; /drill post --force starts a practice round now."
        )
    return (
        "No round is open right now. /drill today tells when the next one opens; an admin "
        "can start one (try opsdrill chat --admin)."
    )


async def handle_line(
    app: App, adapter: ConsoleAdapter, me: UserRef, channel: ChannelRef, line: str
) -> None:
    """One typed line, as the platforms would take it: `/drill …` (or `/…`) is a command; while
    a mock interview is going, anything else is a reply to it (a DM on Slack and Discord);
    otherwise it is an answer in the open round's thread."""
    if line.startswith("/"):
        name = line.removeprefix("/drill") if line.startswith("/drill") else line.lstrip("/")
        before = len(adapter.dms_to(me))
        reply = await adapter.command(me, channel, name)
        if len(adapter.dms_to(me)) == before or not await app.interviews.is_active(me):
            adapter.show(reply)  # else the interview itself is on screen, "by DM"
    elif await app.interviews.is_active(me):
        adapter.show(await adapter.dm(me, line))
    elif (meant := mistyped_command(line, app.router.commands)) is not None:
        adapter.console.print(
            f"Did you mean /drill {meant}? Commands start with a slash; that line was not "
            "taken as an answer.",
            style="yellow",
        )
    else:
        thread = await app.views.open_thread(channel)
        if thread is None:
            adapter.console.print(no_round_hint(admin=me.user_id in adapter.admins), style="yellow")
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


async def practice_round(t: Terminal) -> None:
    """`/drill post --force` in the terminal: today's round has run in #mlops, so the next
    question opens in a practice channel (#mlops-practice-N), where the session moves."""
    for number in range(1, PRACTICE_LIMIT + 1):
        name = f"{CHAT_CHANNEL}-practice-{number}"
        channel = t.adapter.channel(name)
        t.adapter.channel_names[name] = name
        await t.app.channels.ensure(channel, name=name)
        if await t.app.views.open_thread(channel) is None:
            await t.app.channels.update(channel, active=False)  # no daily rounds of its own
            await t.app.rounds.post_now(channel)
        if await t.app.views.open_thread(channel) is not None:
            t.channel = channel
            t.console.print(f"Practice round in #{name}: answers go there now.", style="dim")
            return
    t.console.print("No practice channel is free; try again tomorrow.", style="yellow")


async def run_chat(settings: Settings, console: Console, *, name: str, admin: bool) -> None:
    async with terminal(settings, console, name=name, admin=admin) as t:
        if await t.app.views.open_thread(t.channel) is None:
            await t.app.rounds.post_now(t.channel)  # as the schedule would; a no-op once run
        if await t.app.views.open_thread(t.channel) is None:
            t.adapter.show(await t.app.views.today(t.channel))
            if admin:
                console.print(no_round_hint(admin=admin), style="yellow")
        role = "an admin" if admin else "a member"
        console.print(
            f"You are @{name}, {role} of #{CHAT_CHANNEL}. Type your answer and press Enter to "
            "submit it; /drill help for commands; /quit or Ctrl-C to leave.",
            style="dim",
        )

        async def handle(line: str) -> bool:
            interviewing = await t.app.interviews.is_active(t.me)
            words = line.split()
            if admin and words[:2] == ["/drill", "post"] and "--force" in words:
                reply = await t.adapter.command(t.me, t.channel, "post")
                if await t.app.views.open_thread(t.channel) is None:
                    await practice_round(t)  # today's has run: the refusal is beside the point
                else:
                    t.adapter.show(reply)
            else:
                await handle_line(t.app, t.adapter, t.me, t.channel, line)
            await t.app.background.idle()  # the 👀 first, then the grade
            await t.app.grading.drain()
            now_interviewing = await t.app.interviews.is_active(t.me)
            if now_interviewing and not interviewing:
                console.print(MOCK_HINT, style="dim")
            elif interviewing and not now_interviewing:
                console.print(f"Back in #{t.channel.channel_id}.", style="dim")
            return True

        await converse(
            console, handle, goodbye="Bye! Your answers and points are kept for next time."
        )
