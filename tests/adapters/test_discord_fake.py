"""The Discord fake (tests/fakes/discord/) against the real discord.py ``commands.Bot``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import discord
import pytest
import yarl
from discord import app_commands
from discord.ext import commands
from discord.gateway import DiscordWebSocket
from discord.http import Route

from tests.fakes.discord_api import FakeDiscord

pytestmark = pytest.mark.asyncio

USER = 424_242_424_242_424_242
ADMIN = 434_343_434_343_434_343


@dataclass
class Harness:
    fake: FakeDiscord
    bot: commands.Bot
    messages: asyncio.Queue[discord.Message] = field(default_factory=asyncio.Queue)

    async def next_message(
        self, predicate: Callable[[discord.Message], bool] = lambda m: True
    ) -> discord.Message:
        async with asyncio.timeout(5):
            while True:
                message = await self.messages.get()
                if predicate(message):
                    return message

    @property
    def channel(self) -> discord.TextChannel:
        channel = self.bot.get_channel(self.fake.channel_id)
        assert isinstance(channel, discord.TextChannel)
        return channel


class Answer(discord.ui.Modal, title="Your answer"):
    text: discord.ui.TextInput[Answer] = discord.ui.TextInput(
        label="Answer", custom_id="answer", style=discord.TextStyle.paragraph
    )

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(f"got: {self.text.value}", ephemeral=True)


class AnswerButton(discord.ui.View):
    @discord.ui.button(label="Answer", custom_id="drill:answer")
    async def answer(
        self, interaction: discord.Interaction, button: discord.ui.Button[AnswerButton]
    ) -> None:
        await interaction.response.send_modal(Answer())


def _drill_group() -> app_commands.Group:
    drill = app_commands.Group(name="drill", description="Daily MLOps drills")

    @drill.command(name="leaderboard", description="Show the leaderboard")
    async def leaderboard(interaction: discord.Interaction, period: str) -> None:
        await interaction.response.send_message(f"period={period}", ephemeral=True)

    @drill.command(name="grade", description="Grade slowly")
    async def grade(interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        await interaction.followup.send("graded: 4/5")

    @drill.command(name="question", description="Post a question with a button")
    async def question(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("Q1: what is drift?", view=AnswerButton())

    return drill


def _admin_group() -> app_commands.Group:
    admin = app_commands.Group(
        name="drilladmin",
        description="Configure drills",
        default_permissions=discord.Permissions(manage_guild=True),
    )

    @admin.command(name="channel", description="Set the drill channel")
    async def channel(interaction: discord.Interaction, channel: discord.TextChannel) -> None:
        allowed = interaction.permissions.manage_guild
        await interaction.response.send_message(f"{channel.name} {allowed}", ephemeral=True)

    return admin


async def _start_bot(
    fake: FakeDiscord, intents: discord.Intents
) -> tuple[Harness, asyncio.Task[None]]:
    bot = commands.Bot(command_prefix="!", intents=intents, guild_ready_timeout=0.05)
    harness = Harness(fake, bot)
    bot.tree.add_command(_drill_group())
    bot.tree.add_command(_admin_group())

    async def on_message(message: discord.Message) -> None:
        harness.messages.put_nowait(message)

    bot.add_listener(on_message)
    await bot.login(fake.token)
    _shards, url, _limits = await bot.http.get_bot_gateway()
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(url)
    task = asyncio.create_task(bot.connect())
    async with asyncio.timeout(5):
        await bot.wait_until_ready()
    return harness, task


def _intents(*, message_content: bool = True) -> discord.Intents:
    intents = discord.Intents.none()
    intents.guilds = intents.guild_messages = intents.dm_messages = True
    intents.message_content = message_content
    return intents


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    server = FakeDiscord()
    server.add_member(USER, "alice")
    server.add_member(ADMIN, "bob", admin=True)
    await server.start()
    base, gateway = Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY
    Route.BASE = server.api_base
    yield server
    Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = base, gateway
    await server.stop()


async def _stop_bot(bot: commands.Bot, task: asyncio.Task[None]) -> None:
    await bot.close()
    async with asyncio.timeout(5):
        await task


@pytest.fixture
async def harness(fake: FakeDiscord) -> AsyncIterator[Harness]:
    harness, task = await _start_bot(fake, _intents())
    yield harness
    await _stop_bot(harness.bot, task)


async def test_ready_with_the_guild_cached(harness: Harness) -> None:
    fake, bot = harness.fake, harness.bot
    assert bot.user is not None and bot.user.id == fake.bot_user_id and bot.user.bot
    assert bot.application_id == fake.application_id
    guild = bot.get_guild(fake.guild_id)
    assert guild is not None and not guild.unavailable
    assert harness.channel.name == "mlops" and harness.channel.guild == guild
    assert guild.me is not None and guild.owner_id == fake.owner_id
    assert guild.get_role(fake.admin_role_id) is not None
    assert guild.get_role(fake.admin_role_id).permissions.manage_guild  # type: ignore[union-attr]
    assert (fake.identifies, fake.resumes) == (1, 0)
    assert fake.intents == _intents().value
    assert [r.path for r in fake.requests[:3]] == [
        "/users/@me",
        "/oauth2/applications/@me",
        "/gateway/bot",
    ]


async def test_sent_message_is_recorded_and_echoed(harness: Harness) -> None:
    fake = harness.fake
    sent = await harness.channel.send("Hello drills")
    [request] = fake.requests_to("POST", rf"/channels/{fake.channel_id}/messages")
    assert request.json["content"] == "Hello drills" and request.status == 200
    assert request.headers["Authorization"] == f"Bot {fake.token}"
    echo = await harness.next_message()
    assert echo.id == sent.id and echo.author == harness.bot.user
    assert echo.content == "Hello drills" and echo.channel == harness.channel
    assert fake.bot_messages(fake.channel_id)[0]["content"] == "Hello drills"


async def test_user_messages_edits_and_deletes_arrive(harness: Harness) -> None:
    fake, bot = harness.fake, harness.bot
    sent = await fake.user_message(fake.channel_id, USER, "my answer")
    received = await harness.next_message()
    assert received.content == "my answer" and received.author.id == USER
    assert isinstance(received.author, discord.Member) and received.author.name == "alice"
    async with asyncio.timeout(5):
        edit = asyncio.ensure_future(bot.wait_for("message_edit"))
        await fake.user_edits(fake.channel_id, int(sent["id"]), "better answer")
        before, after = await edit
    assert (before.content, after.content) == ("my answer", "better answer")
    async with asyncio.timeout(5):
        delete = asyncio.ensure_future(bot.wait_for("message_delete"))
        await fake.user_deletes(fake.channel_id, int(sent["id"]))
        assert (await delete).id == int(sent["id"])


async def test_without_message_content_intent_content_is_empty(fake: FakeDiscord) -> None:
    harness, task = await _start_bot(fake, _intents(message_content=False))
    try:
        await fake.user_message(fake.channel_id, USER, "secret")
        assert (await harness.next_message()).content == ""
        await fake.user_message(fake.channel_id, USER, f"<@{fake.bot_user_id}> hi")
        assert (await harness.next_message()).content == f"<@{fake.bot_user_id}> hi"
    finally:
        await _stop_bot(harness.bot, task)


async def test_thread_from_message(harness: Harness) -> None:
    fake, bot = harness.fake, harness.bot
    question = await harness.channel.send("Q1: what is drift?")
    async with asyncio.timeout(5):
        created = asyncio.ensure_future(bot.wait_for("thread_create"))
        thread = await question.create_thread(name="Q1 answers", auto_archive_duration=1440)
        assert (await created).id == thread.id
    assert thread.id == question.id and thread.parent_id == fake.channel_id
    assert fake.channels[thread.id]["type"] == 11
    assert isinstance(bot.get_channel(thread.id), discord.Thread)
    await fake.user_message(thread.id, USER, "in the thread")
    message = await harness.next_message(lambda m: m.content == "in the thread")
    assert isinstance(message.channel, discord.Thread) and message.channel.id == thread.id
    assert fake.channels[thread.id]["message_count"] == 1
    with pytest.raises(discord.HTTPException) as err:
        await question.create_thread(name="again")
    assert err.value.code == 160004


async def test_slash_command_group_with_ephemeral_reply(harness: Harness) -> None:
    fake, bot = harness.fake, harness.bot
    guild = discord.Object(fake.guild_id)
    bot.tree.copy_global_to(guild=guild)
    await bot.tree.sync(guild=guild)
    [put] = fake.requests_to("PUT", rf"/applications/\d+/guilds/{fake.guild_id}/commands")
    assert [c["name"] for c in put.json] == ["drill", "drilladmin"]
    interaction = await fake.slash_command(USER, "drill leaderboard", {"period": "week"})
    assert interaction["data"]["guild_id"] == str(fake.guild_id)
    response = await fake.wait_for_interaction_response(interaction["id"])
    assert response.type == 4
    assert response.data["content"] == "period=week" and response.data["flags"] == 64
    [callback] = fake.requests_to("POST", r"/interactions/\d+/[^/]+/callback")
    assert callback.query == {"with_response": "1"} and callback.status == 200


async def test_deferred_command_first_followup_edits_the_original(harness: Harness) -> None:
    fake = harness.fake
    interaction = await fake.slash_command(USER, "drill grade")
    response = await fake.wait_for_interaction_response(interaction["id"])
    assert response.type == 5 and response.data["flags"] == 64
    await fake.wait_for("POST", r"/webhooks/\d+/[^/]+")
    original = fake.original_response(interaction["id"])
    assert original is not None and original["content"] == "graded: 4/5"
    assert original["flags"] == 64  # still ephemeral, no longer loading


async def test_button_opens_modal_and_submission_is_answered(harness: Harness) -> None:
    fake = harness.fake
    command = await fake.slash_command(ADMIN, "drill question")
    await fake.wait_for_interaction_response(command["id"])
    question = await harness.next_message(lambda m: m.content.startswith("Q1"))
    stored = fake.messages[fake.channel_id][question.id]
    assert stored["components"][0]["components"][0]["custom_id"] == "drill:answer"
    click = await fake.button_click(USER, "drill:answer", stored)
    modal = await fake.wait_for_interaction_response(click["id"])
    assert modal.type == 9 and modal.data["title"] == "Your answer"
    submit = await fake.modal_submit(USER, modal.data["custom_id"], {"answer": "data drift"})
    reply = await fake.wait_for_interaction_response(submit["id"])
    assert reply.type == 4 and reply.data["content"] == "got: data drift"


async def test_rate_limited_post_is_retried(harness: Harness) -> None:
    fake = harness.fake
    fake.fail("POST", rf"/channels/{fake.channel_id}/messages", retry_after=0.05)
    sent = await harness.channel.send("after a 429")
    attempts = fake.requests_to("POST", rf"/channels/{fake.channel_id}/messages")
    assert [r.status for r in attempts] == [429, 200]
    assert sent.content == "after a 429"


async def test_closed_dms_are_forbidden(harness: Harness) -> None:
    fake, bot = harness.fake, harness.bot
    user = await bot.fetch_user(USER)
    await user.send("welcome")
    assert fake.bot_messages(fake.dm_channel_for(USER))[0]["content"] == "welcome"
    fake.close_dms(USER)
    with pytest.raises(discord.Forbidden) as err:
        await user.send("again")
    assert err.value.code == 50007


async def test_reconnect_is_resumed(harness: Harness) -> None:
    fake, bot = harness.fake, harness.bot
    async with asyncio.timeout(5):
        resumed = asyncio.ensure_future(bot.wait_for("resumed"))
        await fake.send_reconnect()
        await resumed
    assert (fake.identifies, fake.resumes, fake.connections) == (1, 1, 2)
    await fake.user_message(fake.channel_id, USER, "still here")
    assert (await harness.next_message()).content == "still here"


async def test_dropped_connection_resumes_and_replays(harness: Harness) -> None:
    fake = harness.fake
    await fake.drop_connection()
    await fake.user_message(fake.channel_id, USER, "sent while reconnecting")
    await fake.wait_resumed()
    assert (await harness.next_message()).content == "sent while reconnecting"
    assert (fake.identifies, fake.resumes) == (1, 1)


async def test_rest_round_trips(harness: Harness) -> None:
    fake, bot = harness.fake, harness.bot
    channel = await bot.fetch_channel(fake.channel_id)
    assert isinstance(channel, discord.TextChannel) and channel.name == "mlops"
    member = await harness.channel.guild.fetch_member(ADMIN)
    assert member.name == "bob" and member.guild_permissions.manage_guild
    sent = await harness.channel.send("v1", embed=discord.Embed(title="Q", description="d"))
    await sent.add_reaction("✅")
    assert fake.requests_to("PUT", r"/channels/\d+/messages/\d+/reactions/✅/@me")
    edited = await sent.edit(content="v2")
    assert edited.content == "v2" and edited.edited_at is not None
    fetched = await harness.channel.fetch_message(sent.id)
    assert fetched.content == "v2" and fetched.embeds[0].title == "Q"
    assert fetched.reactions[0].me and str(fetched.reactions[0].emoji) == "✅"
    history = [m.id async for m in harness.channel.history(limit=10)]
    assert history == [sent.id]
    with pytest.raises(discord.HTTPException) as err:
        await harness.channel.send("x" * 2001)
    assert err.value.code == 50035 and "content" in str(err.value)
    await sent.delete()
    assert sent.id not in fake.messages[fake.channel_id]


async def test_default_member_permissions_and_typed_options(harness: Harness) -> None:
    fake, bot = harness.fake, harness.bot
    await bot.tree.sync()
    with pytest.raises(PermissionError):
        await fake.slash_command(USER, "drilladmin channel", {"channel": fake.channel_id})
    interaction = await fake.slash_command(
        ADMIN, "drilladmin channel", {"channel": fake.channel_id}
    )
    [option] = interaction["data"]["options"][0]["options"]
    assert option == {"name": "channel", "type": 7, "value": str(fake.channel_id)}
    response = await fake.wait_for_interaction_response(interaction["id"])
    assert response.data["content"] == "mlops True"
