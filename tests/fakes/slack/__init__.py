"""A fake of Slack on 127.0.0.1 that speaks the real wire protocol, for the real slack_sdk and
slack_bolt to talk to.

- Web API: ``POST`` (or ``GET``) ``/api/<method>``, as ``AsyncWebClient(base_url=fake.api_url)``
  sends it: the token in ``Authorization: Bearer …`` and the arguments in the query string, a
  form body or a JSON body (the SDK sends JSON for chat.postMessage, chat.update, views.*).
  Every call is recorded as a ``Call``; replies are HTTP 200 JSON ``{"ok": …}`` like Slack's,
  unless a failure was scripted with ``fail()``.
- Socket Mode: ``apps.connections.open`` returns ``ws://127.0.0.1:PORT/socket``; the fake says
  ``hello`` on connect, sends envelopes with ``send_envelope()`` and records the acks.
- Response URLs: ``response_url()`` gives a URL on the fake that records what ``respond()``
  posts.
- Block Kit: blocks in chat.* calls, views and responses are checked as Slack checks them
  (``block_kit``); what Slack would refuse gets ``invalid_blocks`` (views:
  ``invalid_arguments``) with the problems listed, and is neither posted nor recorded.
- Messages: chat.postMessage keeps what it posts in ``conversations`` (``slack_history``), which
  answers conversations.history and conversations.replies; ``conversations.say()`` writes as a
  person with no event sent, and ``lose_response()`` takes a call but never answers it.

Below the fake are pure helpers that build what Slack sends to an app: signed HTTP headers,
Events API envelopes, slash-command and interactive bodies (as form bodies for HTTP mode and as
payload dicts for Socket Mode), and message events."""

from __future__ import annotations

from tests.fakes.slack.events import (
    app_mention_event,
    bot_message_event,
    event_callback,
    message_changed_event,
    message_deleted_event,
    message_event,
    url_verification,
)
from tests.fakes.slack.payloads import (
    block_action_form,
    block_action_payload,
    fresh_event_id,
    fresh_ts,
    interactive_form,
    signed_headers,
    slash_command_form,
    slash_command_payload,
    view_submission_form,
    view_submission_payload,
)
from tests.fakes.slack.server import FakeSlack
from tests.fakes.slack.wire import JSON, VERIFICATION_TOKEN, Call

__all__ = [
    "JSON",
    "VERIFICATION_TOKEN",
    "Call",
    "FakeSlack",
    "app_mention_event",
    "block_action_form",
    "block_action_payload",
    "bot_message_event",
    "event_callback",
    "fresh_event_id",
    "fresh_ts",
    "interactive_form",
    "message_changed_event",
    "message_deleted_event",
    "message_event",
    "signed_headers",
    "slash_command_form",
    "slash_command_payload",
    "url_verification",
    "view_submission_form",
    "view_submission_payload",
]
