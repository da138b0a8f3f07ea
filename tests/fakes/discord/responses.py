"""How the bot answers interactions: the callback endpoint (messages, deferrals, modals) and the
webhook endpoints for follow-ups and the original response."""

from __future__ import annotations

import time
from typing import Any

from tests.fakes.discord.wire import (
    FLAG_EPHEMERAL,
    FLAG_LOADING,
    JSON,
    DiscordError,
    InteractionResponse,
    Request,
    _add_error,
    _Interaction,
    _invalid_form,
    _max_length,
)


class InteractionResponses:
    """Interaction callbacks and webhook follow-ups."""

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
        timeout: float = 15,  # noqa: ASYNC109
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
