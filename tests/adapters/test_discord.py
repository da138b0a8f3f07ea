"""The Discord adapter: the real discord.py against the fake Discord (REST + gateway)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import discord
import pytest
from discord.gateway import DiscordWebSocket
from discord.http import Route

from adapters.discord import DiscordAdapter
from bot.app import App
from bot.clock import FakeClock
from bot.domain import (
    ANSWER_PRIVATELY,
    AnswerPosted,
    Button,
    Card,
    ChannelRef,
    CommandInvoked,
    DirectMessage,
    Event,
    InboundEvent,
    MessageRef,
    Reconnected,
)
from tests.conftest import make_settings
from tests.fakes.discord_history import FakeDiscordWithHistory
from tests.flow.harness import strong_answer

pytestmark = pytest.mark.asyncio
ADMIN, MEMBER, ADA = 9001, 9002, 9003
E = TypeVar("E", bound=Event)
QUESTION = Card(
    title="Today's MLOps question",
    body="How do you roll back a bad model?",
    buttons=(Button("Answer privately", ANSWER_PRIVATELY),),
)


@dataclass
class DiscordBot:
    app: App
    adapter: DiscordAdapter
    fake: FakeDiscordWithHistory
    delivered: list[InboundEvent] = field(default_factory=list)
    """Every event the adapter handed to the core, in order."""
    delay: float = 0.0
    """Seconds the core takes before handling each event (a slow database)."""

    @property
    def channel(self) -> ChannelRef:
        return ChannelRef("discord", str(self.fake.guild_id), str(self.fake.channel_id))

    async def received(self, kind: type[E], count: int = 1) -> list[E]:
        """Wait until the core received `count` events of `kind`; return them all."""
        for _ in range(500):
            found: list[E] = [e for e in self.delivered if isinstance(e, kind)]
            if len(found) >= count:
                return found
            await asyncio.sleep(0.01)
        raise TimeoutError(f"{count} {kind.__name__}; got {self.delivered}")

    async def settle(self) -> None:
        """Wait until the bot has read everything the fake sent and handled it, with the
        core's work after it (reactions, replies), however slow. Grading is left to
        `app.grading.drain()`."""
        await self.fake.caught_up()
        await asyncio.sleep(0)  # discord.py's handler tasks for what it read take their turn
        while True:
            await self.adapter.idle()
            await self.app.background.idle()
            if not self.adapter.in_flight and not self.app.background.in_flight:
                return

    def identify_at_once(self) -> None:
        """Skip discord.py's 5 s wait before IDENTIFYing again (Discord's limit; not the fake's)."""

        async def at_once(shard_id: int | None, *, initial: bool = False) -> None:
            return None

        self.adapter.bot.before_identify_hook = at_once  # type: ignore[method-assign]

    async def command(self, user: int, name: str, **options: Any) -> dict[str, Any]:
        """Run `/drill name`; the interaction response Discord received."""
        interaction = await self.fake.slash_command(user, f"drill {name}", options or None)
        return await self.answer_to(interaction)

    async def answer_to(self, interaction: dict[str, Any]) -> dict[str, Any]:
        """The bot's callback type to `interaction` and the answer it shows (a deferred
        response's answer is its first follow-up, which replaces the "thinking" message)."""
        response = await self.fake.wait_for_interaction_response(interaction["id"])
        if response.type == 5:
            for _ in range(300):
                original = self.fake.original_response(interaction["id"])
                if original and original.get("embeds"):
                    return {"type": 5, "data": original}
                await asyncio.sleep(0.01)
        return {"type": response.type, "data": response.data}

    async def post_round(self) -> int:
        await self.command(ADMIN, "post")
        [thread] = self.fake.threads_of(self.fake.channel_id)
        return int(thread["id"])


@contextlib.asynccontextmanager
async def running_bot(tmp_path: Path, **env: str) -> AsyncIterator[DiscordBot]:
    """The app with the Discord adapter, connected to a fresh fake; `env` adds settings."""
    saved = (Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY)
    fake = FakeDiscordWithHistory()
    await fake.start()
    fake.add_member(ADMIN, "admin", admin=True)
    fake.add_member(MEMBER, "member")
    fake.add_member(ADA, "ada")
    settings = make_settings(
        f"sqlite:///{tmp_path / 'discord.db'}", DISCORD_TOKEN=fake.token,
        DISCORD_API_URL=fake.api_base, DISCORD_SYNC_COMMANDS="true",
        DISCORD_SYNC_GUILD=str(fake.guild_id),
        # each answer here is one message, graded at once (test_discord_threads joins parts)
        **{"OPSDRILL_DISCORD_JOIN_WINDOW": "0", **env},
    )  # fmt: skip
    adapter = DiscordAdapter(settings, guild_ready_timeout=0.05)
    app = await App.create(settings, adapters=[adapter], clock=FakeClock(_now()))
    harness = DiscordBot(app, adapter, fake)
    handle = app.router.handle

    async def recording(event: InboundEvent) -> Card | None:
        harness.delivered.append(event)
        await asyncio.sleep(harness.delay)
        return await handle(event)

    app.router.handle = recording  # type: ignore[method-assign]
    await app.start(schedule=False, workers=False)
    try:
        yield harness
    finally:
        await app.stop()
        await fake.stop()
        Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = saved


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[DiscordBot]:
    async with running_bot(tmp_path) as running:
        yield running


def _now() -> datetime:
    return datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def _embed_text(payload: dict[str, Any]) -> str:
    return json.dumps(payload.get("embeds", []), ensure_ascii=False)


async def test_an_admin_posts_the_question_as_an_embed_and_a_thread_starts(bot: DiscordBot) -> None:
    thread_id = await bot.post_round()
    [post] = bot.fake.requests_to("POST", rf"/channels/{bot.fake.channel_id}/messages")
    embed = post.json["embeds"][0]
    assert embed["title"] == "Today's MLOps question"
    assert "<t:" in json.dumps(embed)  # the deadline in each reader's time
    button = post.json["components"][0]["components"][0]["custom_id"]
    assert button.startswith("opsdrill:answer_privately")
    assert post.json["allowed_mentions"] == {"parse": []}
    assert bot.fake.requests_to("POST", rf"/channels/{bot.fake.channel_id}/messages/\d+/threads")
    assert thread_id


async def test_members_are_refused_admin_commands_privately(bot: DiscordBot) -> None:
    response = await bot.command(MEMBER, "post")
    assert response["type"] == 5 and response["data"]["flags"] & 64
    assert "Admins only" in _embed_text(response["data"])
    assert bot.fake.requests_to("POST", rf"/channels/{bot.fake.channel_id}/messages") == []


async def test_a_thread_answer_gets_reactions_and_feedback_by_dm(bot: DiscordBot) -> None:
    thread_id = await bot.post_round()
    question = await _question(bot)
    message = await bot.fake.user_message(thread_id, ADA, strong_answer(question))
    await bot.fake.wait_for("PUT", rf"/channels/{thread_id}/messages/{message['id']}/reactions/.*")
    await bot.app.grading.drain()
    reactions = bot.fake.requests_to(
        "PUT", rf"/channels/{thread_id}/messages/{message['id']}/reactions/.*"
    )
    assert [r.path.split("/reactions/")[1] for r in reactions] == ["👀/@me", "✅/@me"]
    dm = bot.fake.dm_channel_for(ADA)
    [feedback] = await bot.fake.wait_for("POST", rf"/channels/{dm}/messages")
    assert "Your answer scored 10/10" in _embed_text(feedback.json)


async def test_an_edit_regrades_and_a_deletion_withdraws(bot: DiscordBot) -> None:
    thread_id = await bot.post_round()
    question = await _question(bot)
    message = await bot.fake.user_message(thread_id, ADA, question.weak_answer.text)
    await bot.fake.wait_for("PUT", rf"/channels/{thread_id}/messages/{message['id']}/reactions/.*")
    await bot.fake.user_edits(thread_id, int(message["id"]), strong_answer(question))
    await bot.settle()
    assert await bot.app.grading.drain() == 0  # graded once the edits stop
    bot.app.clock.advance(seconds=61)  # type: ignore[attr-defined]
    assert await bot.app.grading.drain() == 1  # one grading, of the edited text
    board = await bot.command(MEMBER, "leaderboard", period="week")
    assert f"<@{ADA}> 10 pts" in _embed_text(board["data"])
    await bot.fake.user_deletes(thread_id, int(message["id"]))
    await bot.settle()
    board = await bot.command(MEMBER, "leaderboard", period="week")
    assert f"<@{ADA}>" not in _embed_text(board["data"])


async def test_the_leaderboard_is_an_ephemeral_reply_mentioning_people(bot: DiscordBot) -> None:
    thread_id = await bot.post_round()
    message = await bot.fake.user_message(thread_id, ADA, strong_answer(await _question(bot)))
    await bot.fake.wait_for("PUT", rf"/channels/{thread_id}/messages/{message['id']}/reactions/.*")
    await bot.app.grading.drain()
    response = await bot.command(MEMBER, "leaderboard")
    assert response["type"] == 5 and response["data"]["flags"] & 64
    assert f"<@{ADA}>" in _embed_text(response["data"])
    followup = bot.fake.requests_to("POST", r"/webhooks/\d+/[^/]+")[-1]
    assert followup.json["allowed_mentions"] == {"parse": []}


async def test_a_private_answer_goes_through_the_modal(bot: DiscordBot) -> None:
    await bot.post_round()
    [question_message] = bot.fake.bot_messages(bot.fake.channel_id)
    custom_id = question_message["components"][0]["components"][0]["custom_id"]
    click = await bot.fake.button_click(ADA, custom_id, question_message)
    modal = await bot.fake.wait_for_interaction_response(click["id"])
    assert modal.type == 9
    question = await _question(bot)
    submit = await bot.fake.modal_submit(
        ADA, modal.data["custom_id"], {"opsdrill:answer": strong_answer(question)}
    )
    ack = await bot.answer_to(submit)
    assert ack["type"] == 5 and ack["data"]["flags"] & 64
    assert "Answer received" in _embed_text(ack["data"])
    assert await bot.app.grading.drain() == 1
    [feedback] = bot.fake.followups(submit["id"])
    assert feedback["flags"] & 64 and "Your answer scored 10/10" in _embed_text(feedback)
    assert bot.fake.requests_to("POST", r"/users/@me/channels") == []  # not by DM


async def test_close_posts_the_reveal_in_the_thread(bot: DiscordBot) -> None:
    thread_id = await bot.post_round()
    await bot.command(ADMIN, "close")
    [reveal] = await bot.fake.wait_for("POST", rf"/channels/{thread_id}/messages")
    assert "Round closed" in _embed_text(reveal.json)


async def test_closed_dms_show_a_notice_with_the_next_command(bot: DiscordBot) -> None:
    thread_id = await bot.post_round()
    bot.fake.close_dms(ADA)
    message = await bot.fake.user_message(thread_id, ADA, strong_answer(await _question(bot)))
    await bot.fake.wait_for("PUT", rf"/channels/{thread_id}/messages/{message['id']}/reactions/.*")
    await bot.app.grading.drain()
    response = await bot.command(ADA, "stats")
    assert "couldn't send you a direct message" in _embed_text(response["data"])


async def test_a_rate_limited_send_is_retried(bot: DiscordBot) -> None:
    bot.fake.fail("POST", rf"/channels/{bot.fake.channel_id}/messages", status=429)
    await bot.post_round()
    sends = bot.fake.requests_to("POST", rf"/channels/{bot.fake.channel_id}/messages")
    assert [r.status for r in sends] == [429, 200]


async def test_a_gateway_reconnect_is_resumed(bot: DiscordBot) -> None:
    await bot.fake.send_reconnect()
    await bot.fake.wait_resumed()
    assert bot.fake.identifies == 1 and bot.fake.resumes == 1
    response = await bot.command(MEMBER, "help")
    assert "OpsDrill commands" in _embed_text(response["data"])
    # Discord replayed what was missed: there is nothing to read back.
    assert [e for e in bot.delivered if isinstance(e, Reconnected)] == []


async def test_messages_from_bots_are_ignored(bot: DiscordBot) -> None:
    thread_id = await bot.post_round()
    await bot.adapter.bot.get_channel(thread_id).send("a bot's own message")  # type: ignore[union-attr]
    await bot.settle()
    assert bot.fake.requests_to("PUT", r"/channels/.*/reactions/.*") == []


async def _question(bot: DiscordBot) -> Any:
    from bot.domain import ChannelRef

    thread = await bot.app.views.open_thread(
        ChannelRef("discord", str(bot.fake.guild_id), str(bot.fake.channel_id))
    )
    assert thread is not None
    question = await bot.app.views.question_for_thread(thread)
    assert question is not None
    return question


async def test_mock_sends_the_first_question_by_dm_and_takes_answers_there(
    bot: DiscordBot,
) -> None:
    await bot.command(ADA, "mock", topic="deployment", questions="1")
    dm = bot.fake.dm_channel_for(ADA)
    first = await bot.fake.wait_for("POST", rf"/channels/{dm}/messages")
    assert "Mock interview" in "".join(_embed_text(r.json) for r in first)
    sent = len(bot.fake.requests_to("POST", rf"/channels/{dm}/messages"))
    await bot.fake.user_dm(ADA, "stop")
    later = await bot.fake.wait_for("POST", rf"/channels/{dm}/messages", count=sent + 1)
    assert "scorecard" in "".join(_embed_text(r.json) for r in later[sent:]).lower()


# --- posting once, finding a post again, reading back what was missed ---------------------


async def test_posting_twice_with_one_key_leaves_one_message_and_one_thread(
    bot: DiscordBot,
) -> None:
    first = await bot.adapter.post(bot.channel, QUESTION, key="round-42")
    second = await bot.adapter.post(bot.channel, QUESTION, key="round-42")
    sends = bot.fake.requests_to("POST", rf"/channels/{bot.fake.channel_id}/messages")
    assert [r.json["nonce"] for r in sends] == ["round-42", "round-42"]
    assert second == first == MessageRef(bot.channel, first.message_id, first.message_id)
    assert len(bot.fake.bot_messages(bot.fake.channel_id)) == 1
    assert [t["id"] for t in bot.fake.threads_of(bot.fake.channel_id)] == [first.message_id]


async def test_a_post_whose_response_was_lost_is_found_and_not_sent_twice(
    bot: DiscordBot,
) -> None:
    since = datetime.now(UTC)
    bot.fake.lose_response("POST", rf"/channels/{bot.fake.channel_id}/messages")
    with pytest.raises(aiohttp.ClientError):
        await bot.adapter.post(bot.channel, QUESTION, key="round-43")
    assert len(bot.fake.lost) == 1
    [stored] = bot.fake.bot_messages(bot.fake.channel_id)
    found = await bot.adapter.find_post(bot.channel, "round-43", since=since)
    assert found == MessageRef(bot.channel, stored["id"], None)  # its thread never started
    again = await bot.adapter.post(bot.channel, QUESTION, key="round-43")
    assert again == MessageRef(bot.channel, stored["id"], stored["id"])
    assert len(bot.fake.bot_messages(bot.fake.channel_id)) == 1
    assert [t["id"] for t in bot.fake.threads_of(bot.fake.channel_id)] == [stored["id"]]


async def test_find_post_reads_a_busy_channel_from_the_given_time_on(bot: DiscordBot) -> None:
    channel = bot.fake.channel_id
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    keyed = {"embeds": [{"title": "A question"}], "components": [{"type": 1, "components": [
        {"type": 2, "style": 1, "label": "Answer privately",
         "custom_id": "opsdrill:answer_privately:round-44"}]}]}  # fmt: skip
    older = bot.fake.new_message(
        channel, bot.fake.bot_user_id, keyed, message_id=discord.utils.time_snowflake(an_hour_ago)
    )
    for i in range(120):
        bot.fake.user_message_while_away(channel, MEMBER, f"chatter {i}")
    bot.fake.add_user(4242, "another app")
    bot.fake.new_message(channel, 4242, keyed)  # the same button, but not our post
    posted = await bot.adapter.post(bot.channel, QUESTION, key="round-44")
    since = an_hour_ago + timedelta(minutes=30)
    assert await bot.adapter.find_post(bot.channel, "round-44", since=since) == posted
    assert await bot.adapter.find_post(bot.channel, "round-44", since=an_hour_ago) == (
        MessageRef(bot.channel, older["id"], None)
    )
    assert await bot.adapter.find_post(bot.channel, "round-45", since=an_hour_ago) is None


async def test_the_answer_button_of_a_keyed_post_still_opens_the_form(bot: DiscordBot) -> None:
    await bot.adapter.post(bot.channel, QUESTION, key="round-46")
    [message] = bot.fake.bot_messages(bot.fake.channel_id)
    custom_id = message["components"][0]["components"][0]["custom_id"]
    click = await bot.fake.button_click(ADA, custom_id, message)
    modal = await bot.fake.wait_for_interaction_response(click["id"])
    assert modal.type == 9


async def test_answers_written_while_the_bot_was_away_are_read_back(bot: DiscordBot) -> None:
    thread_id = await bot.post_round()
    heard = await bot.fake.user_message(thread_id, ADA, "heard live")
    [live] = await bot.received(AnswerPosted)
    missed = []
    for i in range(105):  # more than one page of history
        if i == 50:
            bot.fake.new_message(thread_id, bot.fake.bot_user_id, {"content": "a bot's note"})
        who = ADA if i % 2 == 0 else MEMBER
        missed.append(bot.fake.user_message_while_away(thread_id, who, f"answer {i}"))
    replies = await bot.adapter.thread_replies(live.thread, after=heard["id"])
    assert [r.text for r in replies] == [f"answer {i}" for i in range(105)]
    assert [r.message.message_id for r in replies] == [m["id"] for m in missed]
    assert [r.author_name for r in replies[:2]] == ["ada", "member"]
    everything = await bot.adapter.thread_replies(live.thread)
    assert everything[0] == live  # the same event the gateway gave, field for field
    assert len(everything) == 106


async def test_a_direct_message_carries_its_discord_message_id(bot: DiscordBot) -> None:
    sent = await bot.fake.user_dm(ADA, "hello")
    [dm] = await bot.received(DirectMessage)
    assert dm.message_id == sent["id"]


async def test_a_new_gateway_session_asks_the_core_to_read_back_once(bot: DiscordBot) -> None:
    bot.identify_at_once()
    await bot.fake.invalidate_session(resumable=False)  # RESUME impossible: IDENTIFY again
    await bot.received(Reconnected)
    assert bot.fake.identifies == 2
    await bot.command(MEMBER, "help")  # the bot has handled what followed the new session
    assert [e for e in bot.delivered if isinstance(e, Reconnected)] == [
        Reconnected(platform="discord")
    ]


async def test_a_sharded_bot_asks_to_read_back_once_per_new_session(tmp_path: Path) -> None:
    async with running_bot(tmp_path, DISCORD_SHARDS="1") as sharded:
        assert isinstance(sharded.adapter.bot, discord.AutoShardedClient)
        sharded.identify_at_once()
        await sharded.fake.invalidate_session(resumable=False)
        await sharded.received(Reconnected)
        await sharded.command(MEMBER, "help")
        assert [e for e in sharded.delivered if isinstance(e, Reconnected)] == [
            Reconnected(platform="discord")
        ]


async def test_an_answer_written_during_a_lost_session_is_graded_once(bot: DiscordBot) -> None:
    thread_id = await bot.post_round()
    question = await _question(bot)
    missed = bot.fake.user_message_while_away(thread_id, ADA, strong_answer(question))
    bot.identify_at_once()
    await bot.fake.invalidate_session(resumable=False)  # events meanwhile are gone for good
    await bot.received(Reconnected)
    await bot.fake.wait_for("PUT", rf"/channels/{thread_id}/messages/{missed['id']}/reactions/.*")
    await bot.app.grading.drain()
    await bot.app.background.idle()
    dm = bot.fake.dm_channel_for(ADA)
    [feedback] = await bot.fake.wait_for("POST", rf"/channels/{dm}/messages")
    assert "Your answer scored 10/10" in _embed_text(feedback.json)
    await bot.app.answers.catch_up_all("discord")  # reading back again takes nothing twice
    await bot.app.grading.drain()
    assert len(bot.fake.requests_to("POST", rf"/channels/{dm}/messages")) == 1


async def test_a_replica_runs_only_its_own_shards(tmp_path: Path) -> None:
    async with running_bot(tmp_path, DISCORD_SHARD_COUNT="4", DISCORD_SHARD_IDS="2") as replica:
        assert [p.get("shard") for p in replica.fake.identify_payloads] == [[2, 4]]


async def test_an_admin_regrades_a_member_picked_by_the_user_option(bot: DiscordBot) -> None:
    thread_id = await bot.post_round()
    question = await _question(bot)
    await bot.fake.user_message(thread_id, ADA, strong_answer(question))
    await bot.received(AnswerPosted)
    await bot.app.grading.drain()

    refused = await bot.command(MEMBER, "grade", score=1.0, reason="nope", person=ADA)
    assert "Admins only" in _embed_text(refused["data"])
    done = await bot.command(ADMIN, "grade", score=4.5, reason="the drift part was copied",
                             person=ADA)  # fmt: skip
    assert "Grade changed" in _embed_text(done["data"]) and "4.5/10" in _embed_text(done["data"])
    grades = [e for e in bot.delivered if isinstance(e, CommandInvoked) and e.name == "grade"]
    assert grades[-1].args == (f"<@{ADA}>", "4.5", "the drift part was copied")
    dm = bot.fake.dm_channel_for(ADA)
    notices = await bot.fake.wait_for("POST", rf"/channels/{dm}/messages", count=2)
    assert any("the drift part was copied" in json.dumps(n.json) for n in notices)


async def test_export_sends_a_dm_with_the_json_attached(bot: DiscordBot) -> None:
    await _graded_answer_of_ada(bot)
    response = await bot.command(ADA, "export")
    assert "On its way" in _embed_text(response["data"])
    dm = bot.fake.dm_channel_for(ADA)
    sent = await bot.fake.wait_for("POST", rf"/channels/{dm}/messages", count=2)
    [with_file] = [r for r in sent if r.files]
    [(name, content)] = with_file.files
    assert name == "opsdrill-my-data.json"
    data = json.loads(content)
    assert data["user"] == str(ADA) and data["answers"][0]["grades"]
    assert with_file.json["allowed_mentions"] == {"parse": []}


async def test_a_slow_command_is_deferred_at_once_and_still_answered(bot: DiscordBot) -> None:
    bot.fake.interaction_deadline = 0.5  # Discord allows 3 s; the core below takes longer
    bot.delay = 1.0
    response = await bot.command(MEMBER, "help")
    assert response["type"] == 5 and response["data"]["flags"] & 64
    assert "OpsDrill commands" in _embed_text(response["data"])


async def test_leaderboard_period_and_scope_are_offered_as_choices(bot: DiscordBot) -> None:
    [drill] = [c for c in bot.fake.guild_commands[bot.fake.guild_id] if c["name"] == "drill"]
    [board] = [o for o in drill["options"] if o["name"] == "leaderboard"]
    choices = {o["name"]: [c["value"] for c in o["choices"]] for o in board["options"]}
    assert choices == {"period": ["week", "month", "all"], "scope": ["channel", "team", "squads"]}
    response = await bot.command(MEMBER, "leaderboard", period="month", scope="team")
    assert "This month" in _embed_text(response["data"])
    with pytest.raises(ValueError, match="takes one of"):
        await bot.command(MEMBER, "leaderboard", period="fortnight")


async def test_settling_waits_for_a_slow_handler(bot: DiscordBot) -> None:
    """What `settle` is for: "nothing happened" holds only once the bot has handled what it
    was sent, and an answer the core takes a while over still shows up."""
    thread_id = await bot.post_round()
    bot.delay = 0.5  # longer than any fixed pause a test would take
    message = await bot.fake.user_message(thread_id, ADA, "an answer the core is slow to take")
    await bot.settle()
    assert bot.fake.requests_to("PUT", rf"/channels/{thread_id}/messages/{message['id']}/.*")


async def test_an_admins_recap_is_an_embed_showing_the_attached_picture(bot: DiscordBot) -> None:
    await _graded_answer_of_ada(bot)
    response = await bot.command(ADMIN, "recap")
    assert "Posting the weekly recap" in _embed_text(response["data"])
    channel = bot.fake.channel_id
    sent = await bot.fake.wait_for("POST", rf"/channels/{channel}/messages", count=2)
    [with_file] = [r for r in sent if r.files]
    [(name, content)] = with_file.files
    assert name == "recap.png" and content.startswith(b"\x89PNG")
    [embed] = with_file.json["embeds"]
    assert embed["image"]["url"] == "attachment://recap.png"
    assert embed["title"].startswith("Weekly recap") and f"<@{ADA}>" in embed["description"]
    assert with_file.json["allowed_mentions"] == {"parse": []}
    [message] = [m for m in bot.fake.messages_in(channel) if m["attachments"]]
    assert message["attachments"][0]["filename"] == "recap.png"
    day = await bot.command(MEMBER, "recap", day="friday")
    assert "Admins only" in _embed_text(day["data"])


async def _graded_answer_of_ada(bot: DiscordBot) -> None:
    """A round is posted and Ada's strong answer to it graded."""
    thread_id = await bot.post_round()
    await bot.fake.user_message(thread_id, ADA, strong_answer(await _question(bot)))
    await bot.received(AnswerPosted)
    await bot.app.grading.drain()


def _with_button(label: str, custom_id: str, **body: Any) -> dict[str, Any]:
    button = {"type": 2, "style": 1, "label": label, "custom_id": custom_id}
    return {**body, "components": [{"type": 1, "components": [button]}]}


async def test_buttons_on_messages_sent_before_a_restart_still_work(bot: DiscordBot) -> None:
    """Messages this process never sent (the bot restarted since): their buttons are known by
    custom_id alone."""
    channel, me = bot.fake.channel_id, bot.fake.bot_user_id
    answer_id = "opsdrill:answer_privately:round-7"
    question = bot.fake.new_message(
        channel, me, _with_button("Answer privately", answer_id, embeds=[{"title": "A question"}])
    )
    click = await bot.fake.button_click(ADA, answer_id, question)
    assert (await bot.fake.wait_for_interaction_response(click["id"])).type == 9  # the form
    helper = bot.fake.new_message(channel, me, _with_button("Help", "drill_help", content="Hi"))
    click = await bot.fake.button_click(MEMBER, "drill_help", helper)
    assert "OpsDrill commands" in _embed_text((await bot.answer_to(click))["data"])
