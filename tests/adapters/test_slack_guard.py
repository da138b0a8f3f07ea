"""Hostile HTTP at /slack/events: each bad request gets a plain status code and one warning line,
never a traceback, and the bot keeps answering real events afterwards."""

from __future__ import annotations

import json
import logging
from urllib.parse import quote

import pytest
from slack_sdk.signature import SignatureVerifier

from tests.adapters.slack_harness import ANSWER, SECRET, SlackBot, now
from tests.fakes import slack_api

pytestmark = pytest.mark.asyncio
JSON, FORM = "application/json", "application/x-www-form-urlencoded"
MARKER = "do-not-log-this-body"


def _envelope(**fields: object) -> str:
    """A signed-to-be Events API body; `fields` replace the envelope's (`...` removes one)."""
    body = slack_api.event_callback({"type": "message", "text": MARKER}) | fields
    return json.dumps({k: v for k, v in body.items() if v is not ...})


async def _post(bot: SlackBot, body: str, headers: dict[str, str]) -> int:
    assert bot.http is not None
    async with bot.http.post(bot.url, data=body.encode(), headers=headers) as response:
        return response.status


async def _still_answers(bot: SlackBot) -> None:
    """A real answer after the bad request is heard: the reaction arrives."""
    thread = await bot.post_question()
    await bot.answer(ANSWER, thread)
    await bot.fake.wait_for_call("reactions.add")


def _assert_quiet(caplog: pytest.LogCaptureFixture, *, warnings_from_guard: int) -> None:
    assert [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR] == []
    assert "Traceback" not in caplog.text
    assert MARKER not in caplog.text and SECRET not in caplog.text
    guard = [r for r in caplog.records if r.name == "adapters.slack.guard"]
    assert len(guard) == warnings_from_guard


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        pytest.param("{not json " + MARKER, JSON, id="not-json"),
        pytest.param(f'["{MARKER}"]', JSON, id="json-array"),
        pytest.param("null", JSON, id="json-null"),
        pytest.param(f'"{MARKER}"', JSON, id="json-string"),
        pytest.param(f"team_id=T1&text={MARKER}", JSON, id="form-labelled-json"),
        pytest.param(_envelope(event=MARKER), JSON, id="event-is-a-string"),
        pytest.param("payload=" + quote(f'["{MARKER}"]'), FORM, id="payload-not-an-object"),
        pytest.param("payload=" + quote("{" + MARKER), FORM, id="payload-not-json"),
    ],
)
async def test_a_signed_body_that_cannot_be_read_is_a_400(
    bot: SlackBot, caplog: pytest.LogCaptureFixture, body: str, content_type: str
) -> None:
    caplog.set_level(logging.WARNING)
    headers = slack_api.signed_headers(body, SECRET, content_type=content_type)
    assert await _post(bot, body, headers) == 400
    _assert_quiet(caplog, warnings_from_guard=1)
    await _still_answers(bot)


@pytest.mark.parametrize(
    "tamper",
    ["no-timestamp", "non-numeric-timestamp", "stale-timestamp", "bad-signature", "no-signature"],
)
async def test_a_request_not_signed_by_slack_is_a_401(
    bot: SlackBot, caplog: pytest.LogCaptureFixture, tamper: str
) -> None:
    caplog.set_level(logging.WARNING)
    body = _envelope()
    stale = now() - 6 * 60 if tamper == "stale-timestamp" else None
    headers = slack_api.signed_headers(body, SECRET, timestamp=stale)
    if tamper == "no-timestamp":
        del headers["X-Slack-Request-Timestamp"]
    elif tamper == "non-numeric-timestamp":  # signed over "soon": only the timestamp is wrong
        headers["X-Slack-Request-Timestamp"] = "soon"
        signed = SignatureVerifier(SECRET).generate_signature(timestamp="soon", body=body)
        headers["X-Slack-Signature"] = str(signed)
    elif tamper == "bad-signature":
        headers["X-Slack-Signature"] = "v0=" + "0" * 64
    elif tamper == "no-signature":
        del headers["X-Slack-Signature"]
    assert await _post(bot, body, headers) == 401
    _assert_quiet(caplog, warnings_from_guard=1)
    await _still_answers(bot)


async def test_a_signed_envelope_without_an_event_is_taken_and_dropped(
    bot: SlackBot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    body = _envelope(event=...)
    assert bot.http is not None
    headers = slack_api.signed_headers(body, SECRET)
    async with bot.http.post(bot.url, data=body.encode(), headers=headers) as response:
        assert (response.status, await response.text()) == (200, "")
    _assert_quiet(caplog, warnings_from_guard=1)
    await _still_answers(bot)


async def test_an_event_the_bot_does_not_handle_is_acknowledged(
    bot: SlackBot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    item = {"type": "message", "channel": "C1", "ts": "1.000001"}
    reaction = {"type": "reaction_added", "user": "U1", "reaction": "tada", "item": item}
    assert await bot.event(reaction) == 200  # a 404 would make Slack retry it
    _assert_quiet(caplog, warnings_from_guard=0)
    await _still_answers(bot)
