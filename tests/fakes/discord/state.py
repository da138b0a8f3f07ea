"""The fake's guild: ids, users, members, roles, channels and DM channels, and the payloads that
describe them (guild, application, members) as Discord sends them."""

from __future__ import annotations

import hashlib
import time

from tests.fakes.discord.wire import (
    _APP_FLAGS,
    ADMINISTRATOR,
    ALL_PERMISSIONS,
    BOT_ROLE_PERMISSIONS,
    DISCORD_EPOCH_MS,
    DM,
    EVERYONE_PERMISSIONS,
    GUILD_TEXT,
    INTENT_GUILD_MEMBERS,
    JSON,
    MANAGE_GUILD,
    THREAD_TYPES,
    DiscordError,
    _iso,
)


class GuildState:
    """Ids, users, members, roles and channels, and their payloads."""

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
