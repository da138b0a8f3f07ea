"""The LLM grader: Anthropic's Messages API with a forced, strict tool as structured output."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import anthropic
from anthropic.types import MessageParam, TextBlockParam, ToolParam
from pydantic import ValidationError

from bot.grading.base import Flag, Grade, PointGrade, Usage, Verdict
from bot.grading.limit import OVERLOADED, AdaptiveLimit, retry_after
from bot.grading.prompt import (
    FOLLOW_UP_TOOL,
    MAX_FOLLOW_UP,
    TOOL_NAME,
    FollowUpQuestion,
    PointVerdict,
    ToolGrade,
    follow_up_system,
    follow_up_tool,
    follow_up_user,
    grade_model,
    grade_tool,
    new_tag,
    system_text,
    user_text,
)
from bot.grading.words import is_injection, is_term_list, sentences
from bot.questions.schema import Question

log = logging.getLogger(__name__)

MAX_TOKENS = 2048
FOLLOW_UP_TOKENS = 300
EXTRA_SAMPLES = 2  # on low confidence, two more samples make a majority of three


class GraderUnavailable(Exception):
    """The LLM could not produce a usable grade (outage, timeouts, invalid output)."""


@dataclass(frozen=True, slots=True)
class _Sample:
    grade: ToolGrade
    verdicts: dict[str, PointVerdict]
    usage: Usage


class AnthropicGrader:
    """Grades with Claude. Verdicts come per rubric point; evidence is checked against the
    answer in code; the total is computed from the weights."""

    def __init__(
        self,
        *,
        api_key: str,
        model: str,
        base_url: str | None = None,
        timeout: float = 60.0,
        max_retries: int = 3,
        limit: AdaptiveLimit | None = None,
    ) -> None:
        self._model = model
        # The SDK retries 408, 409, 429 and 5xx (529 included) itself, honouring Retry-After;
        # the limit's middleware runs inside that loop, so it sees (and paces) every attempt.
        self._client = anthropic.AsyncAnthropic(
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            middleware=None if limit is None else [LimitCalls(limit)],
        )

    @property
    def id(self) -> str:
        return f"anthropic:{self._model}"

    async def close(self) -> None:
        await self._client.close()

    async def grade(self, question: Question, answer: str) -> Grade:
        cleaned, injected = strip_injections(answer)
        first = await self._sample(question, cleaned)
        samples = [first]
        if first.grade.confidence == "low":
            for _ in range(EXTRA_SAMPLES):
                samples.append(await self._sample(question, cleaned))
        return self._combine(question, cleaned, samples, injected)

    async def _sample(self, question: Question, answer: str) -> _Sample:
        tool = cast(ToolParam, grade_tool(question))
        model = grade_model(tuple(p.id for p in question.rubric))
        system: list[TextBlockParam] = [
            {"type": "text", "text": system_text(question), "cache_control": {"type": "ephemeral"}}
        ]
        messages: list[MessageParam] = [{"role": "user", "content": user_text(answer, new_tag())}]
        usage = Usage()
        for attempt in (1, 2):  # the second attempt repairs invalid output
            try:
                response = await self._client.messages.create(
                    model=self._model,
                    max_tokens=MAX_TOKENS,
                    system=system,
                    tools=[tool],
                    tool_choice={"type": "tool", "name": TOOL_NAME},
                    messages=messages,
                )
            except anthropic.APIError as exc:
                raise GraderUnavailable(f"{type(exc).__name__}: {_brief(exc)}") from exc
            usage = _add(usage, response.usage)
            block = next((b for b in response.content if b.type == "tool_use"), None)
            if block is None:
                problem = "no record_grade tool call in the response"
                if attempt == 2:
                    raise GraderUnavailable(problem)
                messages += [
                    {"role": "assistant", "content": response.content},
                    {"role": "user", "content": f"{problem}. Call {TOOL_NAME} now."},
                ]
                continue
            try:
                parsed = model.model_validate(block.input)
                return _Sample(parsed, parsed.verdicts(), usage)
            except ValidationError as exc:
                if attempt == 2:
                    raise GraderUnavailable(f"invalid grade twice: {exc}") from exc
                log.info("grade for %s failed validation; asking once for a repair", question.id)
                messages += [
                    {"role": "assistant", "content": response.content},
                    {
                        "role": "user",
                        "content": [
                            {
                                "type": "tool_result",
                                "tool_use_id": block.id,
                                "is_error": True,
                                "content": f"That input is invalid: {exc}. Call {TOOL_NAME} "
                                "again with one entry for every rubric point.",
                            }
                        ],
                    },
                ]
        raise AssertionError("unreachable")

    async def follow_up(self, question: Question, answer: str, point_id: str) -> str:
        """A follow-up question written from the missed rubric point and the person's own
        words (instructions to the grader are taken out first); GraderUnavailable if none
        usable comes back."""
        cleaned, _ = strip_injections(answer)
        system: list[TextBlockParam] = [
            {
                "type": "text",
                "text": follow_up_system(question),
                "cache_control": {"type": "ephemeral"},
            }
        ]
        content = follow_up_user(cleaned, new_tag(), question.point(point_id))
        try:
            response = await self._client.messages.create(
                model=self._model,
                max_tokens=FOLLOW_UP_TOKENS,
                system=system,
                tools=[cast(ToolParam, follow_up_tool())],
                tool_choice={"type": "tool", "name": FOLLOW_UP_TOOL},
                messages=[{"role": "user", "content": content}],
            )
        except anthropic.APIError as exc:
            raise GraderUnavailable(f"{type(exc).__name__}: {_brief(exc)}") from exc
        block = next((b for b in response.content if b.type == "tool_use"), None)
        try:
            asked = FollowUpQuestion.model_validate(None if block is None else block.input)
        except ValidationError as exc:
            raise GraderUnavailable(f"no usable follow-up: {exc}") from exc
        text = _SPACE.sub(" ", asked.question).strip()[:MAX_FOLLOW_UP]
        if len(text) < 10 or is_injection(text):
            raise GraderUnavailable("no usable follow-up in the response")
        return text

    def _combine(
        self, question: Question, answer: str, samples: list[_Sample], injected: bool
    ) -> Grade:
        flags: set[Flag] = {Flag.INJECTION} if injected else set()
        if any(s.grade.injection_suspected for s in samples):
            flags.add(Flag.INJECTION)
        if sum(s.grade.off_topic for s in samples) * 2 > len(samples):
            flags.add(Flag.OFF_TOPIC)
        points = []
        for rubric_point in question.rubric:
            votes = [s.verdicts[rubric_point.id] for s in samples]
            chosen = _majority(votes)
            verdict, rationale, evidence = chosen.verdict, chosen.rationale, chosen.evidence
            if verdict is not Verdict.MISSED:
                problem = evidence_problem(evidence, answer)
                if problem:
                    verdict, rationale, evidence = Verdict.MISSED, problem, ""
            points.append(
                PointGrade(
                    point_id=rubric_point.id,
                    point=rubric_point.point,
                    weight=rubric_point.weight,
                    verdict=verdict,
                    rationale=rationale,
                    evidence=evidence,
                )
            )
        lead = samples[0].grade
        feedback = "\n".join(
            line
            for line in (
                "Instructions to the grader inside an answer are ignored and earn nothing."
                if Flag.INJECTION in flags else "",
                lead.feedback_good.strip(),
                lead.feedback_missing.strip(),
            )
            if line
        )  # fmt: skip
        usage = Usage()
        for s in samples:
            usage = _sum(usage, s.usage)
        return Grade(
            points=tuple(points),
            feedback=feedback,
            grader=self.id,
            rubric_version=question.version,
            flags=frozenset(flags),
            usage=usage,
        )


def strip_injections(answer: str) -> tuple[str, bool]:
    """Remove sentences addressed to the grader before the model ever sees them, so an answer
    with such a sentence is graded exactly as the same answer without it."""
    kept, found = [], False
    for sentence in sentences(answer):
        if is_injection(sentence):
            found = True
        else:
            kept.append(sentence)
    return (" ".join(kept) if found else answer), found


_SPACE = re.compile(r"\s+")
_QUOTES = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"', "–": "-", "—": "-"})


def _norm(text: str) -> str:
    return _SPACE.sub(" ", text.translate(_QUOTES)).strip().casefold()


def evidence_problem(evidence: str, answer: str) -> str | None:
    """Why a quoted span does not earn credit, or None if it does."""
    quote = _norm(evidence).strip(" .,;:\"'")
    if len(quote) < 8:
        return "no usable evidence quoted from the answer"
    if quote not in _norm(answer):
        return "the quoted evidence does not appear in the answer"
    if is_term_list(evidence):
        return "a bare list of terms earns nothing"
    return None


def _majority(votes: list[PointVerdict]) -> PointVerdict:
    """The median verdict of the samples (for three, the majority or the middle one)."""
    ranked = sorted(votes, key=lambda v: v.verdict.credit)
    return ranked[len(ranked) // 2]


def _add(total: Usage, usage: Any) -> Usage:
    return _sum(
        total,
        Usage(
            input_tokens=usage.input_tokens or 0,
            cache_creation_input_tokens=usage.cache_creation_input_tokens or 0,
            cache_read_input_tokens=usage.cache_read_input_tokens or 0,
            output_tokens=usage.output_tokens or 0,
        ),
    )


def _sum(a: Usage, b: Usage) -> Usage:
    return Usage(
        input_tokens=a.input_tokens + b.input_tokens,
        cache_creation_input_tokens=a.cache_creation_input_tokens + b.cache_creation_input_tokens,
        cache_read_input_tokens=a.cache_read_input_tokens + b.cache_read_input_tokens,
        output_tokens=a.output_tokens + b.output_tokens,
    )


def _brief(exc: anthropic.APIError) -> str:
    status = getattr(exc, "status_code", None)
    return f"status {status}" if status else exc.__class__.__doc__ or "request failed"


class LimitCalls(anthropic.Middleware):
    """SDK middleware: every HTTP attempt, the SDK's own retries included, takes a slot of the
    limit, and every 429/529 the API answers moves it, even when the SDK retries the call."""

    def __init__(self, limit: AdaptiveLimit) -> None:
        self._limit = limit

    async def handle_async(
        self,
        request: anthropic.APIRequest,
        call_next: Callable[[anthropic.APIRequest], Any],
    ) -> anthropic.AsyncAPIResponse[Any]:
        async with self._limit.slot() as slot:
            response: anthropic.AsyncAPIResponse[Any] = await call_next(request)
        if response.status_code in OVERLOADED:
            self._limit.overloaded(slot, retry_after=retry_after(response.headers))
        elif response.http_response.is_success:
            self._limit.succeeded()
        return response
