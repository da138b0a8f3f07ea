"""A fake of Slack on 127.0.0.1 that speaks the real wire protocol, for the real slack_sdk and
slack_bolt to talk to.

- Web API: ``POST`` (or ``GET``) ``/api/<method>``, as ``AsyncWebClient(base_url=fake.api_url)``
  sends it: the token in ``Authorization: Bearer …`` and the arguments in the query string, a
  form body or a JSON body (the SDK sends JSON for chat.postMessage, chat.update, views.*).
  Every call is recorded as a ``Call``; replies are HTTP 200 JSON ``{"ok": …}`` like Slack's,
  unless a failure was scripted with ``fail()``.
- Socket Mode: ``apps.connections.open`` returns ``ws://127.0.0.1:PORT/socket``; the fake says
  ``hello`` on connect, sends envelopes with ``send_envelope()`` and records the acks.
- Response URLs: ``response_url()`` gives a URL on the fake that records what ``respond()``
  posts.
- Block Kit: blocks in chat.* calls, views and responses are checked as Slack checks them
  (``block_kit``); what Slack would refuse gets ``invalid_blocks`` (views:
  ``invalid_arguments``) with the problems listed, and is neither posted nor recorded.
- Messages: chat.postMessage keeps what it posts in ``conversations`` (``slack_history``), which
  answers conversations.history and conversations.replies; ``conversations.say()`` writes as a
  person with no event sent, and ``lose_response()`` takes a call but never answers it.

Below the fake are pure helpers that build what Slack sends to an app: signed HTTP headers,
Events API envelopes, slash-command and interactive bodies (as form bodies for HTTP mode and as
payload dicts for Socket Mode), and message events."""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ParamSpec
from urllib.parse import urlencode

from aiohttp import WSCloseCode, WSMsgType, web
from slack_sdk.signature import SignatureVerifier

from tests.fakes import block_kit
from tests.fakes.loopback import serve
from tests.fakes.slack_history import Conversations, Loss, LostResponses

JSON = dict[str, Any]
P = ParamSpec("P")
Handler = Callable[["Call"], JSON]
"""Answers one Web API call with the JSON body of an HTTP 200 reply."""

VERIFICATION_TOKEN = "fake-verification-token"
"""The (deprecated) verification token Slack puts in its payloads."""

_JSON_FIELDS = ("blocks", "attachments", "view", "metadata")
_NO_TOKEN_METHODS = frozenset({"oauth.v2.access", "oauth.v2.exchange"})
_POLL = 0.01


@dataclass
class Call:
    """One Web API call the fake received."""

    method: str
    params: dict[str, Any]
    """Query, form and JSON arguments merged (the token excluded; client_id and client_secret
    from HTTP Basic auth included). JSON-carrying fields (blocks, attachments, view, metadata)
    are decoded when they arrive form-encoded as strings."""
    token: str | None
    failed: bool = False
    """True when the fake answered with an error: a scripted failure or an ``ok: false``."""
    http_method: str = "POST"
    reply: JSON | None = None
    """The JSON body the fake answered with (e.g. the ``ts`` chat.postMessage gave the post)."""
    at: float = field(default_factory=time.monotonic)
    """When the call arrived (time.monotonic())."""


@dataclass
class _Failure:
    status: int
    headers: dict[str, str]
    body: JSON


def _format_ts(micros: int) -> str:
    return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"


@dataclass
class FakeSlack:
    """A local Slack: Web API, Socket Mode and response URLs on one ephemeral port."""

    team_id: str = "T1"
    team_name: str = "OpsDrill Test"
    app_id: str = "A1"
    bot_user_id: str = "UBOT"
    bot_id: str = "BBOT"
    bot_scopes: str = (
        "app_mentions:read,channels:history,chat:write,commands,groups:history,im:history,"
        "im:write,reactions:write,users:read"
    )
    calls: list[Call] = field(default_factory=list)
    users: dict[str, JSON] = field(default_factory=dict)
    """users.info answers from here; unknown ids get ``default_user(id)``."""
    oauth_teams: dict[str, str] = field(default_factory=dict)
    """OAuth code -> team id the code installs into (oauth.v2.access); other codes fail."""
    oauth_installers: dict[str, str] = field(default_factory=dict)
    """OAuth code -> installing user id ("U1" when absent)."""
    tokens: dict[str, str] = field(default_factory=dict)
    """Bot token -> team id, for auth.test and team.info; filled by oauth.v2.access. Tokens not
    listed belong to ``team_id``."""
    revoked_tokens: set[str] = field(default_factory=set)
    """Calls with these tokens answer ``token_revoked``."""
    handlers: dict[str, Handler] = field(default_factory=dict)
    """Per-method overrides (or additional methods), consulted before the built-in ones."""
    views: dict[str, JSON] = field(default_factory=dict)
    """Views opened, published or updated, by view id."""
    responses: list[JSON] = field(default_factory=list)
    """JSON bodies posted to any response URL, in order."""
    acks: list[JSON] = field(default_factory=list)
    """Socket Mode messages from the app that carry an envelope_id (acks), in order."""
    socket_messages: list[JSON] = field(default_factory=list)
    """Every JSON text message the app sent over Socket Mode."""
    envelopes: list[JSON] = field(default_factory=list)
    """Every envelope sent with send_envelope()."""
    first_ts: float = 1_700_000_000.0001
    """The ts of the first message; later ones follow 100 µs apart. Set it near the app's clock
    when a test reads messages back by time."""

    def __post_init__(self) -> None:
        self._runner: web.AppRunner | None = None
        self._failures: dict[str, list[_Failure]] = {}
        self._sockets: list[web.WebSocketResponse] = []
        self._ts: Iterator[int] = itertools.count(round(self.first_ts * 1_000_000), 100)
        self._ids: Iterator[int] = itertools.count(1)
        self._reactions: set[tuple[str, str, str]] = set()
        self._response_log: list[tuple[str, JSON]] = []
        self._home_views: dict[str, str] = {}
        self.connections = 0
        """How many Socket Mode connections were ever accepted."""
        self.conversations = Conversations(next_ts=self._next_ts, team_id=self.team_id)
        """Every message posted or said, read back by conversations.history and .replies."""
        self._lost = LostResponses()
        self.base = ""
        self.api_url = ""
        self.socket_url = ""
        self._builtin: dict[str, Handler] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.update": self._chat_update,
            "reactions.add": self._reactions_add,
            "reactions.remove": self._reactions_remove,
            "users.info": self._users_info,
            "conversations.open": self._conversations_open,
            "conversations.history": self.conversations.history,
            "conversations.replies": self.conversations.replies,
            "views.open": self._views_open,
            "views.publish": self._views_publish,
            "views.update": self._views_update,
            "apps.connections.open": self._apps_connections_open,
            "oauth.v2.access": self._oauth_v2_access,
            "team.info": self._team_info,
            "files.getUploadURLExternal": self._files_get_upload_url,
            "files.completeUploadExternal": self._files_complete_upload,
        }
        self.files: dict[str, JSON] = {}
        """Files by id: name, length, the bytes uploaded, and where they were shared."""

    # --- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_get("/socket", self._socket)
        app.router.add_post("/response/{name}", self._response)
        app.router.add_post("/upload/{file_id}", self._upload)
        self._runner, port = await serve(app)
        self.base = f"http://127.0.0.1:{port}"
        self.api_url = f"{self.base}/api/"
        self.socket_url = f"ws://127.0.0.1:{port}/socket"

    async def stop(self) -> None:
        self._lost.release()
        await self.drop_connections()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # --- Web API -------------------------------------------------------------------------------

    def fail(
        self,
        method: str,
        *,
        status: int = 429,
        headers: Mapping[str, str] | None = None,
        body: JSON | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next `times` calls to `method` with this HTTP status, headers and body.

        The body defaults to ``ratelimited`` for 429 and ``fatal_error`` otherwise; a 429's
        headers default to ``Retry-After: 0`` (the SDK's retry handler still sleeps 0-1 s)."""
        if headers is None:
            headers = {"Retry-After": "0"} if status == 429 else {}
        if body is None:
            body = {"ok": False, "error": "ratelimited" if status == 429 else "fatal_error"}
        queue = self._failures.setdefault(method, [])
        queue.extend(_Failure(status, dict(headers), dict(body)) for _ in range(times))

    def lose_response(self, method: str, *, how: Loss = "hang", times: int = 1) -> None:
        """Carry out the next `times` calls to `method` but never answer them: `hang` past any
        client's timeout, or `close` the connection (see ``LostResponses``)."""
        self._lost.lose(method, how=how, times=times)

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    async def wait_for_call(
        self,
        method: str,
        count: int = 1,
        timeout: float = 5,  # noqa: ASYNC109
    ) -> list[Call]:
        """Wait until at least `count` calls to `method` were recorded; return them all."""
        await self._until(
            lambda: len(self.calls_to(method)) >= count,
            timeout,
            lambda: f"{count} call(s) to {method}; got {[c.method for c in self.calls]}",
        )
        return self.calls_to(method)

    def default_user(self, user_id: str) -> JSON:
        """The users.info record of a user not in ``self.users``."""
        return {
            "id": user_id,
            "team_id": self.team_id,
            "name": user_id.lower(),
            "real_name": user_id,
            "deleted": False,
            "is_admin": False,
            "is_owner": False,
            "is_bot": user_id == self.bot_user_id,
            "tz": "UTC",
            "tz_label": "Coordinated Universal Time",
            "tz_offset": 0,
            "profile": {"real_name": user_id, "display_name": user_id.lower()},
        }

    async def _api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        params = await _request_params(request)
        token: str | None = None
        authorization = request.headers.get("Authorization", "")
        if authorization.startswith("Bearer "):
            token = authorization.removeprefix("Bearer ").strip()
        elif authorization.startswith("Basic "):
            decoded = base64.b64decode(authorization.removeprefix("Basic ").strip()).decode()
            client_id, _, client_secret = decoded.partition(":")
            params.setdefault("client_id", client_id)
            params.setdefault("client_secret", client_secret)
        param_token = params.pop("token", None)
        if token is None and isinstance(param_token, str):
            token = param_token
        call = Call(method, params, token, http_method=request.method)
        self.calls.append(call)
        queue = self._failures.get(method)
        if queue:
            failure = queue.pop(0)
            call.failed = True
            call.reply = failure.body
            return web.json_response(failure.body, status=failure.status, headers=failure.headers)
        body = self._answer(call)
        call.failed = body.get("ok") is not True
        call.reply = body
        return await self._lost.answer(method, request) or web.json_response(body)

    def _answer(self, call: Call) -> JSON:
        handler = self.handlers.get(call.method) or self._builtin.get(call.method)
        if handler is None:
            return _error("unknown_method")
        auth_error = self._auth_error(call)
        if auth_error is not None:
            return _error(auth_error)
        return _block_kit_error(call) or handler(call)

    def _auth_error(self, call: Call) -> str | None:
        if call.method in _NO_TOKEN_METHODS:
            return None
        token = call.token
        if not token:
            return "not_authed"
        if token in self.revoked_tokens:
            return "token_revoked"
        if call.method == "apps.connections.open":
            return None if token.startswith("xapp-") else "not_allowed_token_type"
        if token.startswith("xapp-") and call.method != "auth.test":
            return "not_allowed_token_type"
        return None

    def _next_ts(self) -> str:
        return _format_ts(next(self._ts))

    def _team_of(self, call: Call) -> str:
        return self.tokens.get(call.token or "", self.team_id)

    def _team_name(self, team_id: str) -> str:
        return self.team_name if team_id == self.team_id else f"Team {team_id}"

    def _auth_test(self, call: Call) -> JSON:
        team = self._team_of(call)
        domain = _domain(self._team_name(team))
        return {
            "ok": True,
            "url": f"https://{domain}.slack.com/",
            "team": self._team_name(team),
            "user": "opsdrill",
            "team_id": team,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _message(self, call: Call, ts: str) -> JSON:
        p = call.params
        message: JSON = {
            "type": "message",
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "app_id": self.app_id,
            "text": p.get("text", ""),
            "ts": ts,
            "team": self._team_of(call),
        }
        for key in ("blocks", "attachments", "thread_ts", "metadata"):
            if p.get(key) is not None:
                message[key] = p[key]
        return message

    def _chat_post_message(self, call: Call) -> JSON:
        p = call.params
        if not p.get("channel"):
            return _error("channel_not_found")
        if not (p.get("text") or p.get("blocks") or p.get("attachments")):
            return _error("no_text")
        ts, channel = self._next_ts(), _dm_channel(str(p["channel"]))
        message = self._message(call, ts)
        self.conversations.store(
            channel, message, broadcast=p.get("reply_broadcast") in (True, "1", "true")
        )
        return {"ok": True, "channel": channel, "ts": ts, "message": message}

    def _chat_post_ephemeral(self, call: Call) -> JSON:
        p = call.params
        if not p.get("channel"):
            return _error("channel_not_found")
        if not p.get("user"):
            return _error("user_not_in_channel")
        if not (p.get("text") or p.get("blocks") or p.get("attachments")):
            return _error("no_text")
        return {"ok": True, "message_ts": self._next_ts()}

    def _chat_update(self, call: Call) -> JSON:
        p = call.params
        if not p.get("channel"):
            return _error("channel_not_found")
        if not p.get("ts"):
            return _error("message_not_found")
        ts = str(p["ts"])
        return {
            "ok": True,
            "channel": p["channel"],
            "ts": ts,
            "text": p.get("text", ""),
            "message": self._message(call, ts),
        }

    def _reaction_key(self, call: Call) -> tuple[str, str, str] | str:
        p = call.params
        if not p.get("channel") or not p.get("timestamp"):
            return "no_item_specified"
        if not p.get("name"):
            return "invalid_name"
        return (str(p["channel"]), str(p["timestamp"]), str(p["name"]))

    def _reactions_add(self, call: Call) -> JSON:
        key = self._reaction_key(call)
        if isinstance(key, str):
            return _error(key)
        if key in self._reactions:
            return _error("already_reacted")
        self._reactions.add(key)
        return {"ok": True}

    def _reactions_remove(self, call: Call) -> JSON:
        key = self._reaction_key(call)
        if isinstance(key, str):
            return _error(key)
        if key not in self._reactions:
            return _error("no_reaction")
        self._reactions.discard(key)
        return {"ok": True}

    def _users_info(self, call: Call) -> JSON:
        user = call.params.get("user")
        if not user:
            return _error("user_not_found")
        return {"ok": True, "user": self.users.get(str(user)) or self.default_user(str(user))}

    def _conversations_open(self, call: Call) -> JSON:
        p = call.params
        if p.get("channel"):
            return {
                "ok": True,
                "no_op": True,
                "already_open": True,
                "channel": {"id": p["channel"]},
            }
        users = str(p.get("users") or "")
        if not users:
            return _error("users_list_not_supplied")
        first = users.split(",")[0].strip()
        return {"ok": True, "no_op": False, "already_open": False, "channel": {"id": "D" + first}}

    def _store_view(self, call: Call, view_id: str, defaults: JSON) -> JSON:
        raw = call.params.get("view")
        if isinstance(raw, str):
            raw = json.loads(raw)
        if not isinstance(raw, dict):
            return _error("invalid_arguments")
        previous = self.views.get(view_id, {})
        view: JSON = {
            "id": view_id,
            "team_id": self._team_of(call),
            "type": "modal",
            "blocks": [],
            "private_metadata": "",
            "callback_id": "",
            "state": {"values": {}},
            "title": None,
            "clear_on_close": False,
            "notify_on_close": False,
            "close": None,
            "submit": None,
            "previous_view_id": None,
            "root_view_id": previous.get("root_view_id", view_id),
            "app_id": self.app_id,
            "external_id": "",
            "app_installed_team_id": self._team_of(call),
            "bot_id": self.bot_id,
            **defaults,
            **raw,
        }
        view["hash"] = f"{int(time.time())}.{next(self._ids):08d}"
        self.views[view_id] = view
        return {"ok": True, "view": view}

    def _new_view_id(self) -> str:
        return f"V{next(self._ids):08d}"

    def _views_open(self, call: Call) -> JSON:
        if not call.params.get("trigger_id"):
            return _error("invalid_arguments")
        return self._store_view(call, self._new_view_id(), {})

    def _views_publish(self, call: Call) -> JSON:
        user = call.params.get("user_id")
        if not user:
            return _error("invalid_arguments")
        view_id = self._home_views.setdefault(str(user), self._new_view_id())
        return self._store_view(call, view_id, {"type": "home"})

    def _views_update(self, call: Call) -> JSON:
        p = call.params
        view_id = p.get("view_id")
        if not view_id and p.get("external_id"):
            view_id = next(
                (vid for vid, v in self.views.items() if v.get("external_id") == p["external_id"]),
                None,
            )
            if view_id is None:
                return _error("not_found")
        if not view_id:
            return _error("invalid_arguments")
        return self._store_view(call, str(view_id), {})

    def _apps_connections_open(self, call: Call) -> JSON:
        return {"ok": True, "url": self.socket_url}

    def _oauth_v2_access(self, call: Call) -> JSON:
        p = call.params
        if not p.get("client_id"):
            return _error("invalid_client_id")
        code = str(p.get("code") or "")
        team = self.oauth_teams.get(code)
        if team is None:
            return _error("invalid_code")
        token = f"xoxb-{team}"
        self.tokens[token] = team
        return {
            "ok": True,
            "app_id": self.app_id,
            "authed_user": {"id": self.oauth_installers.get(code, "U1")},
            "scope": self.bot_scopes,
            "token_type": "bot",
            "access_token": token,
            "bot_user_id": self.bot_user_id,
            "team": {"id": team, "name": self._team_name(team)},
            "enterprise": None,
            "is_enterprise_install": False,
        }

    def _files_get_upload_url(self, call: Call) -> JSON:
        """Step 1 of files_upload_v2: a file id and the URL its bytes go to."""
        p = call.params
        if not p.get("filename") or not str(p.get("length") or "").isdigit():
            return _error("invalid_arguments")
        file_id = f"F{len(self.files) + 1:08d}"
        self.files[file_id] = {"name": p["filename"], "length": int(p["length"]), "content": None,
                               "alt_txt": p.get("alt_txt")}  # fmt: skip
        return {"ok": True, "upload_url": f"{self.base}/upload/{file_id}", "file_id": file_id}

    async def _upload(self, request: web.Request) -> web.StreamResponse:
        """Step 2: the bytes, POSTed to the URL step 1 gave."""
        file = self.files.get(request.match_info["file_id"])
        if file is None:
            return web.Response(status=404, text="no such upload")
        content = await request.read()
        if len(content) != file["length"]:
            return web.Response(status=400, text="length does not match")
        file["content"] = content
        return web.Response(status=200, text="OK - " + str(len(content)))

    def _files_complete_upload(self, call: Call) -> JSON:
        """Step 3: share the uploaded files in a channel, with an optional comment."""
        p = call.params
        listed = p.get("files")
        files = json.loads(listed) if isinstance(listed, str) else listed
        if not isinstance(files, list) or not files:
            return _error("invalid_arguments")
        shared = []
        for entry in files:
            file = self.files.get(str(entry.get("id")))
            if file is None or file["content"] is None:
                return _error("file_not_found")
            file.update(title=entry.get("title"), channel=p.get("channel_id"),
                        comment=p.get("initial_comment"))  # fmt: skip
            shared.append({"id": entry["id"], "name": file["name"], "title": entry.get("title")})
        return {"ok": True, "files": shared}

    def _team_info(self, call: Call) -> JSON:
        team = str(call.params.get("team") or self._team_of(call))
        name = self._team_name(team)
        return {
            "ok": True,
            "team": {
                "id": team,
                "name": name,
                "domain": _domain(name),
                "email_domain": "",
                "icon": {"image_default": True},
            },
        }

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
        timeout: float = 5,  # noqa: ASYNC109
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
        timeout: float = 5,  # noqa: ASYNC109
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
        timeout: float = 5,  # noqa: ASYNC109
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


def _error(error: str) -> JSON:
    return {"ok": False, "error": error}


_BLOCK_METHODS = frozenset({"chat.postMessage", "chat.postEphemeral", "chat.update"})
_VIEW_METHODS = frozenset({"views.open", "views.publish", "views.update", "views.push"})


def _block_kit_error(call: Call) -> JSON | None:
    """Slack's answer to blocks (or a view) it would not take, None when they are fine."""
    p = call.params
    if call.method in _BLOCK_METHODS and p.get("blocks") is not None:
        found, error = block_kit.problems(p["blocks"]), "invalid_blocks"
    elif call.method in _VIEW_METHODS and p.get("view") is not None:
        found, error = block_kit.view_problems(p["view"]), "invalid_arguments"
    else:
        return None
    if not found:
        return None
    messages = [f"[ERROR] {problem}" for problem in found]
    return {**_error(error), "errors": found, "response_metadata": {"messages": messages}}


def _domain(name: str) -> str:
    return "-".join(name.lower().split())


def _dm_channel(channel: str) -> str:
    """Posting to a user id posts to the DM with them, as Slack does."""
    return "D" + channel if channel[:1] in ("U", "W") else channel


async def _request_params(request: web.Request) -> dict[str, Any]:
    params: dict[str, Any] = dict(request.query)
    if request.method != "GET" and request.can_read_body:
        if request.content_type == "application/json":
            body = await request.json()
            if isinstance(body, dict):
                params.update(body)
        else:
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    params[key] = {"filename": value.filename, "content": value.file.read()}
                elif isinstance(value, bytes | bytearray):
                    params[key] = bytes(value)
                else:
                    params[key] = value
    for key in _JSON_FIELDS:
        raw = params.get(key)
        if isinstance(raw, str) and raw[:1] in ("[", "{"):
            try:
                params[key] = json.loads(raw)
            except ValueError:
                pass
    return params


# --- what Slack sends to an app --------------------------------------------------------------

_helper_ts: Iterator[int] = itertools.count(1_690_000_000_000_100, 100)
_helper_ids: Iterator[int] = itertools.count(1)


def fresh_ts() -> str:
    """A unique message ts (distinct from the ones FakeSlack hands out)."""
    return _format_ts(next(_helper_ts))


def fresh_event_id() -> str:
    return f"Ev0{next(_helper_ids):08d}"


def signed_headers(
    body: str,
    signing_secret: str,
    *,
    timestamp: int | None = None,
    retry_num: int | None = None,
    retry_reason: str | None = None,
    content_type: str | None = None,
) -> dict[str, str]:
    """Headers of a request from Slack carrying `body`, signed with `signing_secret`.

    The Content-Type is JSON when the body looks like JSON, else form-encoded."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(signing_secret).generate_signature(timestamp=ts, body=body)
    assert signature is not None
    if content_type is None:
        looks_json = body.lstrip().startswith("{")
        content_type = "application/json" if looks_json else "application/x-www-form-urlencoded"
    headers = {
        "Content-Type": content_type,
        "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": signature,
    }
    if retry_num is not None:
        headers["X-Slack-Retry-Num"] = str(retry_num)
        headers["X-Slack-Retry-Reason"] = retry_reason or "http_timeout"
    elif retry_reason is not None:
        headers["X-Slack-Retry-Reason"] = retry_reason
    return headers


def event_callback(
    event: JSON,
    *,
    team_id: str = "T1",
    event_id: str | None = None,
    api_app_id: str = "A1",
    event_time: int | None = None,
    bot_user_id: str = "UBOT",
) -> JSON:
    """An Events API envelope (the JSON body Slack POSTs, or the events_api payload)."""
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "context_team_id": team_id,
        "context_enterprise_id": None,
        "api_app_id": api_app_id,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or fresh_event_id(),
        "event_time": int(time.time()) if event_time is None else event_time,
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": team_id,
                "user_id": bot_user_id,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": f"4-fake-{team_id}",
    }


def url_verification(challenge: str = "fake-challenge") -> JSON:
    return {"token": VERIFICATION_TOKEN, "challenge": challenge, "type": "url_verification"}


def slash_command_payload(
    text: str,
    *,
    user_id: str = "U1",
    channel_id: str = "C1",
    team_id: str = "T1",
    command: str = "/drill",
    response_url: str,
    trigger_id: str = "T.1",
    api_app_id: str = "A1",
) -> dict[str, str]:
    """A slash command's fields, as Slack sends them (the slash_commands payload as is)."""
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "team_domain": team_id.lower(),
        "channel_id": channel_id,
        "channel_name": "directmessage" if channel_id.startswith("D") else channel_id.lower(),
        "user_id": user_id,
        "user_name": user_id.lower(),
        "command": command,
        "text": text,
        "api_app_id": api_app_id,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id,
    }


def interactive_form(payload: JSON) -> str:
    """An interactive payload's urlencoded body (``payload=<json>``), as Slack POSTs it."""
    return urlencode({"payload": json.dumps(payload)})


def _user(user_id: str, team_id: str) -> JSON:
    return {"id": user_id, "username": user_id.lower(), "name": user_id.lower(), "team_id": team_id}


def block_action_payload(
    action_id: str,
    value: str = "",
    *,
    block_id: str = "b1",
    user_id: str = "U1",
    team_id: str = "T1",
    channel_id: str = "C1",
    message_ts: str | None = None,
    message: JSON | None = None,
    response_url: str,
    trigger_id: str = "T.1",
    api_app_id: str = "A1",
    button_text: str = "Button",
    ephemeral: bool = False,
    action: JSON | None = None,
) -> JSON:
    """A button click in a message (type block_actions). `action` is merged into the action
    (e.g. another element type); `message` replaces the clicked message (default: an empty
    message by the bot at `message_ts`). Ephemeral messages carry no message, as in Slack."""
    message_ts = message_ts or (message or {}).get("ts") or fresh_ts()
    clicked: JSON = {
        "action_id": action_id,
        "block_id": block_id,
        "text": {"type": "plain_text", "text": button_text, "emoji": True},
        "value": value,
        "type": "button",
        "action_ts": f"{time.time():.6f}",
    }
    clicked.update(action or {})
    payload: JSON = {
        "type": "block_actions",
        "user": _user(user_id, team_id),
        "api_app_id": api_app_id,
        "token": VERIFICATION_TOKEN,
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel_id,
            "is_ephemeral": ephemeral,
        },
        "trigger_id": trigger_id,
        "team": {"id": team_id, "domain": team_id.lower()},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel_id, "name": channel_id.lower()},
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [clicked],
    }
    if not ephemeral:
        payload["message"] = message or {
            "type": "message", "user": "UBOT", "bot_id": "BBOT", "app_id": api_app_id,
            "text": "", "ts": message_ts, "team": team_id, "blocks": [],
        }  # fmt: skip
    return payload


def view_submission_payload(
    callback_id: str,
    values: Mapping[str, Mapping[str, str | JSON]],
    *,
    private_metadata: str = "",
    view_id: str = "V1",
    user_id: str = "U1",
    team_id: str = "T1",
    trigger_id: str = "T.1",
    api_app_id: str = "A1",
    title: str = "OpsDrill",
) -> JSON:
    """A modal submission (type view_submission). `values` maps block_id -> action_id -> the
    typed text (a plain_text_input) or a full state value dict (for other elements)."""
    state: dict[str, dict[str, JSON]] = {}
    blocks: list[JSON] = []
    for block_id, actions in values.items():
        state[block_id] = {}
        for action_id, entry in actions.items():
            value = (
                {"type": "plain_text_input", "value": entry} if isinstance(entry, str) else entry
            )
            state[block_id][action_id] = dict(value)
            blocks.append({
                "type": "input", "block_id": block_id,
                "label": {"type": "plain_text", "text": block_id},
                "element": {"type": value.get("type", "plain_text_input"), "action_id": action_id},
            })  # fmt: skip
    return {
        "type": "view_submission",
        "team": {"id": team_id, "domain": team_id.lower()},
        "user": _user(user_id, team_id),
        "api_app_id": api_app_id,
        "token": VERIFICATION_TOKEN,
        "trigger_id": trigger_id,
        "view": {
            "id": view_id,
            "team_id": team_id,
            "type": "modal",
            "blocks": blocks,
            "private_metadata": private_metadata,
            "callback_id": callback_id,
            "state": {"values": state},
            "hash": f"{int(time.time())}.fakehash",
            "title": {"type": "plain_text", "text": title},
            "clear_on_close": False,
            "notify_on_close": False,
            "close": {"type": "plain_text", "text": "Cancel"},
            "submit": {"type": "plain_text", "text": "Submit"},
            "previous_view_id": None,
            "root_view_id": view_id,
            "app_id": api_app_id,
            "external_id": "",
            "app_installed_team_id": team_id,
            "bot_id": "BBOT",
        },
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }


def _channel_type(channel: str) -> str:
    return {"D": "im", "G": "group"}.get(channel[:1], "channel")


def message_event(
    text: str,
    *,
    user: str = "U1",
    channel: str = "C1",
    ts: str | None = None,
    thread_ts: str | None = None,
    team: str = "T1",
) -> JSON:
    """A user's message (event type message, no subtype); `ts` is fresh when None."""
    ts = ts or fresh_ts()
    event: JSON = {
        "type": "message",
        "client_msg_id": str(uuid.uuid4()),
        "text": text,
        "user": user,
        "ts": ts,
        "team": team,
        "channel": channel,
        "event_ts": ts,
        "channel_type": _channel_type(channel),
    }
    if thread_ts is not None:
        event["thread_ts"] = thread_ts
    return event


def app_mention_event(
    text: str,
    *,
    user: str = "U1",
    channel: str = "C1",
    ts: str | None = None,
    thread_ts: str | None = None,
    team: str = "T1",
    bot_user_id: str = "UBOT",
) -> JSON:
    """An app_mention; the text is prefixed with the bot's mention unless it already has it."""
    ts = ts or fresh_ts()
    mention = f"<@{bot_user_id}>"
    event: JSON = {
        "type": "app_mention",
        "client_msg_id": str(uuid.uuid4()),
        "text": text if mention in text else f"{mention} {text}",
        "user": user,
        "ts": ts,
        "team": team,
        "channel": channel,
        "event_ts": ts,
    }
    if thread_ts is not None:
        event["thread_ts"] = thread_ts
    return event


def message_changed_event(
    text: str,
    *,
    previous_text: str = "",
    user: str = "U1",
    channel: str = "C1",
    ts: str,
    thread_ts: str | None = None,
    team: str = "T1",
    event_ts: str | None = None,
) -> JSON:
    """An edit of the message at `ts` (subtype message_changed)."""
    event_ts = event_ts or fresh_ts()
    message: JSON = {
        "type": "message", "user": user, "text": text, "ts": ts, "team": team,
        "edited": {"user": user, "ts": event_ts}, "client_msg_id": str(uuid.uuid4()),
    }  # fmt: skip
    previous: JSON = {"type": "message", "user": user, "text": previous_text, "ts": ts}
    if thread_ts is not None:
        message["thread_ts"] = thread_ts
        previous["thread_ts"] = thread_ts
    return {
        "type": "message",
        "subtype": "message_changed",
        "message": message,
        "previous_message": previous,
        "channel": channel,
        "hidden": True,
        "ts": event_ts,
        "event_ts": event_ts,
        "channel_type": _channel_type(channel),
    }


def message_deleted_event(
    deleted_ts: str,
    *,
    previous_text: str = "",
    user: str = "U1",
    channel: str = "C1",
    thread_ts: str | None = None,
    event_ts: str | None = None,
) -> JSON:
    """The deletion of the message at `deleted_ts` (subtype message_deleted)."""
    event_ts = event_ts or fresh_ts()
    previous: JSON = {"type": "message", "user": user, "text": previous_text, "ts": deleted_ts}
    if thread_ts is not None:
        previous["thread_ts"] = thread_ts
    return {
        "type": "message",
        "subtype": "message_deleted",
        "previous_message": previous,
        "channel": channel,
        "hidden": True,
        "deleted_ts": deleted_ts,
        "ts": event_ts,
        "event_ts": event_ts,
        "channel_type": _channel_type(channel),
    }


def bot_message_event(
    text: str,
    *,
    bot_id: str = "BBOT",
    user: str | None = "UBOT",
    app_id: str = "A1",
    channel: str = "C1",
    ts: str | None = None,
    thread_ts: str | None = None,
    team: str = "T1",
    subtype: str | None = None,
    username: str | None = None,
) -> JSON:
    """A message posted by an app (by default this fake's own bot, as an echo of its post).
    Pass ``subtype="bot_message"`` (usually with ``user=None``) for a legacy integration."""
    ts = ts or fresh_ts()
    event: JSON = {
        "type": "message",
        "text": text,
        "ts": ts,
        "bot_id": bot_id,
        "app_id": app_id,
        "team": team,
        "bot_profile": {"id": bot_id, "app_id": app_id, "name": username or "bot", "team_id": team},
        "channel": channel,
        "event_ts": ts,
        "channel_type": _channel_type(channel),
    }
    if user is not None:
        event["user"] = user
    if subtype is not None:
        event["subtype"] = subtype
    if username is not None:
        event["username"] = username
    if thread_ts is not None:
        event["thread_ts"] = thread_ts
    return event


def _as_form(build: Callable[P, JSON], encode: Callable[[JSON], str]) -> Callable[P, str]:
    def form(*args: P.args, **kwargs: P.kwargs) -> str:
        return encode(build(*args, **kwargs))

    form.__doc__ = f"{build.__name__}(...) as the urlencoded body Slack POSTs."
    return form


slash_command_form = _as_form(slash_command_payload, urlencode)
block_action_form = _as_form(block_action_payload, interactive_form)
view_submission_form = _as_form(view_submission_payload, interactive_form)
