"""The fake's REST plumbing (routing, recorded requests, scripted failures, rate-limit headers)
and the handlers for the gateway URL, users, the application and its commands."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import time
from collections.abc import Callable, Mapping
from typing import Any

from aiohttp import BodyPartReader, web

from tests.fakes.discord.wire import (
    _POLL,
    JSON,
    DiscordError,
    Handler,
    Request,
    _add_error,
    _Failure,
    _invalid_form,
    _json_headers,
    _max_length,
    _Reply,
)


class Rest:
    """REST routing, failures and waiting, and the user/application/command endpoints."""

    # --- REST plumbing -------------------------------------------------------------------------

    def fail(
        self,
        method: str,
        path_regex: str,
        *,
        status: int = 429,
        retry_after: float = 0.05,
        times: int = 1,
        is_global: bool = False,
        body: JSON | None = None,
    ) -> None:
        """Answer the next `times` requests matching `method` and `path_regex` (fullmatch on the
        path below the API base) with `status`. A 429 carries ``Via``, ``Retry-After`` and
        ``X-RateLimit-*`` headers and ``{"message", "retry_after", "global"}``; other statuses
        carry `body` or a Discord-style ``{"message", "code"}``."""
        self._failures.append(
            _Failure(
                method.upper(), re.compile(path_regex), status, retry_after, is_global, body, times
            )
        )

    def requests_to(self, method: str, path_regex: str) -> list[Request]:
        """Recorded requests with this method whose path fullmatches `path_regex`."""
        pattern = re.compile(path_regex)
        return [
            r for r in self.requests if r.method == method.upper() and pattern.fullmatch(r.path)
        ]

    async def wait_for(
        self,
        method: str,
        path_regex: str,
        count: int = 1,
        timeout: float = 15,  # noqa: ASYNC109
    ) -> list[Request]:
        """Wait until at least `count` matching requests were recorded; return them all."""
        await self._until(
            lambda: len(self.requests_to(method, path_regex)) >= count,
            timeout,
            lambda: (
                f"{count} {method} {path_regex}; got "
                f"{[(r.method, r.path, r.status) for r in self.requests]}"
            ),
        )
        return self.requests_to(method, path_regex)

    async def _until(
        self,
        predicate: Callable[[], bool],
        timeout: float,  # noqa: ASYNC109
        describe: Callable[[], str],
    ) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while not predicate():
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"timed out waiting for {describe()}")
            await asyncio.sleep(_POLL)

    def _take_failure(self, method: str, path: str) -> _Failure | None:
        for failure in self._failures:
            if failure.method == method and failure.pattern.fullmatch(path):
                failure.remaining -= 1
                if failure.remaining <= 0:
                    self._failures.remove(failure)
                return failure
        return None

    def _ratelimit_headers(
        self, path: str, *, remaining: int = 49, reset_after: float = 1.0
    ) -> dict[str, str]:
        bucket = hashlib.md5(re.sub(r"\d{5,}", "id", path).encode()).hexdigest()
        return {
            "X-RateLimit-Limit": "50",
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": bucket,
        }

    def _respond(self, status: int, body: Any, headers: Mapping[str, str]) -> web.Response:
        if status == 204 or body is None:
            return web.Response(status=204, headers=dict(headers))
        return web.Response(
            status=status,
            body=json.dumps(body).encode(),
            headers={**headers, **_json_headers()},
        )

    def _failure_response(self, failure: _Failure, path: str) -> tuple[int, web.Response]:
        if failure.status == 429:
            headers = {
                **self._ratelimit_headers(path, remaining=0, reset_after=failure.retry_after),
                "Retry-After": str(max(1, int(failure.retry_after + 0.999))),
                "Via": "1.1 google",
                "X-RateLimit-Scope": "global" if failure.is_global else "user",
            }
            if failure.is_global:
                headers["X-RateLimit-Global"] = "true"
            body = failure.body or {
                "message": "You are being rate limited.",
                "retry_after": failure.retry_after,
                "global": failure.is_global,
            }
            return 429, self._respond(429, body, headers)
        body = failure.body or {
            "message": {
                400: "400: Bad Request",
                401: "401: Unauthorized",
                403: "Missing Permissions",
                404: "404: Not Found",
            }.get(failure.status, f"{failure.status}: Server Error"),
            "code": 50013 if failure.status == 403 else 0,
        }
        return failure.status, self._respond(failure.status, body, self._ratelimit_headers(path))

    async def _read_body(self, request: web.Request) -> tuple[Any, list[tuple[str, bytes]]]:
        if not request.can_read_body:
            return None, []
        if request.content_type.startswith("multipart/"):
            payload: Any = None
            files: list[tuple[str, bytes]] = []
            reader = await request.multipart()
            while True:
                part = await reader.next()
                if part is None:
                    break
                if not isinstance(part, BodyPartReader):  # nested multipart: not used
                    continue
                content = await part.read()
                if part.name == "payload_json":
                    payload = json.loads(content)
                else:
                    files.append((part.filename or part.name or "file", bytes(content)))
            return payload, files
        raw = await request.read()
        if not raw:
            return None, []
        try:
            return json.loads(raw), []
        except ValueError:
            return raw.decode(errors="replace"), []

    async def _api(self, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["tail"]
        body, files = await self._read_body(request)
        record = Request(
            request.method, path, body, dict(request.query), dict(request.headers), files=files
        )
        self.requests.append(record)
        failure = self._take_failure(request.method, path)
        if failure is not None:
            record.status, response = self._failure_response(failure, path)
            return response
        try:
            handler, params = self._route(request.method, path)
            if not path.startswith(("/interactions/", "/webhooks/")):
                if request.headers.get("Authorization") != f"Bot {self.token}":
                    raise DiscordError(401, 0, "401: Unauthorized")
            result = await handler(record, params)
        except DiscordError as exc:
            record.status = exc.status
            return self._respond(exc.status, exc.body(), self._ratelimit_headers(path))
        status = 200
        if isinstance(result, _Reply):
            status, result = result.status, result.body
        if result is None:
            status = 204
        record.status = status
        return self._respond(status, result, self._ratelimit_headers(path))

    def _route(self, method: str, path: str) -> tuple[Handler, dict[str, str]]:
        path_matched = False
        for route_method, pattern, handler in self._routes:
            match = pattern.fullmatch(path)
            if match is None:
                continue
            path_matched = True
            if route_method == method:
                return handler, match.groupdict()
        if path_matched:
            raise DiscordError(405, 0, "405: Method Not Allowed")
        raise DiscordError(404, 0, "404: Not Found")

    def _route_table(self) -> list[tuple[str, str, Handler]]:
        app = r"/applications/(?P<app>\d+)"
        guild_cmds = app + r"/guilds/(?P<guild>\d+)/commands"
        channel = r"/channels/(?P<channel>\d+)"
        message = channel + r"/messages/(?P<message>\d+)"
        hook = r"/webhooks/(?P<app>\d+)/(?P<token>[^/]+)"
        return [
            ("GET", r"/gateway", self._get_gateway),
            ("GET", r"/gateway/bot", self._get_gateway_bot),
            ("GET", r"/users/@me", self._get_me),
            ("GET", r"/users/(?P<user>\d+)", self._get_user),
            ("POST", r"/users/@me/channels", self._create_dm),
            ("GET", r"/oauth2/applications/@me", self._get_application),
            ("GET", r"/applications/@me", self._get_application),
            ("GET", app + r"/commands", self._get_commands),
            ("PUT", app + r"/commands", self._put_commands),
            ("POST", app + r"/commands", self._post_command),
            ("GET", guild_cmds, self._get_commands),
            ("PUT", guild_cmds, self._put_commands),
            ("POST", guild_cmds, self._post_command),
            ("GET", channel, self._get_channel),
            ("GET", channel + r"/messages", self._get_messages),
            ("POST", channel + r"/messages", self._post_message),
            ("POST", channel + r"/typing", self._no_content),
            ("POST", channel + r"/threads", self._start_thread_without_message),
            ("PUT", channel + r"/thread-members/@me", self._no_content),
            ("DELETE", channel + r"/thread-members/@me", self._no_content),
            ("GET", message, self._get_message),
            ("PATCH", message, self._patch_message),
            ("DELETE", message, self._delete_message),
            ("POST", message + r"/threads", self._start_thread_from_message),
            ("PUT", message + r"/reactions/(?P<emoji>[^/]+)/@me", self._add_reaction),
            ("DELETE", message + r"/reactions/(?P<emoji>[^/]+)/@me", self._remove_reaction),
            (
                "POST",
                r"/interactions/(?P<interaction>\d+)/(?P<token>[^/]+)/callback",
                self._interaction_callback,
            ),
            ("POST", hook, self._webhook_followup),
            ("GET", hook + r"/messages/(?P<message>@original|\d+)", self._webhook_get),
            ("PATCH", hook + r"/messages/(?P<message>@original|\d+)", self._webhook_edit),
            ("DELETE", hook + r"/messages/(?P<message>@original|\d+)", self._webhook_delete),
            ("GET", r"/guilds/(?P<guild>\d+)", self._get_guild),
            ("GET", r"/guilds/(?P<guild>\d+)/channels", self._get_guild_channels),
            ("GET", r"/guilds/(?P<guild>\d+)/roles", self._get_guild_roles),
            ("GET", r"/guilds/(?P<guild>\d+)/members/(?P<user>\d+)", self._get_member),
        ]

    # --- REST handlers: gateway, users, application, commands --------------------------------

    async def _no_content(self, req: Request, p: dict[str, str]) -> None:
        if "channel" in p:
            self._channel(int(p["channel"]))
        return None

    async def _get_gateway(self, req: Request, p: dict[str, str]) -> JSON:
        return {"url": self.gateway_url}

    async def _get_gateway_bot(self, req: Request, p: dict[str, str]) -> JSON:
        return {
            "url": self.gateway_url,
            "shards": 1,
            "session_start_limit": {
                "total": 1000,
                "remaining": 1000 - self.identifies,
                "reset_after": 86_400_000,
                "max_concurrency": 1,
            },
        }

    async def _get_me(self, req: Request, p: dict[str, str]) -> JSON:
        return self._me_payload()

    def _me_payload(self) -> JSON:
        return {
            **self.bot_user,
            "verified": True,
            "mfa_enabled": True,
            "email": None,
            "locale": "en-US",
            "premium_type": 0,
        }

    async def _get_user(self, req: Request, p: dict[str, str]) -> JSON:
        user = self.users.get(int(p["user"]))
        if user is None:
            raise DiscordError(404, 10013, "Unknown User")
        return user

    async def _get_application(self, req: Request, p: dict[str, str]) -> JSON:
        return self.application_payload()

    def _check_app(self, p: dict[str, str]) -> None:
        if int(p["app"]) != self.application_id:
            raise DiscordError(403, 50001, "Missing Access")
        if "guild" in p and int(p["guild"]) != self.guild_id:
            raise DiscordError(403, 50001, "Missing Access")

    def _command_list(self, p: dict[str, str]) -> list[JSON]:
        if "guild" in p:
            return self.guild_commands.setdefault(int(p["guild"]), [])
        return self.global_commands

    def _store_command(self, p: dict[str, str], body: JSON, existing: list[JSON]) -> JSON:
        errors: JSON = {}
        name = body.get("name")
        if not isinstance(name, str) or not name:
            _add_error(errors, ["name"], "BASE_TYPE_REQUIRED", "This field is required")
        else:
            _max_length(errors, ["name"], name, 32)
        if body.get("type", 1) == 1:
            _max_length(errors, ["description"], body.get("description"), 100)
        if errors:
            raise _invalid_form(errors)
        previous = next(
            (c for c in existing if c["name"] == name and c["type"] == body.get("type", 1)), None
        )
        command: JSON = {
            "type": 1,
            "description": "",
            "options": [],
            "default_member_permissions": None,
            "dm_permission": True,
            "contexts": None,
            "integration_types": [0],
            "nsfw": False,
            **body,
            "id": previous["id"] if previous else str(self.snowflake()),
            "application_id": str(self.application_id),
            "version": str(self.snowflake()),
        }
        if "guild" in p:
            command["guild_id"] = p["guild"]
        return command

    async def _get_commands(self, req: Request, p: dict[str, str]) -> list[JSON]:
        self._check_app(p)
        return self._command_list(p)

    async def _put_commands(self, req: Request, p: dict[str, str]) -> list[JSON]:
        self._check_app(p)
        existing = self._command_list(p)
        if not isinstance(req.json, list):
            raise _invalid_form({"_errors": [{"code": "BASE_TYPE_ARRAY", "message": "Not a list"}]})
        commands = [self._store_command(p, dict(body), existing) for body in req.json]
        existing[:] = commands
        return commands

    async def _post_command(self, req: Request, p: dict[str, str]) -> _Reply:
        self._check_app(p)
        existing = self._command_list(p)
        command = self._store_command(p, dict(req.json or {}), existing)
        existing[:] = [c for c in existing if c["id"] != command["id"]] + [command]
        return _Reply(201, command)
