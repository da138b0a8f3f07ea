"""The whole app with the real Slack adapter (bolt + slack_sdk) against the fake Slack."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp

from adapters.slack import SlackAdapter
from adapters.slack.limits import SlackLimits
from bot.app import App
from bot.clock import FakeClock
from bot.domain import Card, ChannelRef, InboundEvent
from bot.storage.db import make_engine
from tests.conftest import make_settings
from tests.fakes import slack_api
from tests.fakes.slack_api import FakeSlack

SECRET = "test-signing-secret"
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
CHANNEL = ChannelRef("slack", "T1", "C1")
ANSWER = (
    "Retrain when live precision on fresh labels drops past the agreed threshold, "
    "and watch feature drift with PSI as an early warning while labels lag."
)
"""A thread answer that covers the question's main points."""


@dataclass
class SlackBot:
    app: App
    adapter: SlackAdapter
    fake: FakeSlack
    http: aiohttp.ClientSession | None
    delay: float = 0.0
    """Seconds the core takes before handling each event (a slow database)."""

    @classmethod
    async def start(
        cls, database_url: str, fake: FakeSlack, *, mode: str = "http",
        limits: SlackLimits | None = None, **settings: Any,
    ) -> SlackBot:  # fmt: skip
        values: dict[str, Any] = {
            "SLACK_BOT_TOKEN": "xoxb-test-T1", "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": fake.api_url, **settings,
        }  # fmt: skip
        config = make_settings(database_url, **values)
        engine = make_engine(config.database_url)
        adapter = SlackAdapter(
            config,
            mode=mode,
            host="127.0.0.1",
            port=0,
            limits=limits,  # type: ignore[arg-type]
            engine=engine,
        )
        app = await App.create(config, adapters=[adapter], clock=FakeClock(NOW), engine=engine)
        bot = cls(app, adapter, fake, aiohttp.ClientSession() if mode == "http" else None)
        handle = app.router.handle

        async def slowed(event: InboundEvent) -> Card | None:
            await asyncio.sleep(bot.delay)
            return await handle(event)

        app.router.handle = slowed  # type: ignore[method-assign]
        await app.start(schedule=False, workers=False)
        return bot

    async def stop(self) -> None:
        if self.http is not None:
            await self.http.close()
        await self.app.stop()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.adapter.port}/slack/events"

    async def send(self, body: str, **headers: Any) -> int:
        """POST a body to /slack/events, signed unless `headers` replace the signature."""
        status, _ = await self.exchange(body, **headers)
        return status

    async def exchange(self, body: str, **headers: Any) -> tuple[int, str]:
        """Like `send`, with the body of the response (what Slack reads as the ack)."""
        assert self.http is not None
        signed = slack_api.signed_headers(body, SECRET, **{
            k: v for k, v in headers.items() if k in ("timestamp", "retry_num", "retry_reason")
        })  # fmt: skip
        signed.update({k: v for k, v in headers.items() if k.startswith("X-")})
        async with self.http.post(self.url, data=body.encode(), headers=signed) as response:
            return response.status, await response.text()

    async def event(self, event: dict[str, Any], *, handle: bool = True, **kw: Any) -> int:
        """Send an event; once acked, the stored event is handled (as the app's inbox worker
        would, which these tests do not run) unless `handle` is false."""
        envelope = slack_api.event_callback(event, event_id=kw.pop("event_id", None))
        status = await self.send(json.dumps(envelope), **kw)
        if handle:
            await self.app.inbox.drain()
        return status

    async def command(
        self, text: str, *, user: str = "UADMIN", channel: str = "C1"
    ) -> dict[str, Any]:
        """Run `/drill text`; the ephemeral response bolt's respond() posted."""
        url = self.fake.response_url()
        status = await self.send(
            slack_api.slash_command_form(text, user_id=user, channel_id=channel, response_url=url)
        )
        assert status == 200
        for _ in range(500):
            if self.fake.responses_to(url):
                return self.fake.responses_to(url)[-1]
            await asyncio.sleep(0.01)
        raise AssertionError(f"no response to /drill {text}")

    async def post_question(self) -> str:
        """An admin posts today's question; the round's thread ts."""
        await self.command("post")
        thread = await self.app.views.open_thread(CHANNEL)
        assert thread is not None, "no round was opened"
        return thread.message_id

    async def answer(self, text: str, thread_ts: str, *, user: str = "U1", **kw: Any) -> str:
        ts = kw.pop("ts", None) or slack_api.fresh_ts()
        status = await self.event(
            slack_api.message_event(text, user=user, ts=ts, thread_ts=thread_ts), **kw
        )
        assert status == 200
        return ts

    async def settle(self) -> None:
        """Wait until everything acked so far is handled: bolt's lazy listeners and the
        adapter's replies, and the core's work after them (reactions, receipts), however slow.
        Grading is left to `app.grading.drain()`."""
        while True:
            await self.adapter.idle()
            await self.app.background.idle()
            if not self.adapter.in_flight and not self.app.background.in_flight:
                return


def now() -> int:
    return int(time.time())
