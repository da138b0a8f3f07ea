"""Response URLs and Socket Mode: what `respond()` posts, envelopes sent to the app and the acks
it returns, and dropped or refreshed connections."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from tests.fakes import block_kit
from tests.fakes.slack.events import event_callback
from tests.fakes.slack.wire import (
    _POLL,
    JSON,
    _request_params,
)


class SocketMode:
    """Response URLs, Socket Mode envelopes and acks, and waiting."""

    # --- response URLs -------------------------------------------------------------------------

    def response_url(self, name: str | None = None) -> str:
        """A response URL on the fake (fresh unless `name` is given) recording what's posted."""
        if name is None:
            name = f"r{next(self._ids)}"
        return f"{self.base}/response/{name}"

    def responses_to(self, url_or_name: str) -> list[JSON]:
        name = url_or_name.rstrip("/").rsplit("/", 1)[-1]
        return [body for n, body in self._response_log if n == name]

    async def wait_for_responses(
        self,
        count: int = 1,
        timeout: float = 15,  # noqa: ASYNC109
    ) -> list[JSON]:
        await self._until(
            lambda: len(self.responses) >= count,
            timeout,
            lambda: f"{count} response(s); got {self.responses}",
        )
        return self.responses

    async def _response(self, request: web.Request) -> web.StreamResponse:
        if request.content_type == "application/json":
            body = await request.json()
        else:
            body = dict(await _request_params(request))
        if body.get("blocks") is not None and block_kit.problems(body["blocks"]):
            return web.Response(status=400, text="invalid_blocks")  # and nothing is shown
        self.responses.append(body)
        self._response_log.append((request.match_info["name"], body))
        return web.Response(text="ok")

    # --- Socket Mode ---------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return any(not ws.closed for ws in self._sockets)

    async def _socket(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._sockets.append(ws)
        self.connections += 1
        await ws.send_json({
            "type": "hello",
            "num_connections": sum(1 for s in self._sockets if not s.closed),
            "debug_info": {
                "host": f"applink-fake-{self.connections}",
                "build_number": 1,
                "approximate_connection_time": 18060,
            },
            "connection_info": {"app_id": self.app_id},
        })  # fmt: skip
        try:
            async for message in ws:
                if message.type is not WSMsgType.TEXT:
                    continue
                data = json.loads(message.data)
                if not isinstance(data, dict):
                    continue
                self.socket_messages.append(data)
                if "envelope_id" in data:
                    self.acks.append(data)
        finally:
            if ws in self._sockets:
                self._sockets.remove(ws)
        return ws

    async def wait_connected(
        self,
        timeout: float = 15,  # noqa: ASYNC109
        *,
        connections: int = 1,
    ) -> None:
        """Wait for an open Socket Mode connection, and `connections` accepted in all."""
        await self._until(
            lambda: self.connected and self.connections >= connections,
            timeout,
            lambda: f"a Socket Mode connection (#{connections}); {self.connections} so far",
        )

    async def _current_socket(self) -> web.WebSocketResponse:
        await self.wait_connected()
        return [ws for ws in self._sockets if not ws.closed][-1]

    async def send_envelope(
        self,
        payload_type: str,
        payload: JSON,
        *,
        envelope_id: str | None = None,
        accepts_response_payload: bool = False,
        retry_attempt: int = 0,
        retry_reason: str = "",
    ) -> str:
        """Send an envelope ("events_api", "slash_commands" or "interactive") to the newest
        connection (waiting up to 5 s for one); return its envelope_id."""
        envelope_id = envelope_id or str(uuid.uuid4())
        envelope: JSON = {
            "envelope_id": envelope_id,
            "type": payload_type,
            "payload": payload,
            "accepts_response_payload": accepts_response_payload,
            "retry_attempt": retry_attempt,
            "retry_reason": retry_reason or ("timeout" if retry_attempt else ""),
        }
        ws = await self._current_socket()
        self.envelopes.append(envelope)
        await ws.send_json(envelope)
        return envelope_id

    async def send_event(self, event: JSON, **envelope: Any) -> str:
        """Send an Events API event, wrapped for this fake's team and app, as events_api."""
        body = event_callback(event, team_id=self.team_id, api_app_id=self.app_id)
        return await self.send_envelope("events_api", body, **envelope)

    async def wait_for_ack(
        self,
        envelope_id: str,
        timeout: float = 15,  # noqa: ASYNC109
    ) -> JSON:
        def ack() -> JSON | None:
            return next((a for a in self.acks if a.get("envelope_id") == envelope_id), None)

        await self._until(
            lambda: ack() is not None, timeout, lambda: f"an ack of envelope {envelope_id}"
        )
        found = ack()
        assert found is not None
        return found

    async def send_disconnect(self, reason: str = "refresh_requested") -> None:
        """Ask the app to reconnect, as Slack does before recycling a connection."""
        ws = await self._current_socket()
        await ws.send_json({
            "type": "disconnect", "reason": reason,
            "debug_info": {"host": f"applink-fake-{self.connections}"},
        })  # fmt: skip

    async def drop_connections(self) -> None:
        """Close every Socket Mode connection from the server side."""
        for ws in list(self._sockets):
            await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutting down")

    # --- waiting -------------------------------------------------------------------------------

    # The wait_* methods take `timeout` (ASYNC109) because tests read better with it than with
    # an asyncio.timeout() block around every wait.
    async def _until(
        self, done: Callable[[], bool], within: float, what: Callable[[], str]
    ) -> None:
        deadline = time.monotonic() + within
        while not done():
            if time.monotonic() > deadline:
                raise TimeoutError(f"FakeSlack: timed out after {within}s waiting for {what()}")
            await asyncio.sleep(_POLL)
