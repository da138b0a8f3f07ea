"""REST endpoints for channels, messages, threads, reactions, DM channels and the guild."""

from __future__ import annotations

from tests.fakes.discord.wire import (
    _ARCHIVE_DURATIONS,
    DM,
    GUILD_TEXT,
    JSON,
    PRIVATE_THREAD,
    PUBLIC_THREAD,
    THREAD_TYPES,
    DiscordError,
    Request,
    _add_error,
    _invalid_form,
    _iso,
    _max_length,
    _Reply,
)


class Channels:
    """Channel, message, thread, reaction, DM and guild endpoints."""

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
