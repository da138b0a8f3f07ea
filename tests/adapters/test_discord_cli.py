"""`opsdrill discord invite-url` and `opsdrill discord sync`, against the fake Discord."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import discord
import pytest

from tests.fakes.discord_api import FakeDiscord

pytestmark = pytest.mark.asyncio
OPSDRILL = str(Path(sys.executable).parent / "opsdrill")


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    server = FakeDiscord()
    await server.start()
    yield server
    await server.stop()


async def _run(fake: FakeDiscord, *args: str, tmp: Path) -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "SLACK_"))}
    env |= {"DISCORD_TOKEN": fake.token, "DISCORD_API_URL": fake.api_base,
            "DATABASE_URL": f"sqlite:///{tmp / 'x.db'}"}  # fmt: skip
    proc = await asyncio.create_subprocess_exec(
        OPSDRILL, "discord", *args, env=env, cwd=tmp,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(proc.communicate(), timeout=60)
    return proc.returncode or 0, out.decode()


async def test_invite_url_asks_for_exactly_what_the_bot_needs(
    fake: FakeDiscord, tmp_path: Path
) -> None:
    code, out = await _run(fake, "invite-url", tmp=tmp_path)
    assert code == 0, out
    query = parse_qs(urlparse(out.strip()).query)
    assert query["client_id"] == [str(fake.application_id)]
    assert query["scope"] == ["bot applications.commands"]
    granted = discord.Permissions(int(query["permissions"][0]))
    assert granted.send_messages_in_threads and granted.create_public_threads
    assert granted.add_reactions and granted.embed_links
    assert not granted.administrator and not granted.manage_guild


async def test_sync_registers_the_drill_group_on_one_server(
    fake: FakeDiscord, tmp_path: Path
) -> None:
    code, out = await _run(fake, "sync", "--guild", str(fake.guild_id), tmp=tmp_path)
    assert code == 0, out
    [put] = fake.requests_to(
        "PUT", rf"/applications/{fake.application_id}/guilds/{fake.guild_id}/commands"
    )
    [drill] = put.json
    assert drill["name"] == "drill"
    names = {o["name"] for o in drill["options"]}
    assert {"today", "leaderboard", "stats", "mock", "post", "close", "forget-me"} <= names
    assert drill.get("default_member_permissions") is None  # visible to all; checked by us
