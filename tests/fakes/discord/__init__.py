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

from tests.fakes.discord.server import FakeDiscord
from tests.fakes.discord.wire import (
    ALL_PERMISSIONS,
    JSON,
    MANAGE_GUILD,
    DiscordError,
    InteractionResponse,
    Request,
)

__all__ = [
    "ALL_PERMISSIONS",
    "JSON",
    "MANAGE_GUILD",
    "DiscordError",
    "FakeDiscord",
    "InteractionResponse",
    "Request",
]
