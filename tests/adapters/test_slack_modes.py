"""The Slack adapter over Socket Mode, and installed into several workspaces over OAuth."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import aiohttp
import pytest

from tests.adapters.slack_harness import CHANNEL, SlackBot
from tests.fakes import slack_api
from tests.fakes.slack_api import FakeSlack

pytestmark = pytest.mark.asyncio


async def test_socket_mode_takes_commands_and_events_and_acks_them(
    tmp_path: Path, fake: FakeSlack
) -> None:
    bot = await SlackBot.start(
        f"sqlite:///{tmp_path / 's.db'}", fake, mode="socket", SLACK_APP_TOKEN="xapp-1-test"
    )
    try:
        await fake.wait_connected()
        [opened] = fake.calls_to("apps.connections.open")
        assert opened.token == "xapp-1-test"
        envelope = await fake.send_envelope(
            "slash_commands",
            slack_api.slash_command_payload(
                "post", user_id="UADMIN", response_url=fake.response_url()
            ),
        )
        await fake.wait_for_ack(envelope)
        await fake.wait_for_responses()  # the command's work follows its ack
        [post] = fake.calls_to("chat.postMessage")
        thread = await bot.app.views.open_thread(CHANNEL)
        assert thread is not None
        event = await fake.send_event(
            slack_api.message_event(
                "Retrain when precision drops.", user="U1", thread_ts=thread.message_id
            )
        )
        await fake.wait_for_ack(event)
        await bot.app.inbox.drain()  # handled after the ack
        [reaction] = await fake.wait_for_call("reactions.add")
        assert reaction.params["name"] == "eyes"
        assert post.params["channel"] == "C1"
    finally:
        await bot.stop()


async def test_a_new_socket_reads_back_what_was_said_while_disconnected(
    tmp_path: Path, fake: FakeSlack
) -> None:
    bot = await SlackBot.start(
        f"sqlite:///{tmp_path / 's.db'}", fake, mode="socket", SLACK_APP_TOKEN="xapp-1-test"
    )
    try:
        await fake.wait_connected()
        envelope = await fake.send_envelope(
            "slash_commands",
            slack_api.slash_command_payload(
                "post", user_id="UADMIN", response_url=fake.response_url()
            ),
        )
        await fake.wait_for_ack(envelope)
        await fake.wait_for_responses()
        thread = await bot.app.views.open_thread(CHANNEL)
        assert thread is not None
        await fake.drop_connections()
        fake.conversations.say("Retrain when precision drops.", user="U7",
                               thread_ts=thread.message_id)  # fmt: skip
        await fake.wait_connected(timeout=15, connections=2)
        for _ in range(1000):  # the new socket's hello makes the bot read the thread back
            if [c for c in fake.calls_to("reactions.add") if c.params["name"] == "eyes"]:
                break
            await asyncio.sleep(0.02)
        assert fake.calls_to("conversations.replies")
        [received] = [c for c in fake.calls_to("reactions.add") if c.params["name"] == "eyes"]
        assert received.params["timestamp"] != thread.message_id
    finally:
        await bot.stop()


async def test_two_workspaces_installed_over_oauth_each_use_their_own_token(
    tmp_path: Path, fake: FakeSlack
) -> None:
    fake.oauth_teams.update({"code-one": "T1", "code-two": "T2"})
    bot = await SlackBot.start(
        f"sqlite:///{tmp_path / 'm.db'}", fake, SLACK_BOT_TOKEN=None,
        SLACK_CLIENT_ID="111.222", SLACK_CLIENT_SECRET="client-secret",
    )  # fmt: skip
    base = bot.url.removesuffix("/slack/events")
    try:
        for code in ("code-one", "code-two"):
            async with aiohttp.ClientSession() as browser:
                async with browser.get(f"{base}/slack/install", allow_redirects=False) as page:
                    body = await page.text()
                    state = re.search(r"state=([\w-]+)", body or page.headers.get("Location", ""))
                    assert state, body[:300]
                    # The state cookie is Secure; a browser on https would send it back.
                    cookie = page.headers["Set-Cookie"].split(";")[0]
                callback = f"{base}/slack/oauth_redirect?code={code}&state={state.group(1)}"
                async with browser.get(callback, headers={"Cookie": cookie}) as done:
                    assert done.status == 200, await done.text()
        tokens = {c.params.get("code"): c for c in fake.calls_to("oauth.v2.access")}
        assert set(tokens) == {"code-one", "code-two"}

        for team in ("T1", "T2"):
            admin = f"UADMIN{team}"
            fake.users[admin] = fake.default_user(admin) | {"is_admin": True}
            url = fake.response_url()
            form = slack_api.slash_command_form(
                "post", user_id=admin, team_id=team, channel_id=f"C-{team}", response_url=url
            )
            assert await bot.send(form) == 200
            await fake.wait_for_call("chat.postMessage", count=1 if team == "T1" else 2)
        posts = fake.calls_to("chat.postMessage")
        by_channel = {p.params["channel"]: p.token for p in posts}
        assert by_channel["C-T1"] != by_channel["C-T2"]
        assert by_channel["C-T1"].startswith("xoxb-") and "T1" in by_channel["C-T1"]
        assert "T2" in by_channel["C-T2"]
        infos = {c.params["user"]: c.token for c in fake.calls_to("users.info")}
        assert infos["UADMINT2"] == by_channel["C-T2"]
    finally:
        await bot.stop()
