"""An aiohttp middleware in front of bolt's Events endpoint: verify the signature first, then
refuse what bolt would choke on.

Bolt parses a request's body before it checks the signature, and reads the parsed payload as if
Slack had written it, so a malformed body (signed or not) ends as HTTP 500 with a traceback. The
guard checks the signature, parses the body the way bolt will, and lets a request through only
when bolt can read it: anyone without the signing secret gets 401, a signed body that is not
what its Content-Type says gets 400, and neither reaches bolt or leaves a traceback."""

from __future__ import annotations

import json
import logging
import re
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from slack_sdk.signature import SignatureVerifier

log = logging.getLogger(__name__)

MAX_AGE = 5 * 60  # seconds; Slack's advice, and what SignatureVerifier itself allows
_TIMESTAMP = re.compile(r"[0-9]{1,12}")  # int() would also take "٣", "+1", " 1" and 5,000 digits
_REFERENCES = ("team", "user", "channel", "enterprise")
"""Fields bolt reads as either an id or an object with an id."""
_OBJECTS = ("event", "message", "previous_message", "item", "view", "assistant_thread")
"""Fields bolt (or our listeners) reads into as objects."""
_LISTS = {"authorizations": 0, "response_urls": 0, "actions": 1}
"""Fields bolt indexes as lists of objects, with how many it takes for granted."""
_JSON_KINDS = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}


class Refused(Exception):
    """A request the guard answers itself, with `status`, for the log's `reason`."""

    def __init__(self, status: int, reason: str, *, close: bool = False) -> None:
        super().__init__(reason)
        self.status, self.reason, self.close = status, reason, close


def events_guard(signing_secret: str, *, path: str = "/slack/events") -> Middleware:
    """The middleware guarding POSTs to `path`; other routes pass through untouched."""
    verifier = SignatureVerifier(signing_secret)  # refuses an empty secret, at start-up

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path != path or request.method != "POST":
            return await handler(request)
        try:
            payload = await _verified_payload(request, verifier)
        except Refused as refused:
            log.warning(
                "Slack: refused a request to %s from %s: %s (HTTP %d)",
                path, request.remote, refused.reason, refused.status,
            )  # fmt: skip
            answer = web.json_response({"error": refused.reason}, status=refused.status)
            if refused.close:
                answer.force_close()
            return answer
        if payload.get("type") == "event_callback" and payload.get("event") is None:
            # Nothing to handle, but it is Slack's: a non-2xx would only make Slack retry it.
            log.warning("Slack: dropped an event_callback without an event (%s)", _ids(payload))
            return web.Response(status=200)
        response = await handler(request)
        if response.status == 404 and payload.get("type") == "event_callback":
            # Bolt answers an event no listener wants with 404; Slack would retry it, and
            # disable the subscription if that kept happening.
            return web.Response(status=200)
        return response

    return guard


async def _verified_payload(request: web.Request, verifier: SignatureVerifier) -> dict[str, Any]:
    """The payload bolt will see, once the request is known to be Slack's and readable."""
    timestamp = _last(request, "X-Slack-Request-Timestamp")
    signature = _last(request, "X-Slack-Signature")
    if timestamp is None or signature is None:
        raise Refused(401, "unsigned request")
    if not _TIMESTAMP.fullmatch(timestamp):
        raise Refused(401, "malformed timestamp")
    if abs(verifier.clock.now() - int(timestamp)) > MAX_AGE:
        raise Refused(401, "stale timestamp")
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge as too_large:
        raise Refused(413, "body too large") from too_large
    except (web.RequestPayloadError, ConnectionResetError) as unreadable:
        # A broken stream (bad gzip, a cut chunk): end it here, or aiohttp reads on after the
        # response, fails again and logs a traceback; the connection is closed after answering.
        request.content.feed_eof()
        raise Refused(400, "body could not be read", close=True) from unreadable
    try:
        body = raw.decode(request.charset or "utf-8")  # as aiohttp's text() will, for bolt
    except (LookupError, UnicodeDecodeError) as undecodable:
        raise Refused(401, "body is not text, so it cannot be verified") from undecodable
    # compare_digest raises on non-ASCII text instead of answering False.
    if not signature.isascii() or not verifier.is_valid(body, timestamp, signature):
        raise Refused(401, "bad signature")
    payload = _parse_like_bolt(body, _last(request, "Content-Type"))
    problem = _shape_problem(payload)
    if problem is not None:
        raise Refused(400, problem)
    return payload


def _last(request: web.Request, header: str) -> str | None:
    """The header's value as bolt sees it: the last one, when it is repeated."""
    values = request.headers.getall(header, [])
    return values[-1] if values else None


def _parse_like_bolt(body: str, content_type: str | None) -> dict[str, Any]:
    """The body parsed by the rules of bolt's `parse_body`, or Refused(400)."""
    if not body:
        raise Refused(400, "empty body")
    if (content_type or "").split(";")[0] == "application/json" or body.startswith("{"):
        return _json_object(body, "body")
    fields = dict(parse_qsl(body, keep_blank_values=True))
    if "payload" in body:  # bolt's own test, on the raw body: any "payload" in it
        if "payload" not in fields:
            return {}
        return _json_object(fields["payload"], "`payload` field")
    return fields


def _json_object(text: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise Refused(400, f"{what} is not JSON") from error
    if not isinstance(value, dict):
        kind = _JSON_KINDS.get(type(value), "a number")
        raise Refused(400, f"{what} is JSON {kind}, not an object")
    return value


def _shape_problem(payload: dict[str, Any], *, depth: int = 0) -> str | None:
    """What in `payload` bolt would trip over, if anything (None when it can be read)."""
    for name in _REFERENCES:
        value = payload.get(name)
        if isinstance(value, dict) and not isinstance(value.get("id", ""), str | None):
            return f"`{name}.id` is not an id"
        if value is not None and not isinstance(value, str | dict):
            return f"`{name}` is neither an id nor an object"
    nested: list[tuple[str, Any]] = []
    for name, at_least in _LISTS.items():
        value = payload.get(name)
        if value is None:
            continue
        if not isinstance(value, list) or len(value) < at_least:
            return f"`{name}` is not a list of objects"
        nested.extend((f"{name}[{i}]", item) for i, item in enumerate(value))
    nested.extend((name, payload.get(name)) for name in _OBJECTS if payload.get(name) is not None)
    for name, value in nested:
        if not isinstance(value, dict):
            return f"`{name}` is not an object"
        inner = _shape_problem(value, depth=depth + 1) if depth < 2 else None
        if inner is not None:
            return f"{name}: {inner}"
    return None


def _ids(payload: dict[str, Any]) -> str:
    return f"team {payload.get('team_id')!s:.20}, event {payload.get('event_id')!s:.40}"
