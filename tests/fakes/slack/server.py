"""`FakeSlack`: the Web API, Socket Mode and response URLs on one ephemeral port, built from the
concerns in this package."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field

from aiohttp import web

from tests.fakes.loopback import serve
from tests.fakes.slack.files import Files
from tests.fakes.slack.socket_mode import SocketMode
from tests.fakes.slack.web_api import WebApi
from tests.fakes.slack.wire import (
    JSON,
    Call,
    Handler,
    _Failure,
)
from tests.fakes.slack_history import Conversations, LostResponses


@dataclass
class FakeSlack(WebApi, Files, SocketMode):
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
