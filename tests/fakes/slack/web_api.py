"""The fake's Web API: recorded calls, scripted failures and lost responses, auth, chat.*,
reactions, users, conversations.open, views, Socket Mode's connection URL, OAuth and team.info."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Mapping

from aiohttp import web

from tests.fakes.slack.wire import (
    _NO_TOKEN_METHODS,
    JSON,
    Call,
    _block_kit_error,
    _dm_channel,
    _domain,
    _error,
    _Failure,
    _format_ts,
    _request_params,
)
from tests.fakes.slack_history import Loss


class WebApi:
    """Web API methods and the calls they record."""

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
        timeout: float = 15,  # noqa: ASYNC109
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
