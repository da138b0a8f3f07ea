"""The Discord adapter: the real discord.py against the fake Discord (REST + gateway)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from discord.gateway import DiscordWebSocket
from discord.http import Route

from adapters.discord import DiscordAdapter
from bot.app import App
from bot.clock import FakeClock
from tests.conftest import make_settings
from tests.fakes.discord_api import FakeDiscord
from tests.flow.harness import strong_answer

pytestmark = pytest.mark.asyncio
ADMIN, MEMBER, ADA = 9001, 9002, 9003


@dataclass
class DiscordBot:
    app: App
    adapter: DiscordAdapter
    fake: FakeDiscord

    async def command(self, user: int, name: str, **options: Any) -> dict[str, Any]:
        """Run `/drill name`; the interaction response Discord received."""
        interaction = await self.fake.slash_command(user, f"drill {name}", options or None)
        response = await self.fake.wait_for_interaction_response(interaction["id"])
        if response.type == 5:  # deferred: the answer is the follow-up
            for _ in range(300):
                if self.fake.original_response(interaction["id"]):
                    original = self.fake.original_response(interaction["id"])
                    if original and original.get("embeds"):
                        return {"type": 5, "data": original}
                await asyncio.sleep(0.01)
        return {"type": response.type, "data": response.data}

    async def post_round(self) -> int:
        await self.command(ADMIN, "post")
        [thread] = self.fake.threads_of(self.fake.channel_id)
        return int(thread["id"])


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[DiscordBot]:
    saved = (Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY)
    fake = FakeDiscord()
    await fake.start()
    fake.add_member(ADMIN, "admin", admin=True)
    fake.add_member(MEMBER, "member")
    fake.add_member(ADA, "ada")
    settings = make_settings(
        f"sqlite:///{tmp_path / 'discord.db'}", DISCORD_TOKEN=fake.token,
        DISCORD_API_URL=fake.api_base, DISCORD_SYNC_COMMANDS="true",
        DISCORD_SYNC_GUILD=str(fake.guild_id),
    )  # fmt: skip
    adapter = DiscordAdapter(settings, guild_ready_timeout=0.05)
    app = await App.create(settings, adapters=[adapter], clock=FakeClock(_now()))
    await app.start(schedule=False, workers=False)
    try:
        yield DiscordBot(app, adapter, fake)
    finally:
        await app.stop()
        await fake.stop()
        Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = saved


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def _embed_text(payload: dict[str, Any]) -> str:
    return json.dumps(payload.get("embeds", []), ensure_ascii=False)


async def test_an_admin_posts_the_question_as_an_embed_and_a_thread_starts(bot: DiscordBot) -> None:
    thread_id = await bot.post_round()
    [post] = bot.fake.requests_to("POST", rf"/channels/{bot.fake.channel_id}/messages")
    embed = post.json["embeds"][0]
    assert embed["title"] == "Today's MLOps question"
    assert "<t:" in json.dumps(embed)  # the deadline in each reader's time
    assert post.json["components"][0]["components"][0]["custom_id"] == "opsdrill:answer_privately"
    assert post.json["allowed_mentions"] == {"parse": []}
    assert bot.fake.requests_to("POST", rf"/channels/{bot.fake.channel_id}/messages/\d+/threads")
    assert thread_id


async def test_members_are_refused_admin_commands_privately(bot: DiscordBot) -> None:
    response = await bot.command(MEMBER, "post")
    assert response["type"] == 4 and response["data"]["flags"] & 64
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
    await asyncio.sleep(0.2)
    assert await bot.app.grading.drain() == 2
    board = await bot.command(MEMBER, "leaderboard", period="week")
    assert f"<@{ADA}> 10 pts" in _embed_text(board["data"])
    await bot.fake.user_deletes(thread_id, int(message["id"]))
    await asyncio.sleep(0.2)
    board = await bot.command(MEMBER, "leaderboard", period="week")
    assert f"<@{ADA}>" not in _embed_text(board["data"])


async def test_the_leaderboard_is_an_ephemeral_reply_mentioning_people(bot: DiscordBot) -> None:
    thread_id = await bot.post_round()
    message = await bot.fake.user_message(thread_id, ADA, strong_answer(await _question(bot)))
    await bot.fake.wait_for("PUT", rf"/channels/{thread_id}/messages/{message['id']}/reactions/.*")
    await bot.app.grading.drain()
    response = await bot.command(MEMBER, "leaderboard")
    assert response["type"] == 4 and response["data"]["flags"] & 64
    assert f"<@{ADA}>" in _embed_text(response["data"])
    assert response["data"]["allowed_mentions"] == {"parse": []}


async def test_a_private_answer_goes_through_the_modal(bot: DiscordBot) -> None:
    await bot.post_round()
    [question_message] = bot.fake.bot_messages(bot.fake.channel_id)
    click = await bot.fake.button_click(ADA, "opsdrill:answer_privately", question_message)
    modal = await bot.fake.wait_for_interaction_response(click["id"])
    assert modal.type == 9
    question = await _question(bot)
    submit = await bot.fake.modal_submit(
        ADA, modal.data["custom_id"], {"opsdrill:answer": strong_answer(question)}
    )
    ack = await bot.fake.wait_for_interaction_response(submit["id"])
    assert ack.type == 4 and ack.data["flags"] & 64 and "Answer received" in _embed_text(ack.data)
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


async def test_messages_from_bots_are_ignored(bot: DiscordBot) -> None:
    thread_id = await bot.post_round()
    await bot.adapter.bot.get_channel(thread_id).send("a bot's own message")  # type: ignore[union-attr]
    await asyncio.sleep(0.2)
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
