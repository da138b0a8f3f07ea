"""Fixtures the Slack adapter tests share: the fake Slack (with one workspace admin), a bot on
SQLite against it, and a plain Web API client. A test module that needs a different fake or bot
(the Discord tests, a Slack clock pinned to the app's) defines its own of the same name."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from slack_sdk.web.async_client import AsyncWebClient

from tests.adapters.slack_harness import SlackBot
from tests.fakes.slack_api import FakeSlack


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    server = FakeSlack()
    server.users["UADMIN"] = server.default_user("UADMIN") | {"is_admin": True}
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def bot(tmp_path: Path, fake: FakeSlack) -> AsyncIterator[SlackBot]:
    harness = await SlackBot.start(f"sqlite:///{tmp_path / 'slack.db'}", fake)
    yield harness
    await harness.stop()


@pytest.fixture
async def client(fake: FakeSlack) -> AsyncIterator[AsyncWebClient]:
    async with aiohttp.ClientSession() as session:
        yield AsyncWebClient(token="xoxb-test", base_url=fake.api_url, session=session)
