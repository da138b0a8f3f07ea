"""What a grade is, and the protocol every grader follows."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from bot.questions.schema import Question


class Verdict(StrEnum):
    MISSED = "missed"
    PARTIAL = "partial"
    FULL = "full"

    @property
    def credit(self) -> float:
        return {Verdict.MISSED: 0.0, Verdict.PARTIAL: 0.5, Verdict.FULL: 1.0}[self]


HUMAN = "human:"
"""Grader id prefix of a person's grade (`human:<user id>`, from `/drill grade`)."""


def is_human(grader: str) -> bool:
    """Whether a grade was given by a person rather than a grader."""
    return grader.startswith(HUMAN)


class Flag(StrEnum):
    INJECTION = "injection"
    OFF_TOPIC = "off_topic"
    KEYWORD_LIST = "keyword_list"
    UNREADABLE = "unreadable"
    DAILY_CAP = "daily_cap"
    """Graded offline: its author had reached the day's LLM-graded answers."""


@dataclass(frozen=True, slots=True)
class PointGrade:
    """The verdict on one rubric point, with the answer's own words as evidence."""

    point_id: str
    point: str
    weight: int
    verdict: Verdict
    rationale: str = ""
    evidence: str = ""

    @property
    def earned(self) -> float:
        return self.weight * self.verdict.credit

    @classmethod
    def from_json(cls, stored: dict[str, Any]) -> PointGrade:
        """A point grade back from its stored form (`Grade.points_json`)."""
        return cls(
            point_id=stored["point_id"],
            point=stored["point"],
            weight=stored["weight"],
            verdict=Verdict(stored["verdict"]),
            rationale=stored.get("rationale", ""),
            evidence=stored.get("evidence", ""),
        )


@dataclass(frozen=True, slots=True)
class Usage:
    input_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0
    output_tokens: int = 0


@dataclass(frozen=True, slots=True)
class Grade:
    """A graded answer. The total is computed here from the rubric weights, never taken from a
    model."""

    points: tuple[PointGrade, ...]
    feedback: str
    grader: str
    rubric_version: str
    provisional: bool = False
    flags: frozenset[Flag] = field(default_factory=frozenset)
    usage: Usage | None = None

    max_score: float = 10.0

    @property
    def score(self) -> float:
        return round(sum(p.earned for p in self.points), 1)

    def points_json(self) -> list[dict[str, Any]]:
        return [asdict(p) | {"earned": p.earned} for p in self.points]


class Grader(Protocol):
    """Grades one answer to one question against its rubric."""

    @property
    def id(self) -> str:
        """`offline:<version>` or `anthropic:<model>`; stored with every grade."""
        ...

    async def grade(self, question: Question, answer: str) -> Grade: ...


def compose_feedback(
    question: Question, points: tuple[PointGrade, ...], flags: frozenset[Flag]
) -> str:
    """Feedback specific to this answer: what it did well, and what a strong answer adds."""
    lines: list[str] = []
    if Flag.INJECTION in flags:
        lines.append("Instructions to the grader inside an answer are ignored and earn nothing.")
    if Flag.KEYWORD_LIST in flags:
        lines.append("A list of terms without explanation earns nothing: say how and why.")
    if Flag.UNREADABLE in flags:
        lines.append("Words that don't form sentences earn nothing: explain in your own sentences.")
    if Flag.OFF_TOPIC in flags:
        lines.append("This answer does not address the question asked.")
    good = [p for p in points if p.verdict is Verdict.FULL]
    if good:
        lines.append(f"Good: {len(good)} of {len(points)} rubric points fully covered.")
    gaps = [p for p in points if p.verdict is not Verdict.FULL]
    if gaps:
        lines.append("A strong answer adds:")
        lines.extend(f"• {question.point(p.point_id).full_credit}" for p in gaps)
    else:
        lines.append("Every rubric point is there: a complete answer.")
    return "\n".join(lines)
