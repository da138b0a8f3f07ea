"""A fake of Discord on 127.0.0.1 that speaks the real wire protocol, for the real discord.py
(``commands.Bot``, app commands, views, modals) to talk to.

- REST: ``http://127.0.0.1:PORT/api/v10/...`` (assign ``fake.api_base`` to
  ``discord.http.Route.BASE``). Every call is recorded as a ``Request``; answers carry complete
  payloads shaped like ``discord/types/*.py`` and ``Content-Type: application/json`` exactly (the
  only thing discord.py parses as JSON). Errors use Discord's JSON error shape
  (``{"message", "code", "errors"}``), including validation errors for over-long content,
  embeds, components, modal fields and thread names. ``fail()`` scripts failures; a 429 carries
  the ``Via`` and ``X-RateLimit-*`` headers discord.py needs to retry instead of raising.
- Gateway: ``ws://127.0.0.1:PORT/gateway`` (assign ``yarl.URL(fake.gateway_url)`` to
  ``discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY``). Plain JSON text frames (the ``compress``
  query parameter is ignored: discord.py accepts uncompressed text frames). HELLO, IDENTIFY ->
  READY + GUILD_CREATE, heartbeats, RESUME (replaying missed dispatches) -> RESUMED, RECONNECT,
  INVALID_SESSION, REQUEST_GUILD_MEMBERS -> GUILD_MEMBERS_CHUNK. Dispatches are filtered by the
  identified intents like Discord does (message events need GUILD_MESSAGES / DIRECT_MESSAGES;
  without MESSAGE_CONTENT, guild messages that neither come from nor mention the bot arrive with
  empty content, embeds, attachments and components).
- Like Discord, messages the bot sends (REST or interaction responses that are not ephemeral)
  come back as MESSAGE_CREATE; edits as MESSAGE_UPDATE; threads as THREAD_CREATE.

State: one application, one bot user ("OpsDrill"), one guild with text channels "general" and
"mlops", roles (@everyone, "admin" with Manage Guild, the bot's managed role), members (the
owner and the bot; tests add more with ``add_member``), DM channels created on demand, messages
per channel and threads as channels (type 11, id == starter message id).

Gotchas for users of this fake (all real discord.py behaviour):
- ``Client(guild_ready_timeout=...)`` defaults to 2 s: on_ready fires that long after the last
  GUILD_CREATE. Pass e.g. ``guild_ready_timeout=0.05`` in tests.
- Without the (privileged) members intent, GUILD_CREATE carries only the bot's member, so
  ``guild.get_member(user)`` is None; interactions carry the member (with ``permissions``).
- discord.py retries 500/502/504 itself, sleeping 1 s, 3 s, ... between tries.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import json
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import BodyPartReader, WSMsgType, web

from tests.fakes.loopback import serve

JSON = dict[str, Any]

API_VERSION = 10
DISCORD_EPOCH_MS = 1_420_070_400_000
_POLL = 0.01

# Permission bits (https://discord.com/developers/docs/topics/permissions).
CREATE_INSTANT_INVITE = 1 << 0
ADMINISTRATOR = 1 << 3
MANAGE_GUILD = 1 << 5
ADD_REACTIONS = 1 << 6
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
MANAGE_MESSAGES = 1 << 13
EMBED_LINKS = 1 << 14
ATTACH_FILES = 1 << 15
READ_MESSAGE_HISTORY = 1 << 16
MENTION_EVERYONE = 1 << 17
USE_EXTERNAL_EMOJIS = 1 << 18
CHANGE_NICKNAME = 1 << 26
USE_APPLICATION_COMMANDS = 1 << 31
MANAGE_THREADS = 1 << 34
CREATE_PUBLIC_THREADS = 1 << 35
CREATE_PRIVATE_THREADS = 1 << 36
SEND_MESSAGES_IN_THREADS = 1 << 38
ALL_PERMISSIONS = 8_866_461_766_385_663
"""What Discord reports for the guild owner and for ADMINISTRATOR."""

EVERYONE_PERMISSIONS = (
    CREATE_INSTANT_INVITE
    | ADD_REACTIONS
    | VIEW_CHANNEL
    | SEND_MESSAGES
    | EMBED_LINKS
    | ATTACH_FILES
    | READ_MESSAGE_HISTORY
    | MENTION_EVERYONE
    | USE_EXTERNAL_EMOJIS
    | CHANGE_NICKNAME
    | USE_APPLICATION_COMMANDS
    | CREATE_PUBLIC_THREADS
    | CREATE_PRIVATE_THREADS
    | SEND_MESSAGES_IN_THREADS
)
BOT_ROLE_PERMISSIONS = EVERYONE_PERMISSIONS | MANAGE_MESSAGES | MANAGE_THREADS

# Gateway intents.
INTENT_GUILDS = 1 << 0
INTENT_GUILD_MEMBERS = 1 << 1
INTENT_GUILD_PRESENCES = 1 << 8
INTENT_GUILD_MESSAGES = 1 << 9
INTENT_GUILD_MESSAGE_REACTIONS = 1 << 10
INTENT_DIRECT_MESSAGES = 1 << 12
INTENT_DIRECT_MESSAGE_REACTIONS = 1 << 13
INTENT_MESSAGE_CONTENT = 1 << 15
PRIVILEGED_INTENTS = INTENT_GUILD_MEMBERS | INTENT_GUILD_PRESENCES | INTENT_MESSAGE_CONTENT

# Message flags.
FLAG_EPHEMERAL = 1 << 6
FLAG_LOADING = 1 << 7
FLAG_COMPONENTS_V2 = 1 << 15

# Channel types.
GUILD_TEXT = 0
DM = 1
PUBLIC_THREAD = 11
PRIVATE_THREAD = 12
THREAD_TYPES = frozenset({10, PUBLIC_THREAD, PRIVATE_THREAD})

_APP_FLAGS = (1 << 19) | (1 << 23)  # GATEWAY_MESSAGE_CONTENT_LIMITED | APPLICATION_COMMAND_BADGE
_ARCHIVE_DURATIONS = frozenset({60, 1440, 4320, 10080})
_MENTION = re.compile(r"<@!?(\d+)>")
_ROLE_MENTION = re.compile(r"<@&(\d+)>")
_OPTION_TYPES: dict[type, int] = {bool: 5, int: 4, float: 10, str: 3}


@dataclass
class Request:
    """One REST request the fake received."""

    method: str
    path: str
    """Decoded path below the API base, e.g. ``/channels/123/messages``."""
    json: Any
    """The JSON body (for multipart requests: the decoded ``payload_json`` part); else None."""
    query: dict[str, str]
    headers: dict[str, str]
    status: int = 0
    """The HTTP status the fake answered with."""
    files: list[tuple[str, bytes]] = field(default_factory=list)
    """(filename, content) of the file parts of a multipart request."""


@dataclass
class InteractionResponse:
    """One interaction callback (``POST /interactions/{id}/{token}/callback``) the bot made."""

    interaction_id: int
    token: str
    type: int
    """The callback type: 4 message, 5 deferred message, 6 deferred update, 7 update, 9 modal."""
    data: JSON
    """The callback's ``data`` ({} when absent)."""
    body: JSON
    """The whole callback body as posted."""


class DiscordError(Exception):
    """Answers a REST request with Discord's JSON error shape."""

    def __init__(self, status: int, code: int, message: str, errors: JSON | None = None) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors

    def body(self) -> JSON:
        body: JSON = {"message": self.message, "code": self.code}
        if self.errors:
            body["errors"] = self.errors
        return body


@dataclass
class _Failure:
    method: str
    pattern: re.Pattern[str]
    status: int
    retry_after: float
    is_global: bool
    body: JSON | None
    remaining: int


@dataclass
class _Interaction:
    payload: JSON
    created: float
    response: InteractionResponse | None = None
    original: JSON | None = None
    """The original response message (for callback type 6/7: the component's message)."""
    followups: dict[int, JSON] = field(default_factory=dict)

    @property
    def id(self) -> int:
        return int(self.payload["id"])

    @property
    def channel_id(self) -> int:
        return int(self.payload["channel_id"])


@dataclass
class _Reply:
    status: int
    body: Any


Handler = Callable[[Request, dict[str, str]], Awaitable[Any]]


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime | None = None) -> str:
    return (moment or _now()).isoformat(timespec="microseconds")


def _add_error(errors: JSON, path: Sequence[str | int], code: str, message: str) -> None:
    node = errors
    for key in path:
        node = node.setdefault(str(key), {})
    node.setdefault("_errors", []).append({"code": code, "message": message})


def _max_length(errors: JSON, path: Sequence[str | int], value: Any, limit: int) -> None:
    if isinstance(value, str) and len(value) > limit:
        _add_error(errors, path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")


def _invalid_form(errors: JSON) -> DiscordError:
    return DiscordError(400, 50035, "Invalid Form Body", errors)


def _json_headers() -> dict[str, str]:
    return {"Content-Type": "application/json"}


class FakeDiscord:
    """A local Discord: REST API and gateway on one ephemeral port."""

    def __init__(
        self,
        *,
        token: str = "fake-bot-token",
        guild_name: str = "OpsDrill Test",
        bot_name: str = "OpsDrill",
        heartbeat_interval_ms: int = 41250,
        privileged_intents_enabled: bool = True,
    ) -> None:
        self.token = token
        """The bot token REST calls (``Authorization: Bot …``) and IDENTIFY/RESUME must carry."""
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.privileged_intents_enabled = privileged_intents_enabled
        """When False, an IDENTIFY asking for privileged intents is closed with 4014."""
        self.interaction_deadline: float | None = None
        """Seconds after which an interaction callback answers 10062 Unknown interaction (Discord:
        3). None: no deadline."""
        self._ids: Iterator[int] = itertools.count()
        self._last_snowflake = 0

        self.application_id = self.snowflake()
        self.bot_user_id = self.application_id
        self.guild_id = self.snowflake()
        self.owner_id = self.snowflake()
        self.admin_role_id = self.snowflake()
        self.bot_role_id = self.snowflake()
        self.general_channel_id = self.snowflake()
        self.channel_id = self.snowflake()
        """The "mlops" text channel."""

        self.requests: list[Request] = []
        self.interaction_responses: list[InteractionResponse] = []
        self.users: dict[int, JSON] = {}
        self.members: dict[int, JSON] = {}
        """user id -> member payload (with ``user``)."""
        self.roles: dict[int, JSON] = {}
        self.channels: dict[int, JSON] = {}
        """Guild channels, threads and DM channels by id."""
        self.messages: dict[int, dict[int, JSON]] = {}
        """channel id -> message id -> message (REST shape), in creation order."""
        self.dm_channels: dict[int, int] = {}
        """user id -> DM channel id."""
        self.closed_dms: set[int] = set()
        self.global_commands: list[JSON] = []
        self.guild_commands: dict[int, list[JSON]] = {}
        self.interactions: dict[int, _Interaction] = {}
        self.identifies = 0
        self.resumes = 0
        self.connections = 0
        self.heartbeats = 0
        self.identify_payloads: list[JSON] = []
        self.gateway_received: list[JSON] = []
        """Every JSON frame the client sent over the gateway."""
        self.dispatched: list[tuple[str, JSON]] = []
        """Every (event name, data) actually sent to the client, in order."""
        self.intents: int | None = None

        self._failures: list[_Failure] = []
        self._modals: dict[str, tuple[JSON, _Interaction]] = {}
        self._reactors: dict[tuple[int, int, str], set[int]] = {}
        self._runner: web.AppRunner | None = None
        self._sockets: set[web.WebSocketResponse] = set()
        self._active: web.WebSocketResponse | None = None
        self._session_id: str | None = None
        self._seq = 0
        self._history: list[tuple[int, str]] = []
        self._send_lock = asyncio.Lock()
        self._ready = False
        self.api_base = ""
        self.gateway_url = ""
        self.base = ""

        self.bot_user = self._user_payload(self.bot_user_id, bot_name, bot=True)
        self.users[self.bot_user_id] = self.bot_user
        self._setup_guild(guild_name)
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = [
            (method, re.compile(pattern), handler)
            for method, pattern, handler in self._route_table()
        ]

    # --- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/api/v10/{tail:.*}", self._api)
        app.router.add_get("/gateway", self._gateway)
        self._runner, port = await serve(app)
        self.base = f"http://127.0.0.1:{port}"
        self.api_base = f"{self.base}/api/v{API_VERSION}"
        self.gateway_url = f"ws://127.0.0.1:{port}/gateway"

    async def stop(self) -> None:
        for ws in list(self._sockets):
            with contextlib.suppress(Exception):
                await ws.close(code=1001, message=b"fake stopping")
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # --- ids and payload builders --------------------------------------------------------------

    def snowflake(self) -> int:
        """A fresh, increasing Discord snowflake for the current time."""
        value = ((int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22) | (next(self._ids) & 0xFFF)
        value = max(value, self._last_snowflake + 1)
        self._last_snowflake = value
        return value

    def _user_payload(self, user_id: int, name: str, *, bot: bool = False) -> JSON:
        user: JSON = {
            "id": str(user_id),
            "username": name,
            "discriminator": "0",
            "global_name": None if bot else name,
            "avatar": None,
            "avatar_decoration_data": None,
            "banner": None,
            "accent_color": None,
            "public_flags": 0,
            "flags": 0,
            "primary_guild": None,
            "collectibles": None,
        }
        if bot:
            user["bot"] = True
        return user

    def _role_payload(
        self, role_id: int, name: str, permissions: int, position: int, *, bot: bool = False
    ) -> JSON:
        role: JSON = {
            "id": str(role_id),
            "name": name,
            "description": None,
            "color": 0,
            "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
            "hoist": False,
            "icon": None,
            "unicode_emoji": None,
            "position": position,
            "permissions": str(permissions),
            "managed": bot,
            "mentionable": False,
            "flags": 0,
        }
        if bot:
            role["tags"] = {"bot_id": str(self.bot_user_id)}
        return role

    def _text_channel(self, channel_id: int, name: str, position: int) -> JSON:
        return {
            "id": str(channel_id),
            "type": GUILD_TEXT,
            "guild_id": str(self.guild_id),
            "name": name,
            "position": position,
            "permission_overwrites": [],
            "nsfw": False,
            "parent_id": None,
            "topic": None,
            "last_message_id": None,
            "last_pin_timestamp": None,
            "rate_limit_per_user": 0,
            "default_thread_rate_limit_per_user": 0,
            "default_auto_archive_duration": 1440,
            "flags": 0,
        }

    def _setup_guild(self, guild_name: str) -> None:
        self.guild_name = guild_name
        everyone = self._role_payload(self.guild_id, "@everyone", EVERYONE_PERMISSIONS, 0)
        admin = self._role_payload(self.admin_role_id, "admin", MANAGE_GUILD, 1)
        bot_role = self._role_payload(
            self.bot_role_id, "OpsDrill", BOT_ROLE_PERMISSIONS, 2, bot=True
        )
        for role in (everyone, admin, bot_role):
            self.roles[int(role["id"])] = role
        self.channels[self.general_channel_id] = self._text_channel(
            self.general_channel_id, "general", 0
        )
        self.channels[self.channel_id] = self._text_channel(self.channel_id, "mlops", 1)
        self.messages[self.general_channel_id] = {}
        self.messages[self.channel_id] = {}
        self.users[self.owner_id] = self._user_payload(self.owner_id, "owner")
        self.members[self.owner_id] = self._member_payload(self.owner_id, [])
        self.members[self.bot_user_id] = self._member_payload(self.bot_user_id, [self.bot_role_id])

    def _member_payload(self, user_id: int, roles: list[int]) -> JSON:
        return {
            "user": self.users[user_id],
            "roles": [str(r) for r in roles],
            "joined_at": _iso(),
            "deaf": False,
            "mute": False,
            "flags": 0,
            "nick": None,
            "avatar": None,
            "banner": None,
            "premium_since": None,
            "pending": False,
            "communication_disabled_until": None,
            "unusual_dm_activity_until": None,
        }

    def add_user(self, user_id: int, name: str) -> JSON:
        """A Discord user who is not (necessarily) in the guild; returns the user payload."""
        self.users[user_id] = self._user_payload(user_id, name)
        return self.users[user_id]

    def add_member(self, user_id: int, name: str, *, admin: bool = False) -> JSON:
        """A guild member (with the "admin" role — Manage Guild — when `admin`); returns the
        member payload. Members added after READY reach the client with their messages and
        interactions (Discord sends no GUILD_MEMBER_ADD without the members intent)."""
        self.add_user(user_id, name)
        self.members[user_id] = self._member_payload(user_id, [self.admin_role_id] if admin else [])
        return self.members[user_id]

    def add_text_channel(self, name: str) -> int:
        """Another text channel in the guild (before connecting; afterwards also dispatch
        CHANNEL_CREATE with ``self.channels[id]``). Returns its id."""
        channel_id = self.snowflake()
        position = sum(1 for c in self.channels.values() if c["type"] == GUILD_TEXT)
        self.channels[channel_id] = self._text_channel(channel_id, name, position)
        self.messages[channel_id] = {}
        return channel_id

    def close_dms(self, user_id: int) -> None:
        """The user no longer accepts DMs: the bot's DMs to them answer 403, code 50007."""
        self.closed_dms.add(user_id)

    def open_dms(self, user_id: int) -> None:
        self.closed_dms.discard(user_id)

    def dm_channel_for(self, user_id: int) -> int:
        """The id of the DM channel between the bot and the user (created if needed)."""
        return int(self._ensure_dm(user_id)["id"])

    def _ensure_dm(self, user_id: int) -> JSON:
        if user_id not in self.users:
            raise DiscordError(
                400,
                50035,
                "Invalid Form Body",
                {
                    "recipient_id": {
                        "_errors": [{"code": "USER_NOT_FOUND", "message": "Unknown user"}]
                    }
                },
            )
        existing = self.dm_channels.get(user_id)
        if existing is not None:
            return self.channels[existing]
        channel_id = self.snowflake()
        channel: JSON = {
            "id": str(channel_id),
            "type": DM,
            "last_message_id": None,
            "flags": 0,
            "recipients": [self.users[user_id]],
        }
        self.channels[channel_id] = channel
        self.messages[channel_id] = {}
        self.dm_channels[user_id] = channel_id
        return channel

    def permissions_of(self, user_id: int) -> int:
        """The user's guild-level permissions (no channel overwrites exist in the fake)."""
        if user_id == self.owner_id:
            return ALL_PERMISSIONS
        member = self.members.get(user_id)
        if member is None:
            return 0
        perms = int(self.roles[self.guild_id]["permissions"])
        for role_id in member["roles"]:
            role = self.roles.get(int(role_id))
            if role is not None:
                perms |= int(role["permissions"])
        return ALL_PERMISSIONS if perms & ADMINISTRATOR else perms

    def guild_payload(self) -> JSON:
        """The guild as ``GET /guilds/{id}`` returns it."""
        return {
            "id": str(self.guild_id),
            "name": self.guild_name,
            "icon": None,
            "icon_hash": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "owner_id": str(self.owner_id),
            "region": "deprecated",
            "afk_channel_id": None,
            "afk_timeout": 300,
            "widget_enabled": False,
            "widget_channel_id": None,
            "verification_level": 1,
            "default_message_notifications": 1,
            "explicit_content_filter": 2,
            "roles": list(self.roles.values()),
            "emojis": [],
            "stickers": [],
            "features": [],
            "mfa_level": 0,
            "nsfw_level": 0,
            "nsfw": False,
            "application_id": None,
            "system_channel_id": str(self.general_channel_id),
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "safety_alerts_channel_id": None,
            "max_presences": None,
            "max_members": 500000,
            "max_video_channel_users": 25,
            "max_stage_video_channel_users": 50,
            "vanity_url_code": None,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "premium_progress_bar_enabled": False,
            "preferred_locale": "en-US",
            "public_updates_channel_id": None,
            "incidents_data": None,
            "hub_type": None,
            "latest_onboarding_question_id": None,
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
        }

    def _guild_create_payload(self) -> JSON:
        members_intent = bool((self.intents or 0) & INTENT_GUILD_MEMBERS)
        members = [
            m for uid, m in self.members.items() if members_intent or uid == self.bot_user_id
        ]
        guild_channels = [
            {k: v for k, v in c.items() if k != "guild_id"}
            for c in self.channels.values()
            if c.get("guild_id") == str(self.guild_id) and c["type"] not in THREAD_TYPES
        ]
        threads = [
            c
            for c in self.channels.values()
            if c["type"] in THREAD_TYPES and not c["thread_metadata"]["archived"]
        ]
        return {
            **self.guild_payload(),
            "joined_at": self.members[self.bot_user_id]["joined_at"],
            "large": False,
            "lazy": True,
            "unavailable": False,
            "member_count": len(self.members),
            "members": members,
            "channels": guild_channels,
            "threads": threads,
            "presences": [],
            "voice_states": [],
            "embedded_activities": [],
            "activity_instances": [],
            "application_command_counts": {},
        }

    def application_payload(self) -> JSON:
        """``GET /oauth2/applications/@me``."""
        return {
            "id": str(self.application_id),
            "name": self.bot_user["username"],
            "icon": None,
            "description": "",
            "summary": "",
            "type": None,
            "hook": True,
            "bot_public": True,
            "bot_require_code_grant": False,
            "verify_key": hashlib.sha256(str(self.application_id).encode()).hexdigest(),
            "flags": _APP_FLAGS,
            "owner": self.users[self.owner_id],
            "team": None,
            "bot": self.bot_user,
            "rpc_origins": [],
            "redirect_uris": [],
            "interactions_endpoint_url": None,
            "role_connections_verification_url": None,
            "approximate_guild_count": 1,
            "approximate_user_install_count": 0,
            "tags": [],
            "install_params": {"scopes": ["bot", "applications.commands"], "permissions": "0"},
            "integration_types_config": {
                "0": {
                    "oauth2_install_params": {
                        "scopes": ["bot", "applications.commands"],
                        "permissions": str(BOT_ROLE_PERMISSIONS),
                    }
                },
                "1": {},
            },
        }

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
        timeout: float = 5,  # noqa: ASYNC109
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

    # --- REST handlers: channels, messages, threads, reactions ---------------------------------

    def _channel(self, channel_id: int) -> JSON:
        channel = self.channels.get(channel_id)
        if channel is None:
            raise DiscordError(404, 10003, "Unknown Channel")
        return channel

    def _message(self, channel_id: int, message_id: int) -> JSON:
        self._channel(channel_id)
        message = self.messages.get(channel_id, {}).get(message_id)
        if message is None:
            raise DiscordError(404, 10008, "Unknown Message")
        return message

    def _dm_recipient(self, channel: JSON) -> int | None:
        if channel["type"] != DM:
            return None
        return int(channel["recipients"][0]["id"])

    async def _get_channel(self, req: Request, p: dict[str, str]) -> JSON:
        return self._channel(int(p["channel"]))

    async def _get_messages(self, req: Request, p: dict[str, str]) -> list[JSON]:
        channel_id = int(p["channel"])
        self._channel(channel_id)
        limit = min(100, int(req.query.get("limit", "50")))
        ordered = sorted(self.messages.get(channel_id, {}).values(), key=lambda m: int(m["id"]))
        if "after" in req.query:
            after = int(req.query["after"])
            picked = [m for m in ordered if int(m["id"]) > after][:limit]
            return list(reversed(picked))
        if "before" in req.query:
            before = int(req.query["before"])
            ordered = [m for m in ordered if int(m["id"]) < before]
        return list(reversed(ordered))[:limit]

    async def _get_message(self, req: Request, p: dict[str, str]) -> JSON:
        return self._message(int(p["channel"]), int(p["message"]))

    async def _post_message(self, req: Request, p: dict[str, str]) -> JSON:
        channel_id = int(p["channel"])
        channel = self._channel(channel_id)
        recipient = self._dm_recipient(channel)
        if recipient is not None and recipient in self.closed_dms:
            raise DiscordError(403, 50007, "Cannot send messages to this user")
        body: JSON = dict(req.json or {})
        self._validate_message(body, creating=True, has_files=bool(req.files))
        message = self.new_message(channel_id, self.bot_user_id, body, files=req.files)
        await self._message_created(message)
        return message

    async def _patch_message(self, req: Request, p: dict[str, str]) -> JSON:
        message = self._message(int(p["channel"]), int(p["message"]))
        if message["author"]["id"] != str(self.bot_user_id):
            raise DiscordError(403, 50005, "Cannot edit a message authored by another user")
        body: JSON = dict(req.json or {})
        self._validate_message(body, creating=False, has_files=bool(req.files))
        self._apply_edit(message, body, req.files)
        await self._dispatch_message("MESSAGE_UPDATE", message)
        return message

    async def _delete_message(self, req: Request, p: dict[str, str]) -> None:
        channel_id, message_id = int(p["channel"]), int(p["message"])
        self._message(channel_id, message_id)
        await self._remove_message(channel_id, message_id)
        return None

    def _thread_payload(
        self, thread_id: int, parent: JSON, name: str, thread_type: int, auto_archive: int
    ) -> JSON:
        now = _iso()
        metadata: JSON = {
            "archived": False,
            "auto_archive_duration": auto_archive,
            "archive_timestamp": now,
            "locked": False,
            "create_timestamp": now,
        }
        if thread_type == PRIVATE_THREAD:
            metadata["invitable"] = True
        return {
            "id": str(thread_id),
            "type": thread_type,
            "guild_id": str(self.guild_id),
            "parent_id": parent["id"],
            "owner_id": str(self.bot_user_id),
            "name": name,
            "last_message_id": None,
            "message_count": 0,
            "member_count": 1,
            "total_message_sent": 0,
            "rate_limit_per_user": 0,
            "flags": 0,
            "nsfw": False,
            "applied_tags": [],
            "thread_metadata": metadata,
        }

    def _validate_thread(self, body: JSON, parent: JSON) -> tuple[str, int]:
        errors: JSON = {}
        name = body.get("name")
        if not isinstance(name, str) or not name.strip():
            _add_error(errors, ["name"], "BASE_TYPE_REQUIRED", "This field is required")
            name = ""
        else:
            _max_length(errors, ["name"], name, 100)
        auto_archive = body.get("auto_archive_duration") or parent.get(
            "default_auto_archive_duration", 1440
        )
        if auto_archive not in _ARCHIVE_DURATIONS:
            _add_error(
                errors,
                ["auto_archive_duration"],
                "BASE_TYPE_CHOICES",
                f"Value must be one of {sorted(_ARCHIVE_DURATIONS)}.",
            )
        if parent["type"] != GUILD_TEXT:
            raise DiscordError(400, 50024, "Cannot execute action on this channel type")
        if errors:
            raise _invalid_form(errors)
        return name, int(auto_archive)

    async def _create_thread(
        self, parent: JSON, thread_id: int, name: str, thread_type: int, auto_archive: int
    ) -> JSON:
        thread = self._thread_payload(thread_id, parent, name, thread_type, auto_archive)
        self.channels[thread_id] = thread
        self.messages[thread_id] = {}
        member = {
            "id": str(thread_id),
            "user_id": str(self.bot_user_id),
            "join_timestamp": thread["thread_metadata"]["create_timestamp"],
            "flags": 1,
        }
        await self.dispatch("THREAD_CREATE", {**thread, "newly_created": True, "member": member})
        return thread

    async def _start_thread_from_message(self, req: Request, p: dict[str, str]) -> _Reply:
        channel_id, message_id = int(p["channel"]), int(p["message"])
        parent = self._channel(channel_id)
        message = self._message(channel_id, message_id)
        name, auto_archive = self._validate_thread(dict(req.json or {}), parent)
        if message_id in self.channels:
            raise DiscordError(400, 160004, "A thread has already been created for this message")
        thread = await self._create_thread(parent, message_id, name, PUBLIC_THREAD, auto_archive)
        message["thread"] = thread
        return _Reply(201, thread)

    async def _start_thread_without_message(self, req: Request, p: dict[str, str]) -> _Reply:
        parent = self._channel(int(p["channel"]))
        body: JSON = dict(req.json or {})
        name, auto_archive = self._validate_thread(body, parent)
        thread_type = int(body.get("type") or PRIVATE_THREAD)
        thread = await self._create_thread(
            parent, self.snowflake(), name, thread_type, auto_archive
        )
        return _Reply(201, thread)

    def _reaction_emoji(self, raw: str) -> JSON:
        name, _, emoji_id = raw.partition(":")
        return {"id": emoji_id or None, "name": name}

    async def _add_reaction(self, req: Request, p: dict[str, str]) -> None:
        channel_id, message_id = int(p["channel"]), int(p["message"])
        await self.react(channel_id, message_id, self.bot_user_id, p["emoji"])
        return None

    async def _remove_reaction(self, req: Request, p: dict[str, str]) -> None:
        channel_id, message_id = int(p["channel"]), int(p["message"])
        message = self._message(channel_id, message_id)
        emoji = self._reaction_emoji(p["emoji"])
        reactors = self._reactors.get((channel_id, message_id, p["emoji"]), set())
        if self.bot_user_id not in reactors:
            return None
        reactors.discard(self.bot_user_id)
        for reaction in message.get("reactions", []):
            if reaction["emoji"] == emoji and reaction["me"]:
                reaction["me"] = False
                reaction["count"] -= 1
                reaction["count_details"]["normal"] -= 1
        message["reactions"] = [r for r in message.get("reactions", []) if r["count"] > 0]
        await self.dispatch(
            "MESSAGE_REACTION_REMOVE",
            {
                "user_id": str(self.bot_user_id),
                "channel_id": str(channel_id),
                "message_id": str(message_id),
                "emoji": emoji,
                "burst": False,
                "type": 0,
                **self._guild_id_field(self.channels[channel_id]),
            },
        )
        return None

    async def react(self, channel_id: int, message_id: int, user_id: int, emoji: str) -> None:
        """`user_id` reacts with `emoji` (unicode, or ``name:id``); dispatches
        MESSAGE_REACTION_ADD (what the bot's ``PUT …/reactions/{emoji}/@me`` does too)."""
        message = self._message(channel_id, message_id)
        partial = self._reaction_emoji(emoji)
        reactors = self._reactors.setdefault((channel_id, message_id, emoji), set())
        if user_id in reactors:  # Discord: reacting twice is a no-op
            return
        reactors.add(user_id)
        reactions: list[JSON] = message.setdefault("reactions", [])
        reaction = next((r for r in reactions if r["emoji"] == partial), None)
        if reaction is None:
            reaction = {
                "count": 0,
                "count_details": {"burst": 0, "normal": 0},
                "me": False,
                "me_burst": False,
                "emoji": partial,
                "burst_colors": [],
            }
            reactions.append(reaction)
        reaction["count"] += 1
        reaction["count_details"]["normal"] += 1
        if user_id == self.bot_user_id:
            reaction["me"] = True
        channel = self.channels[channel_id]
        event: JSON = {
            "user_id": str(user_id),
            "channel_id": str(channel_id),
            "message_id": str(message_id),
            "emoji": partial,
            "burst": False,
            "burst_colors": [],
            "type": 0,
            "message_author_id": message["author"]["id"],
            **self._guild_id_field(channel),
        }
        if "guild_id" in event and user_id in self.members:
            event["member"] = self.members[user_id]
        await self.dispatch("MESSAGE_REACTION_ADD", event)

    async def _create_dm(self, req: Request, p: dict[str, str]) -> JSON:
        body: JSON = dict(req.json or {})
        if "recipient_id" not in body:
            raise _invalid_form(
                {
                    "recipient_id": {
                        "_errors": [
                            {"code": "BASE_TYPE_REQUIRED", "message": "This field is required"}
                        ]
                    }
                }
            )
        return self._ensure_dm(int(body["recipient_id"]))

    # --- REST handlers: guild --------------------------------------------------------------------

    def _check_guild(self, p: dict[str, str]) -> None:
        if int(p["guild"]) != self.guild_id:
            raise DiscordError(404, 10004, "Unknown Guild")

    async def _get_guild(self, req: Request, p: dict[str, str]) -> JSON:
        self._check_guild(p)
        guild = self.guild_payload()
        if req.query.get("with_counts") in ("1", "true", "True"):
            guild["approximate_member_count"] = len(self.members)
            guild["approximate_presence_count"] = 0
        return guild

    async def _get_guild_channels(self, req: Request, p: dict[str, str]) -> list[JSON]:
        self._check_guild(p)
        return [
            c
            for c in self.channels.values()
            if c.get("guild_id") == str(self.guild_id) and c["type"] not in THREAD_TYPES
        ]

    async def _get_guild_roles(self, req: Request, p: dict[str, str]) -> list[JSON]:
        self._check_guild(p)
        return list(self.roles.values())

    async def _get_member(self, req: Request, p: dict[str, str]) -> JSON:
        self._check_guild(p)
        member = self.members.get(int(p["user"]))
        if member is None:
            raise DiscordError(404, 10007, "Unknown Member")
        return member

    # --- messages --------------------------------------------------------------------------------

    def _validate_message(self, body: JSON, *, creating: bool, has_files: bool) -> None:
        errors: JSON = {}
        _max_length(errors, ["content"], body.get("content"), 2000)
        embeds = body.get("embeds") or []
        if len(embeds) > 10:
            _add_error(errors, ["embeds"], "BASE_TYPE_MAX_LENGTH", "Must be 10 or fewer in length.")
        total = 0
        for i, embed in enumerate(embeds):
            for key, limit in (("title", 256), ("description", 4096)):
                _max_length(errors, ["embeds", i, key], embed.get(key), limit)
                total += len(embed.get(key) or "")
            footer = embed.get("footer") or {}
            _max_length(errors, ["embeds", i, "footer", "text"], footer.get("text"), 2048)
            author = embed.get("author") or {}
            _max_length(errors, ["embeds", i, "author", "name"], author.get("name"), 256)
            total += len(footer.get("text") or "") + len(author.get("name") or "")
            fields = embed.get("fields") or []
            if len(fields) > 25:
                _add_error(
                    errors,
                    ["embeds", i, "fields"],
                    "BASE_TYPE_MAX_LENGTH",
                    "Must be 25 or fewer in length.",
                )
            for j, fld in enumerate(fields):
                for key, limit in (("name", 256), ("value", 1024)):
                    value = fld.get(key)
                    if not value:
                        _add_error(
                            errors,
                            ["embeds", i, "fields", j, key],
                            "BASE_TYPE_REQUIRED",
                            "This field is required",
                        )
                    _max_length(errors, ["embeds", i, "fields", j, key], value, limit)
                    total += len(value or "")
        if total > 6000:
            _add_error(
                errors,
                ["embeds"],
                "MAX_EMBED_SIZE_EXCEEDED",
                "Embed size exceeds maximum size of 6000",
            )
        if not int(body.get("flags") or 0) & FLAG_COMPONENTS_V2:
            self._validate_rows(errors, body.get("components") or [])
        if errors:
            raise _invalid_form(errors)
        if creating and not (
            body.get("content")
            or embeds
            or body.get("components")
            or body.get("sticker_ids")
            or body.get("poll")
            or has_files
        ):
            raise DiscordError(400, 50006, "Cannot send an empty message")

    def _validate_rows(self, errors: JSON, rows: list[JSON]) -> None:
        if len(rows) > 5:
            _add_error(
                errors, ["components"], "BASE_TYPE_MAX_LENGTH", "Must be 5 or fewer in length."
            )
        for i, row in enumerate(rows):
            children = row.get("components") or []
            if row.get("type") != 1 or not children or len(children) > 5:
                _add_error(
                    errors,
                    ["components", i],
                    "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
                    "An action row must hold 1 to 5 components",
                )
            for j, child in enumerate(children):
                _max_length(
                    errors,
                    ["components", i, "components", j, "custom_id"],
                    child.get("custom_id"),
                    100,
                )
                _max_length(
                    errors, ["components", i, "components", j, "label"], child.get("label"), 80
                )
                if len(child.get("options") or []) > 25:
                    _add_error(
                        errors,
                        ["components", i, "components", j, "options"],
                        "BASE_TYPE_MAX_LENGTH",
                        "Must be 25 or fewer in length.",
                    )

    def _mentions(self, content: str, allowed: JSON | None) -> tuple[list[JSON], list[str], bool]:
        parse = set((allowed or {}).get("parse", ["users", "roles", "everyone"]))
        allowed_users = {str(u) for u in (allowed or {}).get("users", [])}
        allowed_roles = {str(r) for r in (allowed or {}).get("roles", [])}
        users: list[JSON] = []
        for user_id in dict.fromkeys(_MENTION.findall(content)):
            if int(user_id) in self.users and (
                allowed is None or "users" in parse or user_id in allowed_users
            ):
                users.append(self.users[int(user_id)])
        roles = [
            r
            for r in dict.fromkeys(_ROLE_MENTION.findall(content))
            if int(r) in self.roles and (allowed is None or "roles" in parse or r in allowed_roles)
        ]
        everyone = ("@everyone" in content or "@here" in content) and (
            allowed is None or "everyone" in parse
        )
        return users, roles, everyone

    def _attachments(
        self, channel_id: int, body: JSON, files: Sequence[tuple[str, bytes]]
    ) -> list[JSON]:
        described = {int(a.get("id", i)): a for i, a in enumerate(body.get("attachments") or [])}
        attachments: list[JSON] = []
        for index, (filename, content) in enumerate(files):
            attachment_id = self.snowflake()
            meta = described.get(index, {})
            url = f"https://cdn.discordapp.com/attachments/{channel_id}/{attachment_id}/{filename}"
            attachment: JSON = {
                "id": str(attachment_id),
                "filename": meta.get("filename", filename),
                "size": len(content),
                "url": url,
                "proxy_url": url.replace("cdn.discordapp.com", "media.discordapp.net"),
            }
            if meta.get("description"):
                attachment["description"] = meta["description"]
            attachments.append(attachment)
        return attachments

    def new_message(
        self,
        channel_id: int,
        author_id: int,
        body: JSON,
        *,
        files: Sequence[tuple[str, bytes]] = (),
        message_id: int | None = None,
        store: bool = True,
        extra: JSON | None = None,
    ) -> JSON:
        """Build (and with `store`, keep) a message in REST shape from a create-message body
        (content, embeds, components, flags, message_reference, allowed_mentions, nonce, ...)."""
        channel = self._channel(channel_id)
        content = str(body.get("content") or "")
        mentions, mention_roles, everyone = self._mentions(content, body.get("allowed_mentions"))
        message_type = 0
        reference = body.get("message_reference")
        referenced: JSON | None = None
        if reference:
            ref_channel = int(reference.get("channel_id") or channel_id)
            ref_id = int(reference["message_id"])
            referenced = self.messages.get(ref_channel, {}).get(ref_id)
            if referenced is None and reference.get("fail_if_not_exists", True):
                raise _invalid_form(
                    {
                        "message_reference": {
                            "_errors": [
                                {
                                    "code": "MESSAGE_REFERENCE_UNKNOWN_MESSAGE",
                                    "message": "Unknown message",
                                }
                            ]
                        }
                    }
                )
            reference = {
                "type": 0,
                "channel_id": str(ref_channel),
                "message_id": str(ref_id),
                **self._guild_id_field(channel),
            }
            message_type = 19
            if referenced is not None and referenced["author"]["id"] not in {
                u["id"] for u in mentions
            }:
                if (body.get("allowed_mentions") or {}).get("replied_user", True):
                    mentions.append(referenced["author"])
        mid = message_id if message_id is not None else self.snowflake()
        message: JSON = {
            "id": str(mid),
            "channel_id": str(channel_id),
            "type": message_type,
            "content": content,
            "author": self.users[author_id],
            "timestamp": _iso(),
            "edited_timestamp": None,
            "tts": bool(body.get("tts", False)),
            "mention_everyone": everyone,
            "mentions": mentions,
            "mention_roles": mention_roles,
            "attachments": self._attachments(channel_id, body, files),
            "embeds": [{"type": "rich", **e} for e in body.get("embeds") or []],
            "components": body.get("components") or [],
            "pinned": False,
            "flags": int(body.get("flags") or 0),
        }
        if body.get("nonce") is not None:
            message["nonce"] = body["nonce"]
        if reference:
            message["message_reference"] = reference
            message["referenced_message"] = referenced
        if author_id == self.bot_user_id:
            message["application_id"] = str(self.application_id)
        if extra:
            message.update(extra)
        if channel["type"] in THREAD_TYPES:
            message["position"] = channel["total_message_sent"]
        if store:
            self._store(message)
        return message

    def _store(self, message: JSON) -> None:
        channel_id = int(message["channel_id"])
        channel = self.channels[channel_id]
        self.messages.setdefault(channel_id, {})[int(message["id"])] = message
        channel["last_message_id"] = message["id"]
        if channel["type"] in THREAD_TYPES:
            channel["message_count"] += 1
            channel["total_message_sent"] += 1

    def _apply_edit(self, message: JSON, body: JSON, files: Sequence[tuple[str, bytes]]) -> None:
        channel_id = int(message["channel_id"])
        was_loading = bool(message["flags"] & FLAG_LOADING)
        if "content" in body:
            message["content"] = str(body["content"] or "")
            users, roles, everyone = self._mentions(
                message["content"], body.get("allowed_mentions")
            )
            message["mentions"], message["mention_roles"] = users, roles
            message["mention_everyone"] = everyone
        if "embeds" in body:
            message["embeds"] = [{"type": "rich", **e} for e in body["embeds"] or []]
        if "components" in body:
            message["components"] = body["components"] or []
        if body.get("flags") is not None:
            keep = message["flags"] & FLAG_EPHEMERAL
            message["flags"] = (int(body["flags"]) & ~FLAG_LOADING) | keep
        if "attachments" in body or files:
            kept_ids = {str(a.get("id")) for a in body.get("attachments") or []}
            kept = [a for a in message["attachments"] if a["id"] in kept_ids]
            message["attachments"] = kept + self._attachments(channel_id, body, files)
        message["flags"] &= ~FLAG_LOADING
        if not was_loading:
            message["edited_timestamp"] = _iso()

    def _guild_id_field(self, channel: JSON) -> JSON:
        return {"guild_id": channel["guild_id"]} if "guild_id" in channel else {}

    def _gateway_message(self, message: JSON) -> JSON:
        """A stored (REST-shaped) message as MESSAGE_CREATE/UPDATE carries it."""
        channel = self.channels[int(message["channel_id"])]
        event = {**message, **self._guild_id_field(channel)}
        if "guild_id" in event:
            author_id = int(message["author"]["id"])
            if "webhook_id" not in message and author_id in self.members:
                event["member"] = {k: v for k, v in self.members[author_id].items() if k != "user"}
            event["mentions"] = [
                {
                    **u,
                    "member": {k: v for k, v in self.members[int(u["id"])].items() if k != "user"},
                }
                if int(u["id"]) in self.members
                else u
                for u in message["mentions"]
            ]
        return event

    async def _message_created(self, message: JSON) -> None:
        await self._dispatch_message("MESSAGE_CREATE", message)

    async def _dispatch_message(self, event: str, message: JSON) -> int | None:
        if message["flags"] & FLAG_EPHEMERAL:
            return None
        return await self.dispatch(event, self._gateway_message(message))

    async def _remove_message(self, channel_id: int, message_id: int) -> None:
        channel = self.channels[channel_id]
        message = self.messages[channel_id].pop(message_id)
        if channel["type"] in THREAD_TYPES:
            channel["message_count"] = max(0, channel["message_count"] - 1)
        if message["flags"] & FLAG_EPHEMERAL:
            return
        await self.dispatch(
            "MESSAGE_DELETE",
            {"id": str(message_id), "channel_id": str(channel_id), **self._guild_id_field(channel)},
        )

    def messages_in(self, channel_id: int) -> list[JSON]:
        """Messages stored in a channel or thread, oldest first."""
        return list(self.messages.get(channel_id, {}).values())

    def bot_messages(self, channel_id: int | None = None) -> list[JSON]:
        """Messages the bot posted (REST, or non-ephemeral interaction responses and follow-ups),
        oldest first, in one channel or everywhere."""
        channel_ids = [channel_id] if channel_id is not None else list(self.messages)
        found = [
            m
            for cid in channel_ids
            for m in self.messages.get(cid, {}).values()
            if m["author"]["id"] == str(self.bot_user_id)
        ]
        return sorted(found, key=lambda m: int(m["id"]))

    async def wait_for_bot_message(
        self,
        channel_id: int | None = None,
        count: int = 1,
        timeout: float = 5,  # noqa: ASYNC109
    ) -> list[JSON]:
        """Wait until the bot posted at least `count` messages (see ``bot_messages``)."""
        await self._until(
            lambda: len(self.bot_messages(channel_id)) >= count,
            timeout,
            lambda: f"{count} bot message(s) in {channel_id}; got {self.bot_messages(channel_id)}",
        )
        return self.bot_messages(channel_id)

    def threads_of(self, channel_id: int) -> list[JSON]:
        return [
            c
            for c in self.channels.values()
            if c["type"] in THREAD_TYPES and c["parent_id"] == str(channel_id)
        ]

    # --- what users do ---------------------------------------------------------------------------

    async def user_message(
        self, channel_id: int, user_id: int, content: str, *, message_id: int | None = None
    ) -> JSON:
        """`user_id` posts `content` in a channel, thread or DM channel: stores the message and
        dispatches MESSAGE_CREATE (with ``member`` in the guild). Returns the stored message."""
        channel = self._channel(channel_id)
        if channel["type"] == DM:
            if self._dm_recipient(channel) != user_id:
                raise ValueError(f"user {user_id} is not in DM channel {channel_id}")
        elif user_id not in self.members:
            raise ValueError(f"user {user_id} is not a guild member; add_member() them first")
        message = self.new_message(channel_id, user_id, {"content": content}, message_id=message_id)
        await self._message_created(message)
        return message

    async def user_dm(self, user_id: int, content: str) -> JSON:
        """`user_id` DMs the bot."""
        return await self.user_message(self.dm_channel_for(user_id), user_id, content)

    async def user_edits(self, channel_id: int, message_id: int, content: str) -> JSON:
        message = self._message(channel_id, message_id)
        self._apply_edit(message, {"content": content}, ())
        await self._dispatch_message("MESSAGE_UPDATE", message)
        return message

    async def user_deletes(self, channel_id: int, message_id: int) -> None:
        self._message(channel_id, message_id)
        await self._remove_message(channel_id, message_id)

    # --- interactions ----------------------------------------------------------------------------

    def _interaction_channel(self, channel: JSON, user_id: int) -> JSON:
        if channel["type"] == DM:
            return {k: v for k, v in channel.items()}
        return {**channel, "permissions": str(self.permissions_of(user_id))}

    def _new_interaction(
        self, itype: int, user_id: int, channel_id: int, data: JSON, message: JSON | None = None
    ) -> JSON:
        channel = self._channel(channel_id)
        interaction_id = self.snowflake()
        payload: JSON = {
            "id": str(interaction_id),
            "application_id": str(self.application_id),
            "type": itype,
            "data": data,
            "token": f"fake-{interaction_id}-{secrets.token_urlsafe(16)}",
            "version": 1,
            "locale": "en-US",
            "channel_id": str(channel_id),
            "channel": self._interaction_channel(channel, user_id),
            "app_permissions": str(self.permissions_of(self.bot_user_id)),
            "entitlements": [],
            "entitlement_sku_ids": [],
            "attachment_size_limit": 10 * 1024 * 1024,
        }
        if channel["type"] == DM:
            if user_id not in self.users:
                raise ValueError(f"unknown user {user_id}; add_user() or add_member() first")
            payload["user"] = self.users[user_id]
            payload["context"] = 1
            payload["authorizing_integration_owners"] = {"0": "0"}
        else:
            if user_id not in self.members:
                raise ValueError(f"user {user_id} is not a guild member; add_member() them first")
            payload["guild_id"] = str(self.guild_id)
            payload["guild"] = {"id": str(self.guild_id), "locale": "en-US", "features": []}
            payload["guild_locale"] = "en-US"
            payload["member"] = {
                **self.members[user_id],
                "permissions": str(self.permissions_of(user_id)),
            }
            payload["context"] = 0
            payload["authorizing_integration_owners"] = {"0": str(self.guild_id)}
        if message is not None:
            payload["message"] = message
        self.interactions[interaction_id] = _Interaction(payload, time.monotonic())
        return payload

    def _registered_command(self, name: str) -> JSON | None:
        for command in self.guild_commands.get(self.guild_id, []):
            if command["name"] == name and command.get("type", 1) == 1:
                return command
        for command in self.global_commands:
            if command["name"] == name and command.get("type", 1) == 1:
                return command
        return None

    def _option_value(self, schema: JSON | None, name: str, value: Any, resolved: JSON) -> JSON:
        option_type = int(schema["type"]) if schema else _OPTION_TYPES.get(type(value), 3)
        choices = [c["value"] for c in (schema or {}).get("choices") or []]
        if choices and value not in choices:  # Discord offers only the choices
            raise ValueError(f"option {name!r} takes one of {choices}, not {value!r}")
        if option_type == 4:
            value = int(value)
        elif option_type == 10:
            value = float(value)
        elif option_type == 5:
            value = bool(value)
        elif option_type in (6, 9) and int(value) in self.users:
            value = str(value)
            resolved.setdefault("users", {})[value] = self.users[int(value)]
            if int(value) in self.members:
                resolved.setdefault("members", {})[value] = {
                    **{k: v for k, v in self.members[int(value)].items() if k != "user"},
                    "permissions": str(self.permissions_of(int(value))),
                }
        elif option_type == 7:
            value = str(value)
            channel = self._channel(int(value))
            resolved.setdefault("channels", {})[value] = {
                **channel,
                "permissions": str(self.permissions_of(self.bot_user_id)),
            }
        elif option_type == 8:
            value = str(value)
            resolved.setdefault("roles", {})[value] = self.roles[int(value)]
        elif option_type == 3:
            value = str(value)
        return {"name": name, "type": option_type, "value": value}

    async def slash_command(
        self,
        user_id: int,
        name: str,
        options: Mapping[str, Any] | Sequence[JSON] | None = None,
        *,
        channel_id: int | None = None,
        force: bool = False,
    ) -> JSON:
        """`user_id` runs a chat-input command and the fake dispatches INTERACTION_CREATE (type 2).

        `name` is the command path: ``"drill leaderboard"`` runs subcommand ``leaderboard`` of
        group ``drill`` (``"a b c"``: subcommand c of subcommand group b). `options` maps the
        leaf option names to values — typed from the registered command's schema when it was
        synced (integers, users, channels and roles get the right type and ``resolved`` data),
        else from the Python type — or is a raw list of option payloads. The channel defaults to
        "mlops"; a DM channel gives a DM interaction. Returns the interaction payload.

        Like Discord, a guild member lacking a synced command's ``default_member_permissions``
        cannot run it (PermissionError) unless `force` (to test the bot's own checks)."""
        top, *subpath = name.split()
        command = self._registered_command(top)
        channel = self._channel(channel_id or self.channel_id)
        required = int((command or {}).get("default_member_permissions") or 0)
        if required and channel["type"] != DM and not force:
            if self.permissions_of(user_id) & required != required:
                raise PermissionError(
                    f"Discord hides /{top} from user {user_id}: it needs permissions {required}"
                )
        schema_options: list[JSON] = command.get("options", []) if command else []
        for sub in subpath:
            found = next((o for o in schema_options if o.get("name") == sub), None)
            if command is not None and found is None:
                raise ValueError(f"/{top} has no subcommand (group) {sub!r}")
            schema_options = (found or {}).get("options") or []
        resolved: JSON = {}
        if options is None:
            leaf: list[JSON] = []
        elif isinstance(options, Mapping):
            by_name = {o["name"]: o for o in schema_options}
            if command is not None:
                unknown = set(options) - set(by_name)
                if unknown:
                    raise ValueError(f"/{name} has no option(s) {sorted(unknown)}")
            leaf = [self._option_value(by_name.get(k), k, v, resolved) for k, v in options.items()]
        else:
            leaf = [dict(o) for o in options]
        wrapped = leaf
        for depth, sub in reversed(list(enumerate(subpath))):
            option_type = 1 if depth == len(subpath) - 1 else 2
            wrapped = [{"type": option_type, "name": sub, "options": wrapped}]
        data: JSON = {
            "id": command["id"] if command else str(self.snowflake()),
            "name": top,
            "type": 1,
            "options": wrapped,
        }
        if resolved:
            data["resolved"] = resolved
        if command is not None and "guild_id" in command:
            data["guild_id"] = command["guild_id"]
        payload = self._new_interaction(2, user_id, channel_id or self.channel_id, data)
        await self.dispatch("INTERACTION_CREATE", payload)
        return payload

    async def button_click(
        self, user_id: int, custom_id: str, message: JSON, *, component_type: int = 2
    ) -> JSON:
        """`user_id` clicks the button `custom_id` on `message` (a message payload the fake
        returned or stored); dispatches INTERACTION_CREATE (type 3). Returns the payload."""
        data: JSON = {"component_type": component_type, "custom_id": custom_id}
        return await self._component(user_id, message, data)

    async def select_menu(
        self,
        user_id: int,
        custom_id: str,
        values: Sequence[str],
        message: JSON,
        *,
        component_type: int = 3,
    ) -> JSON:
        """`user_id` picks `values` in the select menu `custom_id` on `message`."""
        data: JSON = {
            "component_type": component_type,
            "custom_id": custom_id,
            "values": list(values),
        }
        return await self._component(user_id, message, data)

    async def _component(self, user_id: int, message: JSON, data: JSON) -> JSON:
        stored = self.messages.get(int(message["channel_id"]), {}).get(int(message["id"]))
        current = stored if stored is not None else message
        on_message = {
            child.get("custom_id")
            for row in current.get("components") or []
            for child in row.get("components") or []
        }
        if data["custom_id"] not in on_message:  # a person clicks only what the message shows
            raise ValueError(f"message {message['id']} has no component {data['custom_id']!r}")
        payload = self._new_interaction(
            3, user_id, int(message["channel_id"]), data, message=current
        )
        await self.dispatch("INTERACTION_CREATE", payload)
        return payload

    async def modal_submit(
        self,
        user_id: int,
        custom_id: str,
        values: Mapping[str, str | Sequence[str]],
        *,
        channel_id: int | None = None,
    ) -> JSON:
        """`user_id` submits the modal `custom_id` with `values` (input custom_id -> text, or ->
        list of values for selects); dispatches INTERACTION_CREATE (type 5). When the bot opened
        that modal, the submission mirrors its layout (action rows or labels), fills inputs not
        given with "" and comes from the modal's channel (and message, if it was opened from a
        component)."""
        opened = self._modals.get(custom_id)
        message: JSON | None = None
        if opened is not None:
            modal, origin = opened
            components = self._modal_components(modal, values)
            channel_id = channel_id or origin.channel_id
            message = origin.payload.get("message")
        else:
            components = [
                {"type": 1, "components": [self._modal_value(4, k, v)]} for k, v in values.items()
            ]
        data: JSON = {"custom_id": custom_id, "components": components}
        payload = self._new_interaction(
            5, user_id, channel_id or self.channel_id, data, message=message
        )
        await self.dispatch("INTERACTION_CREATE", payload)
        return payload

    def _modal_value(self, component_type: int, custom_id: str, value: Any) -> JSON:
        item: JSON = {"type": component_type, "custom_id": custom_id}
        if component_type == 4:
            item["value"] = str(value)
        else:
            item["values"] = [value] if isinstance(value, str) else list(value)
        return item

    def _modal_components(self, modal: JSON, values: Mapping[str, Any]) -> list[JSON]:
        seen: set[str] = set()

        def answer(component: JSON) -> JSON:
            custom_id = str(component["custom_id"])
            seen.add(custom_id)
            default = "" if component["type"] == 4 else []
            item = self._modal_value(
                int(component["type"]), custom_id, values.get(custom_id, default)
            )
            if "id" in component:
                item["id"] = component["id"]
            return item

        out: list[JSON] = []
        for top in modal.get("components", []):
            if top.get("type") == 1:
                out.append(
                    {
                        "type": 1,
                        "components": [
                            answer(c) for c in top.get("components", []) if "custom_id" in c
                        ],
                    }
                )
            elif top.get("type") == 18 and "custom_id" in top.get("component", {}):
                label: JSON = {"type": 18, "component": answer(top["component"])}
                if "id" in top:
                    label["id"] = top["id"]
                out.append(label)
        unknown = set(values) - seen
        if unknown:
            raise ValueError(f"modal {modal.get('custom_id')!r} has no input(s) {sorted(unknown)}")
        return out

    def _interaction_by_token(self, p: dict[str, str]) -> _Interaction:
        if int(p["app"]) != self.application_id:
            raise DiscordError(404, 10015, "Unknown Webhook")
        for state in self.interactions.values():
            if state.payload["token"] == p["token"]:
                return state
        raise DiscordError(404, 10015, "Unknown Webhook")

    def _response_message(
        self, state: _Interaction, body: JSON, *, flags: int = 0, followup: bool = False
    ) -> JSON:
        payload = state.payload
        user = payload.get("member", {}).get("user") or payload["user"]
        metadata: JSON = {
            "id": payload["id"],
            "type": payload["type"],
            "user": user,
            "authorizing_integration_owners": payload["authorizing_integration_owners"],
        }
        if followup and state.original is not None:
            metadata["original_response_message_id"] = state.original["id"]
        if payload["type"] == 3 and "message" in payload:
            metadata["interacted_message_id"] = payload["message"]["id"]
        extra: JSON = {
            "webhook_id": str(self.application_id),
            "application_id": str(self.application_id),
            "interaction_metadata": metadata,
        }
        if payload["type"] == 2:
            extra["interaction"] = {
                "id": payload["id"],
                "type": 2,
                "name": payload["data"]["name"],
                "user": user,
            }
        message_body = {**body, "flags": int(body.get("flags") or 0) | flags}
        ephemeral = bool(message_body["flags"] & FLAG_EPHEMERAL)
        message = self.new_message(
            state.channel_id, self.bot_user_id, message_body, store=not ephemeral, extra=extra
        )
        if payload["type"] == 2 and not followup:
            message["type"] = 20
        return message

    async def _interaction_callback(self, req: Request, p: dict[str, str]) -> Any:
        state = self.interactions.get(int(p["interaction"]))
        if state is None or state.payload["token"] != p["token"]:
            raise DiscordError(404, 10062, "Unknown interaction")
        deadline = self.interaction_deadline
        if deadline is not None and time.monotonic() - state.created > deadline:
            raise DiscordError(404, 10062, "Unknown interaction")
        if state.response is not None:
            raise DiscordError(400, 40060, "Interaction has already been acknowledged.")
        body: JSON = dict(req.json or {})
        cb_type = int(body.get("type", 0))
        data: JSON = dict(body.get("data") or {})
        itype = int(state.payload["type"])
        allowed = {2: {4, 5, 9}, 3: {4, 5, 6, 7, 9}, 5: {4, 5, 6, 7}, 4: {8}}.get(itype, set())
        if cb_type not in allowed:
            raise _invalid_form(
                {
                    "type": {
                        "_errors": [
                            {
                                "code": "INTERACTION_RESPONSE_TYPE_INVALID",
                                "message": "Interaction response type is invalid",
                            }
                        ]
                    }
                }
            )
        if cb_type in (4, 7):
            self._validate_message(data, creating=cb_type == 4, has_files=bool(req.files))
        if cb_type == 9:
            self._validate_modal(data)
        response = InteractionResponse(state.id, p["token"], cb_type, data, body)
        state.response = response
        self.interaction_responses.append(response)

        message: JSON | None = None
        if cb_type == 4:
            message = self._response_message(state, data)
            state.original = message
            await self._message_created(message)
        elif cb_type == 5:
            flags = FLAG_LOADING | (int(data.get("flags") or 0) & FLAG_EPHEMERAL)
            message = self._response_message(state, {"content": ""}, flags=flags)
            state.original = message
            await self._message_created(message)
        elif cb_type in (6, 7):
            component_message = state.payload.get("message")
            if component_message is not None:
                channel_id = int(component_message["channel_id"])
                stored = self.messages.get(channel_id, {}).get(int(component_message["id"]))
                state.original = stored if stored is not None else dict(component_message)
                if cb_type == 7:
                    message = state.original
                    self._apply_edit(message, data, req.files)
                    await self._dispatch_message("MESSAGE_UPDATE", message)
        elif cb_type == 9:
            self._modals[str(data.get("custom_id"))] = (data, state)

        if req.query.get("with_response") not in ("1", "true", "True"):
            return None
        result: JSON = {"interaction": {"id": str(state.id), "type": itype}}
        if message is not None:
            result["interaction"].update(
                {
                    "response_message_id": message["id"],
                    "response_message_loading": bool(message["flags"] & FLAG_LOADING),
                    "response_message_ephemeral": bool(message["flags"] & FLAG_EPHEMERAL),
                }
            )
            result["resource"] = {"type": cb_type, "message": message}
        return result

    def _validate_modal(self, data: JSON) -> None:
        errors: JSON = {}
        if not data.get("title"):
            _add_error(errors, ["data", "title"], "BASE_TYPE_REQUIRED", "This field is required")
        _max_length(errors, ["data", "title"], data.get("title"), 45)
        _max_length(errors, ["data", "custom_id"], data.get("custom_id"), 100)
        components = data.get("components") or []
        if not 1 <= len(components) <= 5:
            _add_error(
                errors,
                ["data", "components"],
                "BASE_TYPE_BAD_LENGTH",
                "Must be between 1 and 5 in length.",
            )
        for i, top in enumerate(components):
            path: list[str | int] = ["data", "components", i]
            _max_length(errors, [*path, "label"], top.get("label"), 45)
            for j, child in enumerate(top.get("components") or [top.get("component") or {}]):
                inner = [*path, "components", j] if "components" in top else [*path, "component"]
                _max_length(errors, [*inner, "label"], child.get("label"), 45)
                _max_length(errors, [*inner, "custom_id"], child.get("custom_id"), 100)
                _max_length(errors, [*inner, "placeholder"], child.get("placeholder"), 100)
                _max_length(errors, [*inner, "value"], child.get("value"), 4000)
        if errors:
            raise _invalid_form(errors)

    async def _webhook_followup(self, req: Request, p: dict[str, str]) -> Any:
        state = self._interaction_by_token(p)
        if state.response is None:
            raise DiscordError(404, 10015, "Unknown Webhook")
        body: JSON = dict(req.json or {})
        self._validate_message(body, creating=True, has_files=bool(req.files))
        original = state.original
        if original is not None and original["flags"] & FLAG_LOADING:
            # Discord: after a deferred response, the first follow-up edits the "thinking"
            # message (keeping its ephemerality).
            self._apply_edit(original, {k: v for k, v in body.items() if k != "flags"}, req.files)
            await self._dispatch_message("MESSAGE_UPDATE", original)
            message = original
        else:
            message = self._response_message(state, body, followup=True)
            state.followups[int(message["id"])] = message
            await self._message_created(message)
        if req.query.get("wait") not in ("1", "true", "True"):
            return None
        return message

    def _webhook_message(self, state: _Interaction, message_ref: str) -> JSON:
        if message_ref == "@original" or (
            state.original is not None and state.original["id"] == message_ref
        ):
            if state.original is None:
                raise DiscordError(404, 10008, "Unknown Message")
            return state.original
        message = state.followups.get(int(message_ref))
        if message is None:
            raise DiscordError(404, 10008, "Unknown Message")
        return message

    async def _webhook_get(self, req: Request, p: dict[str, str]) -> JSON:
        return self._webhook_message(self._interaction_by_token(p), p["message"])

    async def _webhook_edit(self, req: Request, p: dict[str, str]) -> JSON:
        message = self._webhook_message(self._interaction_by_token(p), p["message"])
        body: JSON = dict(req.json or {})
        self._validate_message(body, creating=False, has_files=bool(req.files))
        self._apply_edit(message, body, req.files)
        await self._dispatch_message("MESSAGE_UPDATE", message)
        return message

    async def _webhook_delete(self, req: Request, p: dict[str, str]) -> None:
        state = self._interaction_by_token(p)
        message = self._webhook_message(state, p["message"])
        channel_id, message_id = int(message["channel_id"]), int(message["id"])
        if message_id in self.messages.get(channel_id, {}):
            await self._remove_message(channel_id, message_id)
        if state.original is message:
            state.original = None
        state.followups.pop(message_id, None)
        return None

    async def wait_for_interaction_response(
        self,
        interaction_id: int | str,
        timeout: float = 5,  # noqa: ASYNC109
    ) -> InteractionResponse:
        """Wait for the bot's callback to this interaction; return it."""
        wanted = int(interaction_id)

        def found() -> InteractionResponse | None:
            return next((r for r in self.interaction_responses if r.interaction_id == wanted), None)

        await self._until(
            lambda: found() is not None,
            timeout,
            lambda: (
                f"a callback to interaction {wanted}; got "
                f"{[(r.interaction_id, r.type) for r in self.interaction_responses]}"
            ),
        )
        response = found()
        assert response is not None
        return response

    def original_response(self, interaction_id: int | str) -> JSON | None:
        """The interaction's original response message as it stands now (after edits, and
        after a deferred response's first follow-up), or None."""
        state = self.interactions.get(int(interaction_id))
        return None if state is None else state.original

    def followups(self, interaction_id: int | str) -> list[JSON]:
        state = self.interactions.get(int(interaction_id))
        return [] if state is None else list(state.followups.values())

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

    async def caught_up(self, timeout: float = 5) -> None:  # noqa: ASYNC109
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

    async def wait_ready(self, timeout: float = 5) -> None:  # noqa: ASYNC109
        """Wait until a client identified and READY and GUILD_CREATE were dispatched to it.
        (discord.py fires on_ready ``guild_ready_timeout`` seconds later.)"""
        await self._until(
            lambda: self._ready and self.connected,
            timeout,
            lambda: f"READY (identifies={self.identifies}, connections={self.connections})",
        )

    async def wait_resumed(self, count: int = 1, timeout: float = 5) -> None:  # noqa: ASYNC109
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


__all__ = [
    "ALL_PERMISSIONS",
    "MANAGE_GUILD",
    "DiscordError",
    "FakeDiscord",
    "InteractionResponse",
    "Request",
]
