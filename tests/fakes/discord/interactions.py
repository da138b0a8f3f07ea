"""Interactions users start: slash commands with their options, button clicks, select menus and
modal submissions, shaped as Discord sends them to the bot."""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping, Sequence
from typing import Any

from tests.fakes.discord.wire import (
    _OPTION_TYPES,
    DM,
    JSON,
    _Interaction,
)


class Interactions:
    """Slash commands, components and modal submissions from users."""

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
