"""OpsDrill on Discord (discord.py 2.x): rounds in embeds with a thread per question."""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import time
from datetime import UTC, datetime
from typing import Any

import discord
import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route

from adapters.discord.bot import PLATFORM, make_bot, thread_answer
from adapters.discord.render import (
    NO_PINGS,
    AnswerPrivately,
    CommandButton,
    carries_key,
    embed,
    message_kwargs,
    posted_key,
)
from bot.config import Settings
from bot.domain import AnswerPosted, Card, ChannelRef, MessageRef, Reaction, UserRef
from bot.ports import EventHandler

log = logging.getLogger(__name__)

EMOJI = {Reaction.RECEIVED: "👀", Reaction.GRADED: "✅", Reaction.REJECTED: "🚫"}
DMS_CLOSED = 50007
THREAD_EXISTS = 160004  # "A thread has already been created for this message"
FOLLOWUP_WINDOW = 14 * 60  # seconds; interaction tokens expire after 15 minutes
# What the bot needs in a channel: see, send (also in threads), start threads, embed, react.
PERMISSIONS = discord.Permissions(
    view_channel=True, send_messages=True, send_messages_in_threads=True,
    create_public_threads=True, embed_links=True, add_reactions=True, read_message_history=True,
)  # fmt: skip


def point_at(api_url: str | None) -> None:
    """Send discord.py's REST calls to `api_url` (tests, proxies) instead of Discord's."""
    if api_url:
        Route.BASE = api_url.rstrip("/")


def invite_url(application_id: int | str) -> str:
    """The OAuth2 URL that adds the bot with exactly the scopes and permissions it needs."""
    return (
        "https://discord.com/oauth2/authorize"
        f"?client_id={application_id}&scope=bot+applications.commands"
        f"&permissions={PERMISSIONS.value}"
    )


class DiscordAdapter:
    """A `ChatAdapter` for Discord."""

    platform = PLATFORM

    def __init__(self, settings: Settings, **bot_options: Any) -> None:
        self._settings = settings
        self._token = settings.discord_token.get_secret_value() if settings.discord_token else ""
        point_at(settings.discord_api_url)
        self.bot = make_bot(
            self, sharded=settings.discord_shards is not None or bool(settings.discord_shard_ids),
            **_shard_kwargs(settings), **bot_options,
        )  # fmt: skip
        self._on_event: EventHandler | None = None
        self._task: asyncio.Task[None] | None = None
        self._dm_notices: dict[str, Card] = {}
        self._private: dict[tuple[str, str], tuple[Any, float]] = {}
        self._handling: set[asyncio.Task[Any]] = set()
        """discord.py's tasks that handed an event to the core and are not finished yet."""

    # --- lifecycle ---------------------------------------------------------------------------

    async def start(self, on_event: EventHandler) -> None:
        self._on_event = on_event
        await self.bot.login(self._token)
        if self._settings.discord_api_url:
            # A plain Bot connects straight to Discord's gateway unless told where it is.
            _, url, _ = await self.bot.http.get_bot_gateway()
            DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(url)
        self.bot.add_dynamic_items(AnswerPrivately, CommandButton)  # buttons outlive restarts
        if self._settings.discord_sync_commands:
            await sync_commands(self.bot, self._settings.discord_sync_guild)
        self._task = asyncio.create_task(self.bot.connect(reconnect=True))
        await asyncio.wait_for(self.bot.wait_until_ready(), timeout=60)
        log.info("Discord: connected as %s", self.bot.user)

    async def stop(self) -> None:
        await self.bot.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    async def deliver(self, event: Any) -> Card | None:
        """Hand `event` to the core; the task doing it counts as in flight until it ends (its
        reply sent too), so `idle` can wait for it."""
        if self._on_event is None:
            return None
        task = asyncio.current_task()
        if task is not None and task not in self._handling:
            self._handling.add(task)
            task.add_done_callback(self._handling.discard)
        return await self._on_event(event)

    async def idle(self) -> None:
        """Wait until every event handed to the core so far is handled."""
        while pending := self._handling - {asyncio.current_task()}:
            await asyncio.wait(pending)

    @property
    def in_flight(self) -> int:
        """How many events are being handled."""
        return len(self._handling)

    def remember_private_answer(self, interaction: Any, question: MessageRef) -> None:
        """Keep the modal's interaction so feedback can follow up on it (its token lives 15
        minutes)."""
        key = (str(interaction.user.id), str(question.thread_id))
        self._private[key] = (interaction, time.monotonic() + FOLLOWUP_WINDOW)

    async def _private_followup(self, user: UserRef, parent: MessageRef, card: Card) -> bool:
        entry = self._private.pop((user.user_id, str(parent.thread_id)), None)
        if entry is None or entry[1] < time.monotonic():
            return False
        interaction = entry[0]
        try:
            await interaction.followup.send(embed=embed(card), ephemeral=True,
                                            allowed_mentions=NO_PINGS)  # fmt: skip
        except discord.HTTPException:
            return False
        return True

    def take_dm_notice(self, user_id: str) -> Card | None:
        """A notice owed to someone whose DMs were closed, shown with their next command."""
        return self._dm_notices.pop(user_id, None)

    # --- ChatAdapter: outbound -----------------------------------------------------------------

    async def post(self, channel: ChannelRef, card: Card, *, key: str | None = None) -> MessageRef:
        """Post `card` and start its answers thread. With `key`, sending again (say, after a
        lost response) neither duplicates the message nor fails on its existing thread."""
        target = await self._channel(int(channel.channel_id))
        kwargs = message_kwargs(card, key=key)
        if key is not None:
            # discord.py sends enforce_nonce with it: Discord answers a repeat within a few
            # minutes with the message it already has. The nonce is gone from history, so the
            # key also rides in the card's button (see `answer_privately_id`).
            kwargs["nonce"] = key
            if not carries_key(card):
                log.warning("Discord: card %r has no button to carry key %s: find_post will "
                            "not find it", card.title, key)  # fmt: skip
        message = await target.send(**kwargs)
        try:
            thread = await message.create_thread(
                name=_thread_name(card), auto_archive_duration=1440
            )
        except discord.HTTPException as exc:
            if exc.code != THREAD_EXISTS:
                raise
            # The first try started it; a thread started from a message has the message's id.
            return MessageRef(channel, str(message.id), str(message.id))
        return MessageRef(channel, str(message.id), str(thread.id))

    async def find_post(
        self, channel: ChannelRef, key: str, *, since: datetime
    ) -> MessageRef | None:
        """Our post tagged `key` in `channel` at or after `since`, read from the history;
        `thread_id` is None if its thread was never started."""
        target = await self._channel(int(channel.channel_id))
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        # `after` is exclusive: start just below the first id `since` can have.
        after = discord.Object(id=discord.utils.time_snowflake(since, high=False) - 1)
        me = self.bot.user
        async for message in target.history(limit=None, after=after, oldest_first=True):
            if me is None or message.author.id != me.id or posted_key(message) != key:
                continue
            threaded = message.thread is not None or message.flags.has_thread
            return MessageRef(channel, str(message.id), str(message.id) if threaded else None)
        return None

    async def thread_replies(
        self, thread: MessageRef, *, after: str | None = None
    ) -> list[AnswerPosted]:
        """What people wrote in `thread` after message `after`, oldest first, from history."""
        target = await self._channel(int(thread.thread_id or thread.message_id))
        start = discord.Object(id=int(after)) if after is not None else None
        replies: list[AnswerPosted] = []
        async for message in target.history(limit=None, after=start, oldest_first=True):
            answer = thread_answer(message)
            if answer is not None:
                replies.append(answer)
        return replies

    async def reply(
        self,
        parent: MessageRef,
        card: Card,
        *,
        private_to: UserRef | None = None,
        broadcast: bool = False,
    ) -> MessageRef | None:
        if private_to is not None:
            if await self._private_followup(private_to, parent, card):
                return None
            return await self.send_dm(private_to, card)
        thread = await self._channel(int(parent.thread_id or parent.message_id))
        sent = await thread.send(**message_kwargs(card))
        return MessageRef(parent.channel, str(sent.id), parent.thread_id)

    async def send_file(
        self, user: UserRef, card: Card, filename: str, content: bytes
    ) -> MessageRef | None:
        """A DM with the file attached (the same closed-DMs handling as any DM)."""
        return await self.send_dm(user, card, file=(filename, content))

    async def post_file(
        self, channel: ChannelRef, card: Card, filename: str, content: bytes
    ) -> MessageRef | None:
        """The card as an embed showing the file (`attachment://<filename>`) as its image."""
        target = await self._channel(int(channel.channel_id))
        kwargs = message_kwargs(card)
        kwargs["embed"].set_image(url=f"attachment://{filename}")
        sent = await target.send(**kwargs, file=discord.File(io.BytesIO(content), filename))
        return MessageRef(channel, str(sent.id))

    async def send_dm(
        self, user: UserRef, card: Card, *, file: tuple[str, bytes] | None = None
    ) -> MessageRef | None:
        target = self.bot.get_user(int(user.user_id)) or await self.bot.fetch_user(
            int(user.user_id)
        )
        try:
            kwargs = message_kwargs(card)
            if file is not None:
                kwargs["file"] = discord.File(io.BytesIO(file[1]), filename=file[0])
            sent = await target.send(**kwargs)
        except discord.Forbidden as exc:
            if exc.code != DMS_CLOSED:
                raise
            self._dm_notices[user.user_id] = Card(
                "I couldn't send you a direct message",
                "Your DMs are closed to this server's members, so your feedback did not reach "
                f"you. Open them in the server's Privacy Settings. It was: {card.title}.",
            )
            log.info("Discord: DMs closed for a user; a notice waits for their next command")
            return None
        return MessageRef(ChannelRef(PLATFORM, user.team_id, str(sent.channel.id)), str(sent.id))

    async def react(self, message: MessageRef, reaction: Reaction) -> None:
        channel = await self._channel(int(message.thread_id or message.channel.channel_id))
        partial = channel.get_partial_message(int(message.message_id))
        await partial.add_reaction(EMOJI[reaction])

    async def is_admin(self, user: UserRef, channel: ChannelRef) -> bool:
        """Manage Server, checked here (the command group stays visible to everyone)."""
        guild = self.bot.get_guild(int(user.team_id)) if user.team_id.isdigit() else None
        if guild is None:
            return False
        member = guild.get_member(int(user.user_id)) or await guild.fetch_member(int(user.user_id))
        return member.guild_permissions.manage_guild

    async def _channel(self, channel_id: int) -> Any:
        return self.bot.get_channel(channel_id) or await self.bot.fetch_channel(channel_id)


async def sync_commands(bot: Any, guild_id: int | None) -> int:
    """Register `/drill` with Discord (globally, or on one guild at once for testing)."""
    guild = discord.Object(id=guild_id) if guild_id else None
    if guild is not None:
        bot.tree.copy_global_to(guild=guild)
    synced = await bot.tree.sync(guild=guild)
    log.info(
        "Discord: synced %d command(s) %s",
        len(synced),
        f"to guild {guild_id}" if guild else "globally",
    )
    return len(synced)


def _thread_name(card: Card) -> str:
    first = card.body.strip().splitlines()[-1] if card.body.strip() else card.title
    return ("Answers · " + first)[:100]


def _shard_kwargs(settings: Settings) -> dict[str, Any]:
    """This replica's shards: a subset of the bot's (DISCORD_SHARD_IDS of DISCORD_SHARD_COUNT),
    or all of DISCORD_SHARDS, or Discord's recommended count (0)."""
    if settings.discord_shard_ids:
        return {
            "shard_ids": list(settings.discord_shard_ids),
            "shard_count": settings.discord_shard_count,
        }
    count = settings.discord_shard_count or settings.discord_shards
    return {"shard_count": count} if count else {}
