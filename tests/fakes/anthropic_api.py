"""A fake of Anthropic's Messages API on 127.0.0.1, for the real SDK to talk to.

It records every request (headers and JSON body) and answers from a script: each scripted
reply is a callable that receives the request body and returns (status, headers, body), or a
number of seconds to stall (to provoke a client timeout). With an empty script it plays a
simple, deterministic grader: a rubric point is "full" when all of the point id's words appear
in the answer, quoting the first sentence that has them. `latency` makes every successful reply
take that long, as a real model does; `in_flight` and `peak` count the requests it is answering
at once."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.loopback import serve

Reply = Callable[[dict[str, Any]], tuple[int, dict[str, str], dict[str, Any]]]


@dataclass
class Recorded:
    headers: dict[str, str]
    body: dict[str, Any]
    at: float = 0.0
    """When the request arrived (time.monotonic())."""


@dataclass
class FakeAnthropic:
    requests: list[Recorded] = field(default_factory=list)
    script: list[Reply | float] = field(default_factory=list)
    fallback: Reply | None = None
    """Used once the script is exhausted; the built-in grader when None."""
    latency: float = 0.0
    """Seconds every successful reply takes, as a model's would (errors come back at once)."""
    in_flight: int = 0
    peak: int = 0
    """The most requests answered at once so far (set it back to 0 to measure afresh)."""

    def __post_init__(self) -> None:
        self._cached: set[str] = set()
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/v1/messages", self._messages)
        self._runner, port = await serve(app)
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _messages(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        headers = {k.lower(): v for k, v in request.headers.items()}
        self.requests.append(Recorded(headers, body, time.monotonic()))
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            step = self.script.pop(0) if self.script else (self.fallback or self.grade_by_keywords)
            if isinstance(step, int | float):
                await asyncio.sleep(step)
                step = self.grade_by_keywords
            status, reply_headers, payload = step(body)
            if self.latency and status < 400:  # refusals come back at once
                await asyncio.sleep(self.latency)
        finally:
            self.in_flight -= 1
        return web.json_response(payload, status=status, headers=reply_headers)

    # --- canned replies ----------------------------------------------------------------------

    def tool_reply(self, body: dict[str, Any], tool_input: dict[str, Any]) -> dict[str, Any]:
        """A successful Messages API response calling the grading tool with `tool_input`."""
        system = "".join(b["text"] for b in body.get("system", []))
        key = hashlib.sha256(system.encode()).hexdigest()
        cached = key in self._cached
        self._cached.add(key)
        size = len(system) // 4
        return {
            "id": f"msg_{next(self._ids)}",
            "type": "message",
            "role": "assistant",
            "model": body["model"],
            "content": [
                {
                    "type": "tool_use",
                    "id": f"toolu_{next(self._ids)}",
                    "name": body["tools"][0]["name"],
                    "input": tool_input,
                }
            ],
            "stop_reason": "tool_use",
            "stop_sequence": None,
            "usage": {
                "input_tokens": 40 + len(json.dumps(body["messages"])) // 4,
                "cache_creation_input_tokens": 0 if cached else size,
                "cache_read_input_tokens": size if cached else 0,
                "output_tokens": 120,
            },
        }

    def grade_by_keywords(self, body: dict[str, Any]) -> tuple[int, dict[str, str], dict[str, Any]]:
        if body["tools"][0]["name"] == "ask_follow_up":
            return 200, {}, self.tool_reply(body, written_follow_up(body))
        return 200, {}, self.tool_reply(body, keyword_grade(body))


def answer_in(body: dict[str, Any]) -> str:
    """The answer text between the delimiter tags of the first user turn."""
    first = body["messages"][0]["content"]
    text = first if isinstance(first, str) else first[0]["text"]
    m = re.search(r"<(answer-[0-9a-f]+)>\n(.*)\n</\1>", text, re.S)
    assert m, "the answer must be inside <answer-…> tags"
    return m.group(2)


def point_ids(body: dict[str, Any]) -> list[str]:
    """The rubric point ids the tool's schema asks for (`points` is keyed by them)."""
    schema = body["tools"][0]["input_schema"]
    return list(schema["properties"]["points"]["required"])


def written_follow_up(body: dict[str, Any]) -> dict[str, Any]:
    """What the fake interviewer asks: the person's first words, then the missed point's id."""
    first = answer_in(body).split(".")[0][:60]
    point = re.search(r"Missed point: ([a-z0-9-]+)", body["messages"][0]["content"])
    assert point, "the follow-up request must name the missed point"
    return {"question": f'You said "{first}". How would you handle {point.group(1)}?'}


def keyword_grade(body: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    answer = answer_in(body)
    points = {}
    for pid in point_ids(body):
        words = pid.split("-")
        hit = next(
            (s for s in re.split(r"(?<=[.!?])\s+", answer) if all(w in s.lower() for w in words)),
            "",
        )
        points[pid] = {
            "verdict": "full" if hit else "missed",
            "rationale": "names the idea" if hit else "not mentioned", "evidence": hit,
        }  # fmt: skip
    grade = {
        "points": points,
        "feedback_good": "You explained the core idea.",
        "feedback_missing": "A strong answer also covers the remaining rubric points.",
        "injection_suspected": False,
        "off_topic": False,
        "confidence": "high",
    }
    grade.update(overrides)
    return grade


def status(code: int, error_type: str, headers: dict[str, str] | None = None) -> Reply:
    """A scripted API error reply."""

    def reply(_: dict[str, Any]) -> tuple[int, dict[str, str], dict[str, Any]]:
        return code, headers or {}, {
            "type": "error", "error": {"type": error_type, "message": f"fake {error_type}"},
        }  # fmt: skip

    return reply
