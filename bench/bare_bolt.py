"""The reference for bench/slack_ack.py: a bare slack-bolt AsyncApp over HTTP that verifies each
request's signature and acks message events with a listener that does nothing.

    python bench/bare_bolt.py PORT SIGNING_SECRET SLACK_API_URL

Its client points at the benchmark's fake Slack, where bolt's one auth.test call goes."""

from __future__ import annotations

import logging
import sys
from typing import Any

from aiohttp import web
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.app.async_server import AsyncSlackAppServer
from slack_sdk.web.async_client import AsyncWebClient


def main(port: int, secret: str, api_url: str) -> None:
    logging.basicConfig(level=logging.WARNING)
    client = AsyncWebClient(token="xoxb-bench-T1", base_url=api_url)
    app = AsyncApp(client=client, signing_secret=secret)

    @app.event("message")
    async def nothing(body: dict[str, Any]) -> None:
        return None

    server = AsyncSlackAppServer(port=port, path="/slack/events", app=app)

    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    server.web_app.router.add_get("/healthz", healthz)
    web.run_app(server.web_app, host="127.0.0.1", port=port, print=None)


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2], sys.argv[3])
