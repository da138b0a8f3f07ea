"""The Slack fake (tests/fakes/slack_api.py) against the real slack_sdk clients."""

from __future__ import annotations

import asyncio
import json
import time
from urllib.parse import parse_qs

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from tests.fakes.slack_api import (
    FakeSlack,
    block_action_form,
    message_event,
    signed_headers,
    slash_command_form,
    view_submission_form,
)

pytestmark = pytest.mark.asyncio


async def test_auth_test_and_users_info(fake: FakeSlack, client: AsyncWebClient) -> None:
    auth = await client.auth_test()
    assert (auth["team_id"], auth["user_id"], auth["bot_id"]) == ("T1", "UBOT", "BBOT")
    fake.users["UADMIN"] = {**fake.default_user("UADMIN"), "is_admin": True}
    assert (await client.users_info(user="UADMIN"))["user"]["is_admin"] is True
    assert (await client.users_info(user="U7"))["user"]["is_admin"] is False
    [users_call] = fake.calls_to("users.info")[-1:]
    assert users_call.http_method == "GET" and users_call.params == {"user": "U7"}
    assert [c.token for c in fake.calls] == ["xoxb-test"] * 3
    with pytest.raises(SlackApiError) as err:
        await client.api_call("no.such.method")
    assert err.value.response["error"] == "unknown_method"
    with pytest.raises(SlackApiError, match="not_authed"):
        await AsyncWebClient(base_url=fake.api_url).auth_test()


async def test_post_message_with_blocks_is_recorded_as_sent(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Q1*"}}]
    first = await client.chat_postMessage(channel="C1", text="Q1", blocks=blocks)
    second = await client.chat_postMessage(channel="C1", text="reply", thread_ts=first["ts"])
    assert first["ok"] and first["channel"] == "C1"
    assert first["message"]["blocks"] == blocks and first["message"]["ts"] == first["ts"]
    assert float(second["ts"]) > float(first["ts"])
    assert second["message"]["thread_ts"] == first["ts"]
    call, _ = await fake.wait_for_call("chat.postMessage", count=2)
    assert call.token == "xoxb-test" and not call.failed
    assert call.params == {"channel": "C1", "text": "Q1", "blocks": blocks}
    dm = await client.conversations_open(users="U9")
    assert dm["channel"]["id"] == "DU9"


async def test_a_scripted_429_is_retried_after_retry_after(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=1))
    fake.fail("chat.postMessage", status=429, headers={"Retry-After": "1"})
    started = time.monotonic()
    result = await client.chat_postMessage(channel="C1", text="hi")
    assert result["ok"] and time.monotonic() - started >= 1
    failed, succeeded = fake.calls_to("chat.postMessage")
    assert failed.failed and not succeeded.failed
    assert failed.params == succeeded.params == {"channel": "C1", "text": "hi"}


async def test_scripted_server_errors_and_reactions(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    fake.fail("reactions.add", status=503)
    with pytest.raises(SlackApiError) as err:
        await client.reactions_add(channel="C1", timestamp="1.000100", name="white_check_mark")
    assert err.value.response.status_code == 503
    assert err.value.response["error"] == "fatal_error"
    await client.reactions_add(channel="C1", timestamp="1.000100", name="white_check_mark")
    with pytest.raises(SlackApiError, match="already_reacted"):
        await client.reactions_add(channel="C1", timestamp="1.000100", name="white_check_mark")


# slack_sdk builds aiohttp.BasicAuth for oauth.v2.access, which aiohttp 3.14 deprecates.
@pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning")
async def test_oauth_views_and_response_urls(fake: FakeSlack, client: AsyncWebClient) -> None:
    fake.oauth_teams["code-1"] = "T2"
    oauth = await client.oauth_v2_access(client_id="111.222", client_secret="s", code="code-1")
    assert oauth["access_token"] == "xoxb-T2" and oauth["team"]["id"] == "T2"
    assert fake.calls_to("oauth.v2.access")[0].params["client_id"] == "111.222"
    assert (await client.auth_test(token="xoxb-T2"))["team_id"] == "T2"
    with pytest.raises(SlackApiError, match="invalid_code"):
        await client.oauth_v2_access(client_id="111.222", client_secret="s", code="nope")

    view = {
        "type": "modal",
        "callback_id": "answer",
        "title": {"type": "plain_text", "text": "A"},
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "Why?"}}],
    }
    opened = await client.views_open(trigger_id="T.1", view=view)
    assert opened["view"]["callback_id"] == "answer"
    updated = await client.views_update(view_id=opened["view"]["id"], view=view)
    assert updated["view"]["root_view_id"] == opened["view"]["id"]

    url = fake.response_url()
    response = await AsyncWebhookClient(url).send(text="only you", response_type="ephemeral")
    assert response.status_code == 200
    assert (
        fake.responses_to(url)
        == fake.responses
        == [{"text": "only you", "response_type": "ephemeral"}]
    )


async def test_socket_mode_delivers_an_envelope_and_records_the_ack(fake: FakeSlack) -> None:
    received: list[SocketModeRequest] = []

    async def listener(client: AsyncBaseSocketModeClient, request: SocketModeRequest) -> None:
        received.append(request)
        await client.send_socket_mode_response(SocketModeResponse(envelope_id=request.envelope_id))

    socket = SocketModeClient(
        app_token="xapp-test", web_client=AsyncWebClient(base_url=fake.api_url)
    )
    socket.socket_mode_request_listeners.append(listener)
    try:
        await socket.connect()  # type: ignore[no-untyped-call]
        await fake.wait_connected()
        assert fake.calls_to("apps.connections.open")[0].token == "xapp-test"
        event = message_event("hello", ts="1700000001.000100")
        envelope_id = await fake.send_event(event)
        assert await fake.wait_for_ack(envelope_id) == {"envelope_id": envelope_id}
        [request] = received
        assert request.type == "events_api" and request.payload["event"] == event

        await fake.send_disconnect()
        await fake.wait_connected(connections=2)
        second = await fake.send_envelope("slash_commands", {"command": "/drill", "text": ""})
        await fake.wait_for_ack(second)
        assert len(fake.calls_to("apps.connections.open")) == 2
    finally:
        await socket.close()  # type: ignore[no-untyped-call]
        await asyncio.sleep(0)


async def test_http_helpers_build_what_bolt_verifies() -> None:
    body = slash_command_form("start", response_url="http://127.0.0.1/response/r1")
    headers = signed_headers(body, "shhh", retry_num=1)
    assert SignatureVerifier("shhh").is_valid_request(body, headers)
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert headers["X-Slack-Retry-Num"] == "1"
    assert parse_qs(body)["command"] == ["/drill"]
    click = json.loads(parse_qs(block_action_form("grade", "7", response_url="x"))["payload"][0])
    assert click["actions"][0] == {**click["actions"][0], "action_id": "grade", "value": "7"}
    form = view_submission_form("answer", {"b": {"a": "my answer"}}, private_metadata="q1")
    view = json.loads(parse_qs(form)["payload"][0])["view"]
    assert view["state"]["values"]["b"]["a"] == {"type": "plain_text_input", "value": "my answer"}
