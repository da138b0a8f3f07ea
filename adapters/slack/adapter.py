"""OpsDrill on Slack: slack-bolt's AsyncApp in Socket Mode or over HTTP.

The adapter parses payloads into core events and renders the core's cards as Block Kit; it
decides nothing itself. Order: an answer is parsed and stored (the core's handler returns once
it is committed), then acknowledged, then everything slow follows. Bolt runs with
`process_before_response=True`, so its ack is the listener's return; a store that fails makes
the ack an error and Slack delivers the event again. Commands and buttons are acked at once and
do their work in lazy listeners."""

from __future__ import annotations

import json
import logging
import re
from datetime import datetime
from typing import Any, Literal

import aiohttp
from aiohttp import web
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.app.async_server import AsyncSlackAppServer
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.slack import blocks, history, installations
from adapters.slack.guard import events_guard
from adapters.slack.lazy import TrackedLazyRunner
from adapters.slack.limits import PacedWebClient, SlackLimits
from adapters.slack.payloads import (
    PRIVATE_ANSWER_VIEW,
    answer_event,
    command_button_event,
    command_event,
    private_answer_event,
    private_answer_modal,
)
from adapters.slack.retries import retry_handlers
from bot.background import Background
from bot.config import Settings
from bot.domain import (
    ANSWER_PRIVATELY,
    COMMAND_BUTTON,
    AnswerPosted,
    Card,
    ChannelRef,
    Deferred,
    DirectMessage,
    HomeOpened,
    MessageRef,
    Reaction,
    Reconnected,
    UserRef,
)
from bot.ports import EventHandler

log = logging.getLogger(__name__)

PLATFORM = "slack"
WEB_TIMEOUT = 30
"""Seconds a Web API call may take (slack_sdk's default)."""
EMOJI = {
    Reaction.RECEIVED: "eyes",
    Reaction.GRADED: "white_check_mark",
    Reaction.REJECTED: "no_entry_sign",
}
SCOPES = [
    "commands", "chat:write", "reactions:write", "users:read", "channels:history",
    "groups:history", "im:history", "im:write", "files:write",
]  # fmt: skip


class SlackAdapter:
    """A `ChatAdapter` for Slack."""

    platform = PLATFORM

    def __init__(
        self,
        settings: Settings,
        *,
        mode: Literal["socket", "http"] = "socket",
        host: str = "0.0.0.0",
        port: int = 3000,
        limits: SlackLimits | None = None,
        engine: AsyncEngine | None = None,
    ) -> None:
        """`engine` is the app's database, where installations into many workspaces are kept
        (needed with SLACK_CLIENT_ID/SECRET)."""
        self._settings = settings
        # Slack's per-method, per-workspace tiers (posts: one a second per channel), shared
        # by every workspace's client.
        self._limits = limits or SlackLimits.per_minute(settings.slack_rate_limits)
        self._mode = mode
        self._host, self._port = host, port
        self._api_url = settings.slack_api_url or AsyncWebClient.BASE_URL
        self._multi = bool(settings.slack_client_id and settings.slack_client_secret)
        token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
        if self._multi and engine is None:
            raise ValueError("Slack installs into many workspaces: pass the database engine")
        self._engine = engine
        self._token = None if self._multi else token
        self._http: aiohttp.ClientSession | None = None  # made at start, in the running loop
        self._own: AsyncWebClient | None = None
        self.client = self._web_client(self._token, team_id="")
        self._after_ack = Background()
        self.app = AsyncApp(
            client=self.client,
            token=None if self._multi else token,
            signing_secret=_secret(settings.slack_signing_secret) or "unused-in-socket-mode",
            request_verification_enabled=mode == "http",
            oauth_settings=self._oauth_settings(),
            logger=logging.getLogger("slack_bolt"),
            process_before_response=True,
        )
        self.app.listener_runner.lazy_listener_runner = TrackedLazyRunner(self._after_ack, log)
        self._on_event: EventHandler | None = None
        self._clients: dict[str, AsyncWebClient] = {}
        self._names: dict[tuple[str, str], str] = {}
        self._dm_channels: dict[tuple[str, str], str] = {}
        self._hellos = 0
        self._runner: web.AppRunner | None = None
        self._socket: Any = None
        self.bot_user_id: str | None = None
        self._register()

    # --- lifecycle ---------------------------------------------------------------------------

    async def start(self, on_event: EventHandler) -> None:
        self._on_event = on_event
        # Our own Web API calls share one HTTP session and its kept-alive connections (slack_sdk
        # otherwise opens a session, and a connection, per call). Bolt's client stays without
        # one: bolt deep-copies it for lazy listeners, and a session cannot be copied.
        # Its timeout is slack_sdk's default for a call; each client's own `timeout` applies
        # per request (PacedWebClient), the session's to file uploads.
        self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=WEB_TIMEOUT))
        if not self._multi:
            self._own = self._web_client(self._token, team_id="")
            auth = await self.client.auth_test()
            self.bot_user_id = auth.get("user_id")
            log.info("Slack: connected to team %s as %s", auth.get("team_id"), self.bot_user_id)
        if self._mode == "http":
            server = AsyncSlackAppServer(port=self._port, path="/slack/events", app=self.app)
            server.web_app.router.add_get("/healthz", _healthz)
            guard = events_guard(_secret(self._settings.slack_signing_secret), path=server.path)
            server.web_app.middlewares.append(guard)  # bolt would parse bodies before verifying
            self._runner = web.AppRunner(server.web_app)
            await self._runner.setup()
            await web.TCPSite(self._runner, self._host, self._port).start()
            log.info("Slack: listening on %s:%s (/slack/events)", self._host, self.port)
        else:
            from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler

            app_token = _secret(self._settings.slack_app_token)
            self._socket = AsyncSocketModeHandler(
                self.app, app_token, web_client=AsyncWebClient(base_url=self._api_url)
            )
            self._socket.client.on_message_listeners.append(self._on_socket_message)
            await self._socket.connect_async()
            log.info("Slack: connected over Socket Mode")

    async def _on_socket_message(self, message: Any) -> None:
        """Every Socket Mode connection opens with `hello`; a second one means the socket was
        replaced, and Slack does not replay what was sent meanwhile, so the core reads open
        threads back."""
        try:
            kind = json.loads(message.data).get("type")
        except (ValueError, AttributeError):
            return
        if kind != "hello":
            return
        self._hellos += 1
        if self._hellos > 1:
            self._after_ack.spawn(
                self._deliver(Reconnected(platform=PLATFORM)), what="a Slack reconnect"
            )

    async def stop(self) -> None:
        await self._after_ack.close()
        if self._socket is not None:
            await self._socket.close_async()
        if self._runner is not None:
            await self._runner.cleanup()
        if self._http is not None:
            await self._http.close()

    async def idle(self) -> None:
        """Wait until the work that followed acks (lazy listeners, replies, name look-ups) is
        done, including work that work started."""
        await self._after_ack.idle()

    @property
    def in_flight(self) -> int:
        """How many pieces of after-ack work are running."""
        return self._after_ack.in_flight

    @property
    def port(self) -> int:
        """The bound HTTP port (useful when started on port 0)."""
        if self._runner is not None and self._runner.addresses:
            return int(self._runner.addresses[0][1])
        return self._port

    # --- ChatAdapter: outbound -----------------------------------------------------------------

    async def post(self, channel: ChannelRef, card: Card, *, key: str | None = None) -> MessageRef:
        client = await self.client_for(channel.team_id)
        response = await client.chat_postMessage(
            channel=channel.channel_id,
            text=blocks.fallback_text(card),
            blocks=blocks.card_blocks(card),
            unfurl_links=False,
            metadata=history.post_metadata(key),
        )
        ts = str(response["ts"])
        return MessageRef(channel, ts, ts)

    async def find_post(
        self, channel: ChannelRef, key: str, *, since: datetime
    ) -> MessageRef | None:
        client = await self.client_for(channel.team_id)
        return await history.find_post(
            client, channel, key, since=since, bot_user_id=None if self._multi else self.bot_user_id
        )

    async def thread_replies(
        self, thread: MessageRef, *, after: str | None = None
    ) -> list[AnswerPosted]:
        client = await self.client_for(thread.channel.team_id)
        return await history.thread_replies(client, thread, after=after)

    async def reply(
        self,
        parent: MessageRef,
        card: Card,
        *,
        private_to: UserRef | None = None,
        broadcast: bool = False,
    ) -> MessageRef | None:
        client = await self.client_for(parent.channel.team_id)
        thread_ts = parent.thread_id or parent.message_id or None
        if private_to is not None:
            await client.chat_postEphemeral(
                channel=parent.channel.channel_id,
                user=private_to.user_id,
                thread_ts=thread_ts,
                text=blocks.fallback_text(card),
                blocks=blocks.card_blocks(card),
            )
            return None
        response = await client.chat_postMessage(
            channel=parent.channel.channel_id,
            thread_ts=thread_ts,
            reply_broadcast=broadcast,
            text=blocks.fallback_text(card),
            blocks=blocks.card_blocks(card),
            unfurl_links=False,
        )
        return MessageRef(parent.channel, str(response["ts"]), thread_ts)

    async def send_dm(self, user: UserRef, card: Card) -> MessageRef | None:
        return await self.post(await self._dm_channel(user), card)

    async def send_file(
        self, user: UserRef, card: Card, filename: str, content: bytes
    ) -> MessageRef | None:
        """Uploaded with files_upload_v2 (scope `files:write`) into the DM with `user`."""
        return await self.post_file(await self._dm_channel(user), card, filename, content)

    async def post_file(
        self, channel: ChannelRef, card: Card, filename: str, content: bytes
    ) -> MessageRef | None:
        """Uploaded with files_upload_v2 (scope `files:write`) and shared in `channel`, with
        the card's text as its comment."""
        client = await self.client_for(channel.team_id)
        response = await client.files_upload_v2(
            channel=channel.channel_id,
            filename=filename,
            title=card.title,
            content=content,
            alt_txt=card.body[:1000] or card.title,
            initial_comment=blocks.card_text(card),
        )
        uploaded = response.get("files") or [{}]
        return MessageRef(channel, str(uploaded[0].get("id", "")))

    async def _dm_channel(self, user: UserRef) -> ChannelRef:
        key = (user.team_id, user.user_id)
        if key not in self._dm_channels:
            client = await self.client_for(user.team_id)
            opened = await client.conversations_open(users=user.user_id)
            self._dm_channels[key] = str(opened["channel"]["id"])
        return ChannelRef(PLATFORM, user.team_id, self._dm_channels[key])

    async def react(self, message: MessageRef, reaction: Reaction) -> None:
        client = await self.client_for(message.channel.team_id)
        await client.reactions_add(
            channel=message.channel.channel_id, timestamp=message.message_id, name=EMOJI[reaction]
        )

    async def is_admin(self, user: UserRef, channel: ChannelRef) -> bool:
        client = await self.client_for(user.team_id)
        info = (await client.users_info(user=user.user_id))["user"]
        return bool(info.get("is_admin") or info.get("is_owner"))

    # --- inbound -----------------------------------------------------------------------------

    def _register(self) -> None:
        self.app.event("message")(self._on_message)
        self.app.event("app_home_opened")(ack=_ack, lazy=[self._on_home])
        self.app.command("/drill")(ack=_ack, lazy=[self._on_command])
        self.app.action(ANSWER_PRIVATELY)(ack=_ack, lazy=[self._on_answer_button])
        self.app.action(re.compile("^" + COMMAND_BUTTON))(ack=_ack, lazy=[self._on_command_button])
        self.app.view(PRIVATE_ANSWER_VIEW)(self._on_private_answer)

    async def _on_message(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        """Runs before the ack: a message the core may want is stored as it came, nothing
        else; `handle_deferred` takes it from there once Slack has its ack."""
        if answer_event(body, event, team_id=_team_of(body), author_name="") is None:
            return
        await self._deliver(
            Deferred(platform=PLATFORM, event_id=_event_key(body, event), payload=body)
        )

    async def handle_deferred(self, payload: dict[str, Any]) -> None:
        """A stored message event, after its ack: parsed and delivered to the core; names are
        looked up on the side, a DM's reply posted."""
        event = payload.get("event") or {}
        team_id = _team_of(payload)
        author = str((event.get("message") or event).get("user", ""))
        name = self._names.get((team_id, author), "")
        core = answer_event(payload, event, team_id=team_id, author_name=name)
        if core is None:
            return
        card = await self._deliver(core)
        if author and not name:
            self._after_ack.spawn(self._name(team_id, author), what="a Slack name look-up")
        if card is not None and isinstance(core, DirectMessage):
            channel = ChannelRef(PLATFORM, team_id, str(event.get("channel", "")))
            self._after_ack.spawn(self.post(channel, card), what="a Slack DM reply")

    async def _on_home(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        if event.get("tab") not in (None, "home"):
            return
        team_id = _team_of(body)
        user = UserRef(PLATFORM, team_id, event["user"])
        card = await self._deliver(HomeOpened(user=user))
        if card is not None:
            client = await self.client_for(team_id)
            await client.views_publish(user_id=user.user_id, view=blocks.home_view(card))

    async def _on_command(self, body: dict[str, Any], respond: Any) -> None:
        card = await self._deliver(command_event(body, user_name=body.get("user_name", "")))
        await _respond_privately(respond, card, replace=False)

    async def _on_command_button(self, body: dict[str, Any], respond: Any) -> None:
        """A button that runs a `/drill` command (Replace / Keep on a new attempt's prompt):
        its answer takes the place of the private message the button was on."""
        user_id = str((body.get("user") or {}).get("id", ""))
        event = command_button_event(body, user_name=self._names.get((_team_of(body), user_id), ""))
        card = await self._deliver(event) if event is not None else None
        await _respond_privately(respond, card, replace=True)

    async def _on_answer_button(self, body: dict[str, Any]) -> None:
        client = await self.client_for(_team_of(body))
        await client.views_open(trigger_id=body["trigger_id"], view=private_answer_modal(body))

    async def _on_private_answer(self, ack: Any, body: dict[str, Any]) -> None:
        """Store, then ack: a refusal stays in the modal as an error on the answer field, so
        the text is not lost; an accepted answer closes it and is confirmed in the thread."""
        team_id = _team_of(body)
        user_id = body["user"]["id"]
        event = private_answer_event(
            body, team_id=team_id, author_name=self._names.get((team_id, user_id), "")
        )
        card = await self._deliver(event)
        if card is not None and card.refused:
            await ack(response_action="errors", errors={"answer": blocks.field_error(card)})
            return
        await ack()
        if card is not None:
            self._after_ack.spawn(
                self.reply(event.thread, card, private_to=event.author),
                what="a Slack private-answer receipt",
            )

    async def _deliver(self, event: Any) -> Card | None:
        if self._on_event is None:
            log.warning("Slack event before the adapter started; dropped")
            return None
        return await self._on_event(event)

    # --- helpers -----------------------------------------------------------------------------

    def _web_client(self, token: str | None, *, team_id: str) -> AsyncWebClient:
        return PacedWebClient(
            limits=self._limits,
            team_id=team_id,
            token=token,
            base_url=self._api_url,
            retry_handlers=retry_handlers(),
            session=self._http,
        )

    def _oauth_settings(self) -> AsyncOAuthSettings | None:
        if not self._multi or self._engine is None:
            return None
        client_id = str(self._settings.slack_client_id)
        return AsyncOAuthSettings(
            client_id=client_id,
            client_secret=_secret(self._settings.slack_client_secret),
            scopes=SCOPES,
            installation_store=installations.installation_store(client_id, self._engine),
            state_store=installations.state_store(self._engine),
        )

    async def client_for(self, team_id: str) -> AsyncWebClient:
        """The Web API client holding `team_id`'s bot token (one shared client for one
        workspace): the one the adapter's own calls go through."""
        if not self._multi:
            return self._own or self.client
        if team_id not in self._clients:
            store = self.app.installation_store
            bot = await store.async_find_bot(enterprise_id=None, team_id=team_id) if store else None
            if bot is None or not bot.bot_token:
                raise LookupError(f"OpsDrill is not installed in Slack team {team_id}")
            self._clients[team_id] = self._web_client(bot.bot_token, team_id=team_id)
        return self._clients[team_id]

    async def _name(self, team_id: str, user_id: str) -> str:
        key = (team_id, user_id)
        if key not in self._names:
            try:
                info = (await (await self.client_for(team_id)).users_info(user=user_id))["user"]
                profile = info.get("profile") or {}
                self._names[key] = (
                    profile.get("display_name") or info.get("real_name") or info.get("name")
                    or user_id
                )  # fmt: skip
            except Exception:
                log.warning("Slack: could not look up the name of a user in team %s", team_id)
                return user_id
        return self._names[key]


async def _ack(ack: Any) -> None:
    await ack()


async def _respond_privately(respond: Any, card: Card | None, *, replace: bool) -> None:
    """Answer a command or a click with an ephemeral card (`replace`: in place of the message
    the click came from)."""
    if card is not None:
        await respond(
            text=blocks.fallback_text(card),
            blocks=blocks.card_blocks(card),
            response_type="ephemeral",
            replace_original=replace,
        )


async def _healthz(_: web.Request) -> web.Response:
    return web.json_response({"ok": True})


def _team_of(body: dict[str, Any]) -> str:
    team = body.get("team_id") or (body.get("team") or {}).get("id")
    return str(team or (body.get("user") or {}).get("team_id") or "")


def _event_key(body: dict[str, Any], event: dict[str, Any]) -> str:
    """Slack's event id, which its retries repeat; for a payload without one, the message's
    own coordinates (channel, ts, what happened to it)."""
    if body.get("event_id"):
        return str(body["event_id"])
    message = event.get("message") or event.get("previous_message") or {}
    parts = (event.get("channel"), event.get("subtype"), event.get("ts"), message.get("ts"),
             (message.get("edited") or {}).get("ts"))  # fmt: skip
    return "message:" + ":".join(str(part or "") for part in parts)


def _secret(value: Any) -> str:
    return value.get_secret_value() if value is not None else ""
