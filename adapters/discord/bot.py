"""One `commands.Bot` subclass and one cog: the `/drill` command group, thread answers, DMs."""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any, Literal

import discord
from discord import app_commands
from discord.ext import commands

from adapters.discord.render import NO_PINGS, embed
from bot.domain import (
    AnswerDeleted,
    AnswerEdited,
    AnswerPosted,
    Card,
    ChannelRef,
    CommandInvoked,
    DirectMessage,
    MessageRef,
    Reconnected,
    UserRef,
)
from bot.user_text import MAX_ANSWER_CHARS

if TYPE_CHECKING:
    from adapters.discord.adapter import DiscordAdapter

log = logging.getLogger(__name__)
PLATFORM = "discord"


def intents() -> discord.Intents:
    """Guilds, guild messages, message content (privileged), DMs."""
    chosen = discord.Intents.none()
    chosen.guilds = True
    chosen.guild_messages = True
    chosen.message_content = True
    chosen.dm_messages = True
    return chosen


def bot_class(sharded: bool) -> type[commands.Bot] | type[commands.AutoShardedBot]:
    return commands.AutoShardedBot if sharded else commands.Bot


def make_bot(adapter: DiscordAdapter, *, sharded: bool = False, **kwargs: Any) -> commands.Bot:
    """The bot, with the cog added in `setup_hook` (dependencies passed in, not global)."""
    base = bot_class(sharded)

    class OpsDrillBot(base):  # type: ignore[valid-type,misc]
        async def setup_hook(self) -> None:
            await self.add_cog(DrillCog(self, adapter))

    return OpsDrillBot(
        command_prefix=commands.when_mentioned, intents=intents(), help_command=None,
        allowed_mentions=NO_PINGS, **kwargs,
    )  # fmt: skip


# What people type; pins, renames and other system notices in a thread are no answers.
_PEOPLES_MESSAGES = (discord.MessageType.default, discord.MessageType.reply)


def thread_answer(message: discord.Message) -> AnswerPosted | None:
    """A person's message in a thread as an answer; None for bots, system notices and messages
    outside a thread. The gateway (`on_message`) and history (`thread_replies`) both use it."""
    channel = message.channel
    if message.author.bot or message.type not in _PEOPLES_MESSAGES or message.guild is None:
        return None
    if not isinstance(channel, discord.Thread) or channel.parent_id is None:
        return None
    parent = ChannelRef(PLATFORM, str(message.guild.id), str(channel.parent_id))
    return AnswerPosted(
        message=MessageRef(parent, str(message.id), str(channel.id)),
        thread=MessageRef(parent, str(channel.id), str(channel.id)),
        author=UserRef(PLATFORM, str(message.guild.id), str(message.author.id)),
        author_name=message.author.display_name,
        text=message.content,
        sent_at=message.created_at,
    )


class PrivateAnswer(discord.ui.Modal, title="Answer privately"):
    answer: discord.ui.TextInput[PrivateAnswer] = discord.ui.TextInput(
        label="Your answer (hidden until the reveal)",
        custom_id="opsdrill:answer",
        style=discord.TextStyle.paragraph,
        max_length=MAX_ANSWER_CHARS,
    )

    def __init__(self, cog: DrillCog, parent: ChannelRef, question: MessageRef) -> None:
        super().__init__(custom_id="opsdrill:private_answer")
        self._cog, self._parent, self._question = cog, parent, question

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        user = self._cog.user_ref(interaction)
        event = AnswerPosted(
            message=MessageRef(self._parent, f"modal-{interaction.id}", self._question.thread_id),
            thread=self._question,
            author=user,
            author_name=interaction.user.display_name,
            text=str(self.answer.value),
            private=True,
        )
        # Feedback on a private answer goes back as an ephemeral follow-up on this interaction.
        self._cog.adapter.remember_private_answer(interaction, self._question)
        await self._cog.respond(interaction, self._cog.deliver(event))


class DrillCog(commands.Cog):
    drill = app_commands.Group(name="drill", description="Daily MLOps interview drills")

    def __init__(self, bot: commands.Bot, adapter: DiscordAdapter) -> None:
        self.bot = bot
        self.adapter = adapter
        self._sessions: set[int | None] = set()
        """Shards (None: the unsharded bot) that had a gateway session since start."""

    # --- helpers -------------------------------------------------------------------------

    def deliver(self, event: Any) -> Awaitable[Card | None]:
        return self.adapter.deliver(event)

    def user_ref(self, interaction: discord.Interaction[Any]) -> UserRef:
        team = str(interaction.guild_id or "dm")
        return UserRef(PLATFORM, team, str(interaction.user.id))

    async def respond(
        self, interaction: discord.Interaction[Any], work: Awaitable[Card | None]
    ) -> None:
        """Reply privately. The interaction is deferred first, before `work` touches the
        database: Discord drops an interaction not answered within 3 s, and a deferred one
        can be followed up for 15 minutes."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            card = await work
        except Exception:
            log.exception("Discord: a command failed (guild %s)", interaction.guild_id)
            card = Card(
                title="Something went wrong",
                body="OpsDrill could not do that just now. Try again in a moment.",
                refused=True,
            )
        notice = self.adapter.take_dm_notice(str(interaction.user.id))
        embeds = [embed(card)] if card is not None else []
        if notice is not None:
            embeds.append(embed(notice))
        if not embeds:
            embeds = [discord.Embed(title="Done")]
        await interaction.followup.send(embeds=embeds, ephemeral=True, allowed_mentions=NO_PINGS)

    async def command(self, interaction: discord.Interaction[Any], name: str, *args: Any) -> None:
        channel_id = interaction.channel_id
        channel = interaction.channel
        if isinstance(channel, discord.Thread) and channel.parent_id:
            channel_id = channel.parent_id
        event = CommandInvoked(
            channel=ChannelRef(PLATFORM, str(interaction.guild_id or "dm"), str(channel_id)),
            user=self.user_ref(interaction),
            user_name=interaction.user.display_name,
            name=name,
            args=tuple(str(a) for a in args if a not in (None, "")),
        )
        await self.respond(interaction, self.deliver(event))

    # --- /drill ----------------------------------------------------------------------------

    @drill.command(name="today", description="Today's question and its deadline")
    async def today(self, interaction: discord.Interaction[Any]) -> None:
        await self.command(interaction, "today")

    @drill.command(name="leaderboard", description="Standings for this channel or the server")
    @app_commands.describe(period="week, month or all", scope="channel, team or squads")
    async def leaderboard(
        self,
        interaction: discord.Interaction[Any],
        period: Literal["week", "month", "all"] = "week",
        scope: Literal["channel", "team", "squads"] = "channel",
    ) -> None:
        kind = scope if scope in ("team", "squads") else ""
        await self.command(interaction, "leaderboard", kind, period)

    @drill.command(name="stats", description="Your points, streak and topics")
    async def stats(self, interaction: discord.Interaction[Any]) -> None:
        await self.command(interaction, "stats")

    @drill.command(name="mock", description="A one-to-one mock interview in DMs")
    async def mock(
        self, interaction: discord.Interaction[Any], topic: str = "", questions: str = ""
    ) -> None:
        await self.command(interaction, "mock", topic, questions)

    @drill.command(name="help", description="What OpsDrill can do")
    async def help(self, interaction: discord.Interaction[Any]) -> None:
        await self.command(interaction, "help")

    @drill.command(name="forget-me", description="Delete everything OpsDrill keeps about you")
    async def forget_me(self, interaction: discord.Interaction[Any], confirm: bool = False) -> None:
        await self.command(interaction, "forget-me", "confirm" if confirm else "")

    @drill.command(name="squad", description="Squads: list, join, leave; admins create and add")
    @app_commands.describe(
        action="join, leave, create or add (blank: list)",
        name="The squad",
        people="(add) mentions of the people to add",
    )
    async def squad(
        self,
        interaction: discord.Interaction[Any],
        action: str = "",
        name: str = "",
        people: str = "",
    ) -> None:
        await self.command(interaction, "squad", action, name, *people.split())

    @drill.command(name="recap", description="The weekly recap: admins post it, you see it")
    @app_commands.describe(day="(admins) the recap's weekday, or off")
    async def recap(self, interaction: discord.Interaction[Any], day: str = "") -> None:
        await self.command(interaction, "recap", *(("day", day) if day else ()))

    @drill.command(name="export", description="Your data as a JSON file by DM")
    @app_commands.describe(channel="(admins) this channel's rounds and scores as CSV instead")
    async def export(self, interaction: discord.Interaction[Any], channel: bool = False) -> None:
        await self.command(interaction, "export", "channel" if channel else "")

    @drill.command(name="contest", description="Ask the admins to look again at your grade here")
    @app_commands.describe(reason="Why the grade of your latest answer here is wrong")
    async def contest(self, interaction: discord.Interaction[Any], reason: str) -> None:
        await self.command(interaction, "contest", reason)

    @drill.command(name="grade", description="(admins) Regrade an answer; the person is told")
    @app_commands.describe(
        score="0 to 10",
        reason="Why: the person sees it",
        person="Their latest answer in this channel",
        link="Or a link to the answer",
    )
    async def grade(
        self,
        interaction: discord.Interaction[Any],
        score: app_commands.Range[float, 0, 10],
        reason: str,
        person: discord.User | None = None,
        link: str = "",
    ) -> None:
        target = _answer_target(person, link)
        await self.command(interaction, "grade", target, f"{score:g}", reason)

    @drill.command(name="audit", description="(admins) Grade history, or the open contests")
    @app_commands.describe(person="Whose grades", link="Or a link to one answer")
    async def audit(
        self,
        interaction: discord.Interaction[Any],
        person: discord.User | None = None,
        link: str = "",
    ) -> None:
        target = _answer_target(person, link)
        await self.command(interaction, "audit", target)

    @drill.command(name="replace", description="Count your new attempt instead of your answer")
    async def replace(self, interaction: discord.Interaction[Any]) -> None:
        await self.command(interaction, "replace")

    @drill.command(name="keep", description="Keep your answer; the new attempt does not count")
    async def keep(self, interaction: discord.Interaction[Any]) -> None:
        await self.command(interaction, "keep")

    @drill.command(name="post", description="(admins) Post today's question now")
    async def post(self, interaction: discord.Interaction[Any]) -> None:
        await self.command(interaction, "post")

    @drill.command(name="close", description="(admins) Close the open round now")
    async def close(self, interaction: discord.Interaction[Any]) -> None:
        await self.command(interaction, "close")

    @drill.command(name="schedule", description="(admins) When rounds post")
    @app_commands.describe(time="HH:MM", zone="e.g. Europe/Berlin", days="mon-fri, daily, …")
    async def schedule(
        self, interaction: discord.Interaction[Any], time: str = "", zone: str = "", days: str = ""
    ) -> None:
        await self.command(interaction, "schedule", time, zone, days)

    @drill.command(name="window", description="(admins) How long a round stays open, e.g. 8h")
    async def window(self, interaction: discord.Interaction[Any], length: str = "") -> None:
        await self.command(interaction, "window", length)

    @drill.command(name="categories", description="(admins) Limit this channel's topics")
    async def categories(self, interaction: discord.Interaction[Any], names: str = "") -> None:
        await self.command(interaction, "categories", *names.split())

    @drill.command(name="difficulty", description="(admins) Limit this channel's difficulty")
    async def difficulty(self, interaction: discord.Interaction[Any], levels: str = "") -> None:
        await self.command(interaction, "difficulty", *levels.split())

    @drill.command(name="pause", description="(admins) Stop the daily rounds here")
    async def pause(self, interaction: discord.Interaction[Any]) -> None:
        await self.command(interaction, "pause")

    @drill.command(name="resume", description="(admins) Restart the daily rounds here")
    async def resume(self, interaction: discord.Interaction[Any]) -> None:
        await self.command(interaction, "resume")

    # --- gateway sessions --------------------------------------------------------------------

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        # A sharded bot fires on_ready only once all shards are up: its shards report below.
        if not isinstance(self.bot, commands.AutoShardedBot):
            await self._session_started(None)

    @commands.Cog.listener()
    async def on_shard_ready(self, shard_id: int) -> None:
        await self._session_started(shard_id)

    async def _session_started(self, shard: int | None) -> None:
        """A READY after the first means Discord gave us a new session (RESUME failed): what
        was sent in between never arrives, so the core is told to read it back. A RESUME
        replays the missed events and fires on_resumed instead, so it lands nowhere here."""
        if shard not in self._sessions:
            self._sessions.add(shard)
            return
        log.warning("Discord: a new gateway session (shard %s); events in the gap are lost", shard)
        await self.deliver(Reconnected(platform=PLATFORM))

    # --- messages and components -----------------------------------------------------------

    async def open_private_answer(self, interaction: discord.Interaction[Any]) -> None:
        """The "Answer privately" form for the question the clicked button sits under."""
        message = interaction.message
        if message is None:
            return
        parent = ChannelRef(PLATFORM, str(interaction.guild_id), str(message.channel.id))
        thread_id = str(message.thread.id) if message.thread else str(message.id)
        question = MessageRef(parent, str(message.id), thread_id)
        await interaction.response.send_modal(PrivateAnswer(self, parent, question))

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        if message.author.bot:
            return
        if message.guild is None:
            user = UserRef(PLATFORM, "dm", str(message.author.id))
            card = await self.deliver(
                DirectMessage(user=user, user_name=message.author.display_name,
                              text=message.content, message_id=str(message.id))
            )  # fmt: skip
            if card is not None:
                await message.channel.send(embed=embed(card), allowed_mentions=NO_PINGS)
            return
        answer = thread_answer(message)
        if answer is not None:
            await self.deliver(answer)

    @commands.Cog.listener()
    async def on_raw_message_edit(self, payload: discord.RawMessageUpdateEvent) -> None:
        data: Any = payload.data
        author = data.get("author") or {}
        if author.get("bot") or "content" not in data or payload.guild_id is None:
            return
        parent_id = self._parent_of(payload.channel_id)
        if parent_id is None:
            return
        parent = ChannelRef(PLATFORM, str(payload.guild_id), parent_id)
        thread_id = str(payload.channel_id)
        await self.deliver(
            AnswerEdited(
                message=MessageRef(parent, str(payload.message_id), thread_id),
                thread=MessageRef(parent, thread_id, thread_id),
                author=UserRef(PLATFORM, str(payload.guild_id), str(author.get("id", ""))),
                text=str(data["content"]),
            )
        )

    @commands.Cog.listener()
    async def on_raw_message_delete(self, payload: discord.RawMessageDeleteEvent) -> None:
        parent_id = self._parent_of(payload.channel_id)
        if parent_id is None or payload.guild_id is None:
            return
        parent = ChannelRef(PLATFORM, str(payload.guild_id), parent_id)
        thread_id = str(payload.channel_id)
        await self.deliver(
            AnswerDeleted(
                message=MessageRef(parent, str(payload.message_id), thread_id),
                thread=MessageRef(parent, thread_id, thread_id),
            )
        )

    def _parent_of(self, channel_id: int) -> str | None:
        channel = self.bot.get_channel(channel_id)
        if isinstance(channel, discord.Thread) and channel.parent_id:
            return str(channel.parent_id)
        return None


def _answer_target(person: discord.User | None, link: str) -> str:
    """How the core names an answer: a link to it, else the person mentioned ("" for none)."""
    return link or (f"<@{person.id}>" if person is not None else "")
