"""The fake's gateway: HELLO, IDENTIFY/READY, heartbeats, RESUME, dispatches filtered by intents,
and the knobs tests turn (reconnect, invalid session, dropped connection)."""

from __future__ import annotations

import contextlib
import json
import secrets
from typing import Any

from aiohttp import WSMsgType, web

from tests.fakes.discord.wire import (
    _APP_FLAGS,
    API_VERSION,
    INTENT_DIRECT_MESSAGE_REACTIONS,
    INTENT_DIRECT_MESSAGES,
    INTENT_GUILD_MEMBERS,
    INTENT_GUILD_MESSAGE_REACTIONS,
    INTENT_GUILD_MESSAGES,
    INTENT_GUILDS,
    INTENT_MESSAGE_CONTENT,
    JSON,
    PRIVILEGED_INTENTS,
)


class Gateway:
    """The WebSocket gateway and its dispatches."""

    # --- gateway ---------------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """True while a client holds an identified (or resumed) gateway session."""
        return self._active is not None and not self._active.closed

    def _allowed(self, event: str, data: JSON) -> JSON | None:
        """`data` as a client with the identified intents receives it, or None if filtered."""
        intents = self.intents
        if intents is None:
            return data
        in_guild = "guild_id" in data
        if event in ("MESSAGE_CREATE", "MESSAGE_UPDATE", "MESSAGE_DELETE"):
            need = INTENT_GUILD_MESSAGES if in_guild else INTENT_DIRECT_MESSAGES
            if not intents & need:
                return None
            if event == "MESSAGE_DELETE" or not in_guild or intents & INTENT_MESSAGE_CONTENT:
                return data
            author = data.get("author", {}).get("id")
            mentioned = any(u.get("id") == str(self.bot_user_id) for u in data.get("mentions", []))
            if author == str(self.bot_user_id) or mentioned:
                return data
            return {**data, "content": "", "embeds": [], "attachments": [], "components": []}
        if event.startswith("MESSAGE_REACTION_"):
            need = INTENT_GUILD_MESSAGE_REACTIONS if in_guild else INTENT_DIRECT_MESSAGE_REACTIONS
            return data if intents & need else None
        if event.startswith(("THREAD_", "CHANNEL_", "GUILD_ROLE_")):
            return data if intents & INTENT_GUILDS else None
        if event.startswith("GUILD_MEMBER_") and event != "GUILD_MEMBERS_CHUNK":
            return data if intents & INTENT_GUILD_MEMBERS else None
        return data

    async def dispatch(self, event: str, data: JSON) -> int | None:
        """Send a DISPATCH (op 0) `event` with `data` to the client, filtered by its intents.
        Events dispatched while the client is disconnected are replayed when it RESUMEs.
        Returns the sequence number, or None if the client has no session or the intents
        filtered the event out."""
        async with self._send_lock:
            return await self._dispatch_locked(event, data)

    async def _dispatch_locked(self, event: str, data: JSON) -> int | None:
        if self._session_id is None:
            return None
        allowed = self._allowed(event, data)
        if allowed is None:
            return None
        self._seq += 1
        frame = json.dumps({"op": 0, "t": event, "s": self._seq, "d": allowed})
        self._history.append((self._seq, frame))
        del self._history[:-2000]
        self.dispatched.append((event, allowed))
        await self._send_active(frame)
        return self._seq

    async def caught_up(self, timeout: float = 15) -> None:  # noqa: ASYNC109
        """Wait until the client has read every dispatch sent so far: Discord may ask for a
        heartbeat (op 1) at any time, and a client answers it in order with what it reads."""
        async with self._send_lock:
            before = self.heartbeats
            await self._send_active(json.dumps({"op": 1, "d": self._seq, "s": None, "t": None}))
        await self._until(
            lambda: self.heartbeats > before, timeout, lambda: "a heartbeat after the request"
        )

    async def _send_active(self, frame: str) -> None:
        ws = self._active
        if ws is None or ws.closed:
            return
        try:
            await ws.send_str(frame)
        except (ConnectionError, RuntimeError):
            if self._active is ws:
                self._active = None

    async def _send(self, ws: web.WebSocketResponse, op: int, d: Any) -> None:
        with contextlib.suppress(ConnectionError, RuntimeError):
            await ws.send_str(json.dumps({"op": op, "d": d, "s": None, "t": None}))

    async def _gateway(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        self.connections += 1
        self._sockets.add(ws)
        trace = [f'["fake-gateway-{self.connections}",{{"micros":0}}]']
        await self._send(
            ws, 10, {"heartbeat_interval": self.heartbeat_interval_ms, "_trace": trace}
        )
        try:
            async for msg in ws:
                if msg.type is not WSMsgType.TEXT:
                    continue
                frame = json.loads(msg.data)
                self.gateway_received.append(frame)
                await self._on_gateway_frame(ws, frame)
        finally:
            self._sockets.discard(ws)
            if self._active is ws:
                self._active = None
        return ws

    async def _on_gateway_frame(self, ws: web.WebSocketResponse, frame: JSON) -> None:
        op, d = frame.get("op"), frame.get("d")
        if op == 1:
            self.heartbeats += 1
            await self._send(ws, 11, None)
        elif op == 2:
            await self._identify(ws, d or {})
        elif op == 6:
            await self._resume(ws, d or {})
        elif op == 8:
            await self._request_members(d or {})

    async def _identify(self, ws: web.WebSocketResponse, d: JSON) -> None:
        if d.get("token") != self.token:
            await ws.close(code=4004, message=b"Authentication failed.")
            return
        intents = int(d.get("intents") or 0)
        if intents & PRIVILEGED_INTENTS and not self.privileged_intents_enabled:
            await ws.close(code=4014, message=b"Disallowed intent(s).")
            return
        async with self._send_lock:
            self.identifies += 1
            self.identify_payloads.append(d)
            self.intents = intents
            self._session_id = secrets.token_hex(16)
            self._seq = 0
            self._history.clear()
            self._ready = False
            if self._active is not None and self._active is not ws:
                with contextlib.suppress(Exception):
                    await self._active.close(code=4009, message=b"Session superseded.")
            self._active = ws
            ready: JSON = {
                "v": API_VERSION,
                "user_settings": {},
                "user": self._me_payload(),
                "session_type": "normal",
                "session_id": self._session_id,
                "resume_gateway_url": self.gateway_url,
                "relationships": [],
                "private_channels": [],
                "presences": [],
                "guilds": [{"id": str(self.guild_id), "unavailable": True}],
                "guild_join_requests": [],
                "geo_ordered_rtc_regions": ["fake"],
                "auth": {},
                "application": {"id": str(self.application_id), "flags": _APP_FLAGS},
                "_trace": ['["fake-gateway",{"micros":0}]'],
            }
            if "shard" in d:
                ready["shard"] = d["shard"]
            await self._dispatch_locked("READY", ready)
            await self._dispatch_locked("GUILD_CREATE", self._guild_create_payload())
            self._ready = True

    async def _resume(self, ws: web.WebSocketResponse, d: JSON) -> None:
        if d.get("token") != self.token:
            await ws.close(code=4004, message=b"Authentication failed.")
            return
        async with self._send_lock:
            if self._session_id is None or d.get("session_id") != self._session_id:
                await self._send(ws, 9, False)
                return
            self.resumes += 1
            if self._active is not None and self._active is not ws:
                with contextlib.suppress(Exception):
                    await self._active.close(code=4009, message=b"Session resumed elsewhere.")
            self._active = ws
            after = int(d.get("seq") or 0)
            for seq, frame in self._history:
                if seq > after:
                    await self._send_active(frame)
            await self._dispatch_locked("RESUMED", {"_trace": ['["fake-gateway",{"micros":0}]']})

    async def _request_members(self, d: JSON) -> None:
        members = list(self.members.values())
        user_ids = d.get("user_ids")
        if user_ids is not None:
            wanted = {str(u) for u in (user_ids if isinstance(user_ids, list) else [user_ids])}
            members = [m for m in members if m["user"]["id"] in wanted]
        elif d.get("query"):
            query = str(d["query"]).lower()
            members = [m for m in members if m["user"]["username"].lower().startswith(query)]
        limit = int(d.get("limit") or 0)
        if limit:
            members = members[:limit]
        chunk: JSON = {
            "guild_id": str(self.guild_id),
            "members": members,
            "chunk_index": 0,
            "chunk_count": 1,
            "not_found": [],
        }
        if d.get("presences"):
            chunk["presences"] = []
        if d.get("nonce") is not None:
            chunk["nonce"] = d["nonce"]
        await self.dispatch("GUILD_MEMBERS_CHUNK", chunk)

    async def wait_ready(self, timeout: float = 15) -> None:  # noqa: ASYNC109
        """Wait until a client identified and READY and GUILD_CREATE were dispatched to it.
        (discord.py fires on_ready ``guild_ready_timeout`` seconds later.)"""
        await self._until(
            lambda: self._ready and self.connected,
            timeout,
            lambda: f"READY (identifies={self.identifies}, connections={self.connections})",
        )

    async def wait_resumed(self, count: int = 1, timeout: float = 15) -> None:  # noqa: ASYNC109
        """Wait until the client RESUMEd at least `count` times in all."""
        await self._until(
            lambda: self.resumes >= count and self.connected,
            timeout,
            lambda: f"{count} RESUME(s); got {self.resumes}",
        )

    async def send_reconnect(self) -> None:
        """Send op 7 RECONNECT: the client closes and RESUMEs on ``resume_gateway_url``."""
        ws = self._active
        if ws is not None:
            await self._send(ws, 7, None)

    async def invalidate_session(self, *, resumable: bool = False) -> None:
        """Send op 9 INVALID_SESSION; with `resumable` False the client IDENTIFYs afresh."""
        ws = self._active
        if ws is None:
            return
        if not resumable:
            self._session_id = None
            self._ready = False
        await self._send(ws, 9, resumable)

    async def drop_connection(self, code: int = 4000) -> None:
        """Close the gateway socket from the server side (4000: the client resumes)."""
        ws = self._active
        if ws is not None:
            self._active = None
            await ws.close(code=code, message=b"fake drop")
