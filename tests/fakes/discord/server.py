"""`FakeDiscord`: the REST API and the gateway on one ephemeral port, built from the concerns in
this package."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import re
from collections.abc import Iterator

from aiohttp import web

from tests.fakes.discord.channels import Channels
from tests.fakes.discord.gateway import Gateway
from tests.fakes.discord.interactions import Interactions
from tests.fakes.discord.messages import Messages
from tests.fakes.discord.responses import InteractionResponses
from tests.fakes.discord.rest import Rest
from tests.fakes.discord.state import GuildState
from tests.fakes.discord.wire import (
    API_VERSION,
    JSON,
    Handler,
    InteractionResponse,
    Request,
    _Failure,
    _Interaction,
)
from tests.fakes.loopback import serve


class FakeDiscord(
    GuildState, Rest, Channels, Messages, Interactions, InteractionResponses, Gateway
):
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
