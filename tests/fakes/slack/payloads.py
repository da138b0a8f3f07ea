"""What Slack sends to an app, built for tests: fresh ids and timestamps, signed HTTP headers,
slash-command and interactive payloads, and their form bodies for HTTP mode."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable, Iterator, Mapping
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

from tests.fakes.slack.wire import (
    JSON,
    VERIFICATION_TOKEN,
    P,
    _format_ts,
)

_helper_ts: Iterator[int] = itertools.count(1_690_000_000_000_100, 100)
_helper_ids: Iterator[int] = itertools.count(1)


def fresh_ts() -> str:
    """A unique message ts (distinct from the ones FakeSlack hands out)."""
    return _format_ts(next(_helper_ts))


def fresh_event_id() -> str:
    return f"Ev0{next(_helper_ids):08d}"


def signed_headers(
    body: str,
    signing_secret: str,
    *,
    timestamp: int | None = None,
    retry_num: int | None = None,
    retry_reason: str | None = None,
    content_type: str | None = None,
) -> dict[str, str]:
    """Headers of a request from Slack carrying `body`, signed with `signing_secret`.

    The Content-Type is JSON when the body looks like JSON, else form-encoded."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(signing_secret).generate_signature(timestamp=ts, body=body)
    assert signature is not None
    if content_type is None:
        looks_json = body.lstrip().startswith("{")
        content_type = "application/json" if looks_json else "application/x-www-form-urlencoded"
    headers = {
        "Content-Type": content_type,
        "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": signature,
    }
    if retry_num is not None:
        headers["X-Slack-Retry-Num"] = str(retry_num)
        headers["X-Slack-Retry-Reason"] = retry_reason or "http_timeout"
    elif retry_reason is not None:
        headers["X-Slack-Retry-Reason"] = retry_reason
    return headers


def slash_command_payload(
    text: str,
    *,
    user_id: str = "U1",
    channel_id: str = "C1",
    team_id: str = "T1",
    command: str = "/drill",
    response_url: str,
    trigger_id: str = "T.1",
    api_app_id: str = "A1",
) -> dict[str, str]:
    """A slash command's fields, as Slack sends them (the slash_commands payload as is)."""
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "team_domain": team_id.lower(),
        "channel_id": channel_id,
        "channel_name": "directmessage" if channel_id.startswith("D") else channel_id.lower(),
        "user_id": user_id,
        "user_name": user_id.lower(),
        "command": command,
        "text": text,
        "api_app_id": api_app_id,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id,
    }


def interactive_form(payload: JSON) -> str:
    """An interactive payload's urlencoded body (``payload=<json>``), as Slack POSTs it."""
    return urlencode({"payload": json.dumps(payload)})


def _user(user_id: str, team_id: str) -> JSON:
    return {"id": user_id, "username": user_id.lower(), "name": user_id.lower(), "team_id": team_id}


def block_action_payload(
    action_id: str,
    value: str = "",
    *,
    block_id: str = "b1",
    user_id: str = "U1",
    team_id: str = "T1",
    channel_id: str = "C1",
    message_ts: str | None = None,
    message: JSON | None = None,
    response_url: str,
    trigger_id: str = "T.1",
    api_app_id: str = "A1",
    button_text: str = "Button",
    ephemeral: bool = False,
    action: JSON | None = None,
) -> JSON:
    """A button click in a message (type block_actions). `action` is merged into the action
    (e.g. another element type); `message` replaces the clicked message (default: an empty
    message by the bot at `message_ts`). Ephemeral messages carry no message, as in Slack."""
    message_ts = message_ts or (message or {}).get("ts") or fresh_ts()
    clicked: JSON = {
        "action_id": action_id,
        "block_id": block_id,
        "text": {"type": "plain_text", "text": button_text, "emoji": True},
        "value": value,
        "type": "button",
        "action_ts": f"{time.time():.6f}",
    }
    clicked.update(action or {})
    payload: JSON = {
        "type": "block_actions",
        "user": _user(user_id, team_id),
        "api_app_id": api_app_id,
        "token": VERIFICATION_TOKEN,
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel_id,
            "is_ephemeral": ephemeral,
        },
        "trigger_id": trigger_id,
        "team": {"id": team_id, "domain": team_id.lower()},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel_id, "name": channel_id.lower()},
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [clicked],
    }
    if not ephemeral:
        payload["message"] = message or {
            "type": "message", "user": "UBOT", "bot_id": "BBOT", "app_id": api_app_id,
            "text": "", "ts": message_ts, "team": team_id, "blocks": [],
        }  # fmt: skip
    return payload


def view_submission_payload(
    callback_id: str,
    values: Mapping[str, Mapping[str, str | JSON]],
    *,
    private_metadata: str = "",
    view_id: str = "V1",
    user_id: str = "U1",
    team_id: str = "T1",
    trigger_id: str = "T.1",
    api_app_id: str = "A1",
    title: str = "OpsDrill",
) -> JSON:
    """A modal submission (type view_submission). `values` maps block_id -> action_id -> the
    typed text (a plain_text_input) or a full state value dict (for other elements)."""
    state: dict[str, dict[str, JSON]] = {}
    blocks: list[JSON] = []
    for block_id, actions in values.items():
        state[block_id] = {}
        for action_id, entry in actions.items():
            value = (
                {"type": "plain_text_input", "value": entry} if isinstance(entry, str) else entry
            )
            state[block_id][action_id] = dict(value)
            blocks.append({
                "type": "input", "block_id": block_id,
                "label": {"type": "plain_text", "text": block_id},
                "element": {"type": value.get("type", "plain_text_input"), "action_id": action_id},
            })  # fmt: skip
    return {
        "type": "view_submission",
        "team": {"id": team_id, "domain": team_id.lower()},
        "user": _user(user_id, team_id),
        "api_app_id": api_app_id,
        "token": VERIFICATION_TOKEN,
        "trigger_id": trigger_id,
        "view": {
            "id": view_id,
            "team_id": team_id,
            "type": "modal",
            "blocks": blocks,
            "private_metadata": private_metadata,
            "callback_id": callback_id,
            "state": {"values": state},
            "hash": f"{int(time.time())}.fakehash",
            "title": {"type": "plain_text", "text": title},
            "clear_on_close": False,
            "notify_on_close": False,
            "close": {"type": "plain_text", "text": "Cancel"},
            "submit": {"type": "plain_text", "text": "Submit"},
            "previous_view_id": None,
            "root_view_id": view_id,
            "app_id": api_app_id,
            "external_id": "",
            "app_installed_team_id": team_id,
            "bot_id": "BBOT",
        },
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }


def _as_form(build: Callable[P, JSON], encode: Callable[[JSON], str]) -> Callable[P, str]:
    def form(*args: P.args, **kwargs: P.kwargs) -> str:
        return encode(build(*args, **kwargs))

    form.__doc__ = f"{build.__name__}(...) as the urlencoded body Slack POSTs."
    return form


slash_command_form = _as_form(slash_command_payload, urlencode)
block_action_form = _as_form(block_action_payload, interactive_form)
view_submission_form = _as_form(view_submission_payload, interactive_form)
