"""The Slack fake refuses Block Kit that Slack refuses, through the real slack_sdk clients."""

from __future__ import annotations

from typing import Any

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from tests.fakes.slack_api import FakeSlack

pytestmark = pytest.mark.asyncio
JSON = dict[str, Any]


def _text(n: int, kind: str = "mrkdwn") -> JSON:
    return {"type": kind, "text": "x" * n}


def _section(n: int = 10) -> JSON:
    return {"type": "section", "text": _text(n)}


def _button(action_id: str = "a", *, label: int = 5) -> JSON:
    return {"type": "button", "action_id": action_id, "text": _text(label, "plain_text")}


def _actions(*elements: JSON) -> JSON:
    return {"type": "actions", "elements": list(elements)}


def _context(n: int) -> JSON:
    return {"type": "context", "elements": [_text(5) for _ in range(n)]}


# Each rule: blocks just inside Slack's limit, and just past it (with where Slack points).
RULES: dict[str, tuple[list[JSON], list[JSON], str]] = {
    "block types": (
        [{"type": "divider"}, {"type": "header", "text": _text(5, "plain_text")}],
        [{"type": "carousel"}],
        "/blocks/0/type",
    ),
    "section text up to 3000": ([_section(3000)], [_section(3001)], "/blocks/0/text/text"),
    "text is never empty": ([_section(1)], [_section(0)], "/blocks/0/text/text"),
    "a section has text or fields": (
        [{"type": "section", "fields": [_text(2000)] * 10}],
        [{"type": "section"}],
        "/blocks/0]",
    ),
    "up to 10 section fields": (
        [{"type": "section", "fields": [_text(5)] * 10}],
        [{"type": "section", "fields": [_text(5)] * 11}],
        "/blocks/0/fields",
    ),
    "section field text up to 2000": (
        [{"type": "section", "fields": [_text(2000)]}],
        [{"type": "section", "fields": [_text(2001)]}],
        "/blocks/0/fields/0/text",
    ),
    "header plain_text up to 150": (
        [{"type": "header", "text": _text(150, "plain_text")}],
        [{"type": "header", "text": _text(151, "plain_text")}],
        "/blocks/0/text/text",
    ),
    "header text is plain_text": (
        [{"type": "header", "text": _text(5, "plain_text")}],
        [{"type": "header", "text": _text(5, "mrkdwn")}],
        "/blocks/0/text/type",
    ),
    "button text up to 75": (
        [_actions(_button(label=75))],
        [_actions(_button(label=76))],
        "/blocks/0/elements/0/text/text",
    ),
    "action_id up to 255": (
        [_actions(_button("a" * 255))],
        [_actions(_button("a" * 256))],
        "/blocks/0/elements/0/action_id",
    ),
    "action_id unique within the message": (
        [_actions(_button("one")), _actions(_button("two"))],
        [_actions(_button("one")), _actions(_button("one"))],
        "/blocks/1/elements/0/action_id",
    ),
    "up to 25 elements per actions block": (
        [_actions(*(_button(f"b{i}") for i in range(25)))],
        [_actions(*(_button(f"b{i}") for i in range(26)))],
        "/blocks/0/elements",
    ),
    "up to 10 context elements": ([_context(10)], [_context(11)], "/blocks/0/elements"),
    "up to 50 blocks in a message": ([_section()] * 50, [_section()] * 51, "/blocks]"),
    "inputs only in views": (
        [_section()],
        [{"type": "input", "label": _text(3, "plain_text"), "element": {"type": "x"}}],
        "/blocks/0/type",
    ),
}


@pytest.mark.parametrize("rule", list(RULES))
async def test_a_message_with_blocks_slack_refuses_is_refused(
    fake: FakeSlack, client: AsyncWebClient, rule: str
) -> None:
    fine, broken, pointer = RULES[rule]
    assert (await client.chat_postMessage(channel="C1", text="t", blocks=fine))["ok"]
    with pytest.raises(SlackApiError) as refused:
        await client.chat_postMessage(channel="C1", text="t", blocks=broken)
    assert refused.value.response["error"] == "invalid_blocks"
    assert any(pointer in e for e in refused.value.response["errors"]), refused.value.response
    assert len(fake.conversations.messages("C1")) == 1  # the refused one was never posted


async def test_ephemeral_messages_and_updates_are_checked_too(client: AsyncWebClient) -> None:
    for call in (
        client.chat_postEphemeral(channel="C1", user="U1", text="t", blocks=[_section(3001)]),
        client.chat_update(channel="C1", ts="1.1", text="t", blocks=[_section(3001)]),
    ):
        with pytest.raises(SlackApiError, match="invalid_blocks"):
            await call


async def test_views_take_up_to_100_blocks_and_short_titles(client: AsyncWebClient) -> None:
    home = {"type": "home", "blocks": [_section()] * 100}
    assert (await client.views_publish(user_id="U1", view=home))["ok"]
    too_long = {"type": "home", "blocks": [_section()] * 101}
    with pytest.raises(SlackApiError, match="invalid_arguments"):
        await client.views_publish(user_id="U1", view=too_long)
    modal = {"type": "modal", "title": _text(25, "plain_text"), "blocks": [_section()]}
    with pytest.raises(SlackApiError) as refused:
        await client.views_open(trigger_id="1.2", view=modal)
    assert any("/view/title/text" in e for e in refused.value.response["errors"])


async def test_a_response_url_refuses_blocks_slack_refuses(fake: FakeSlack) -> None:
    url = fake.response_url()
    webhook = AsyncWebhookClient(url)
    refused = await webhook.send(text="t", blocks=[_section(3001)])
    assert (refused.status_code, refused.body) == (400, "invalid_blocks")
    assert fake.responses_to(url) == []
    assert (await webhook.send(text="t", blocks=[_section(3000)])).status_code == 200
    assert len(fake.responses_to(url)) == 1
