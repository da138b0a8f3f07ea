"""Messages as Discord validates, stores and dispatches them, and what users do in channels
(post, edit, delete, DM)."""

from __future__ import annotations

from collections.abc import Sequence

from tests.fakes.discord.wire import (
    _MENTION,
    _ROLE_MENTION,
    DM,
    FLAG_COMPONENTS_V2,
    FLAG_EPHEMERAL,
    FLAG_LOADING,
    JSON,
    THREAD_TYPES,
    DiscordError,
    _add_error,
    _invalid_form,
    _iso,
    _max_length,
)


class Messages:
    """Message validation, storage and dispatch, and user actions."""

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
        timeout: float = 15,  # noqa: ASYNC109
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
