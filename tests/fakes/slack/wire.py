"""What the Slack fake speaks: recorded calls, Slack's error replies, the Block Kit check for
chat and view methods, and how request arguments arrive (query, form or JSON)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ParamSpec

from aiohttp import web

from tests.fakes import block_kit

JSON = dict[str, Any]
P = ParamSpec("P")
Handler = Callable[["Call"], JSON]
"""Answers one Web API call with the JSON body of an HTTP 200 reply."""

VERIFICATION_TOKEN = "fake-verification-token"
"""The (deprecated) verification token Slack puts in its payloads."""

_JSON_FIELDS = ("blocks", "attachments", "view", "metadata")
_NO_TOKEN_METHODS = frozenset({"oauth.v2.access", "oauth.v2.exchange"})
_POLL = 0.01


@dataclass
class Call:
    """One Web API call the fake received."""

    method: str
    params: dict[str, Any]
    """Query, form and JSON arguments merged (the token excluded; client_id and client_secret
    from HTTP Basic auth included). JSON-carrying fields (blocks, attachments, view, metadata)
    are decoded when they arrive form-encoded as strings."""
    token: str | None
    failed: bool = False
    """True when the fake answered with an error: a scripted failure or an ``ok: false``."""
    http_method: str = "POST"
    reply: JSON | None = None
    """The JSON body the fake answered with (e.g. the ``ts`` chat.postMessage gave the post)."""
    at: float = field(default_factory=time.monotonic)
    """When the call arrived (time.monotonic())."""


@dataclass
class _Failure:
    status: int
    headers: dict[str, str]
    body: JSON


def _format_ts(micros: int) -> str:
    return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"


def _error(error: str) -> JSON:
    return {"ok": False, "error": error}


_BLOCK_METHODS = frozenset({"chat.postMessage", "chat.postEphemeral", "chat.update"})
_VIEW_METHODS = frozenset({"views.open", "views.publish", "views.update", "views.push"})


def _block_kit_error(call: Call) -> JSON | None:
    """Slack's answer to blocks (or a view) it would not take, None when they are fine."""
    p = call.params
    if call.method in _BLOCK_METHODS and p.get("blocks") is not None:
        found, error = block_kit.problems(p["blocks"]), "invalid_blocks"
    elif call.method in _VIEW_METHODS and p.get("view") is not None:
        found, error = block_kit.view_problems(p["view"]), "invalid_arguments"
    else:
        return None
    if not found:
        return None
    messages = [f"[ERROR] {problem}" for problem in found]
    return {**_error(error), "errors": found, "response_metadata": {"messages": messages}}


def _domain(name: str) -> str:
    return "-".join(name.lower().split())


def _dm_channel(channel: str) -> str:
    """Posting to a user id posts to the DM with them, as Slack does."""
    return "D" + channel if channel[:1] in ("U", "W") else channel


async def _request_params(request: web.Request) -> dict[str, Any]:
    params: dict[str, Any] = dict(request.query)
    if request.method != "GET" and request.can_read_body:
        if request.content_type == "application/json":
            body = await request.json()
            if isinstance(body, dict):
                params.update(body)
        else:
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    params[key] = {"filename": value.filename, "content": value.file.read()}
                elif isinstance(value, bytes | bytearray):
                    params[key] = bytes(value)
                else:
                    params[key] = value
    for key in _JSON_FIELDS:
        raw = params.get(key)
        if isinstance(raw, str) and raw[:1] in ("[", "{"):
            try:
                params[key] = json.loads(raw)
            except ValueError:
                pass
    return params
