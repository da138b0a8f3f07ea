"""The scorecard that ends a mock interview: a score per question, the strongest and weakest
topics, three next steps and an overall hiring verdict with its reasons. No I/O."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from bot.grading.base import Verdict
from bot.questions.schema import Category, Question
from bot.user_text import clip


class Recommendation(StrEnum):
    STRONG_HIRE = "Strong hire"
    HIRE = "Hire"
    LEAN_NO_HIRE = "Lean no hire"
    NO_HIRE = "No hire"


THRESHOLDS = (
    (8.0, Recommendation.STRONG_HIRE),
    (6.5, Recommendation.HIRE),
    (4.5, Recommendation.LEAN_NO_HIRE),
)
BARS = "strong hire ≥ 8, hire ≥ 6.5, lean no hire ≥ 4.5"


def recommend(average: float) -> Recommendation:
    """The verdict for an average score out of 10."""
    return next((r for bar, r in THRESHOLDS if average >= bar), Recommendation.NO_HIRE)


@dataclass(frozen=True, slots=True)
class TurnResult:
    """How one question of the interview went. `status` is the turn's: graded, skipped,
    unanswered (the interview ended first) or pending (never reached)."""

    position: int
    question: Question
    status: str
    score: float | None = None
    points: tuple[dict[str, Any], ...] = ()
    hints: int = 0
    follow_ups: int = 0

    @property
    def counted(self) -> bool:
        return self.status in ("graded", "skipped")

    @property
    def value(self) -> float:
        return 0.0 if self.status == "skipped" else self.score or 0.0


@dataclass(frozen=True, slots=True)
class Scorecard:
    results: list[TurnResult]
    complete: bool
    average: float | None
    recommendation: Recommendation | None
    reasons: list[str]
    strongest: tuple[Category, float] | None
    weakest: tuple[Category, float] | None
    next_steps: list[str]


def build(
    results: Sequence[TurnResult], *, complete: bool, practice: Sequence[Question] = ()
) -> Scorecard:
    """The scorecard for `results`; `practice` are unseen questions to suggest, best first."""
    counted = [r for r in results if r.counted]
    if not counted:
        return Scorecard(
            list(results), complete, None, None,
            ["No question was answered, so there is no verdict."], None, None,
            _next_steps([], practice),
        )  # fmt: skip
    average = round(sum(r.value for r in counted) / len(counted), 1)
    verdict = recommend(average)
    by_topic: dict[Category, list[float]] = defaultdict(list)
    for r in counted:
        by_topic[r.question.category].append(r.value)
    topics = sorted(
        ((c, round(sum(v) / len(v), 1)) for c, v in by_topic.items()),
        key=lambda t: (-t[1], t[0].value),
    )
    return Scorecard(
        results=list(results),
        complete=complete,
        average=average,
        recommendation=verdict,
        reasons=_reasons(results, counted, average, verdict, complete),
        strongest=topics[0],
        weakest=topics[-1],
        next_steps=_next_steps(counted, practice),
    )


def _reasons(
    results: Sequence[TurnResult],
    counted: list[TurnResult],
    average: float,
    verdict: Recommendation,
    complete: bool,
) -> list[str]:
    n = len(counted)
    reasons = [f"Average {average:g}/10 over {n} question{'s' if n > 1 else ''}: {verdict} "
               f"({BARS})."]  # fmt: skip
    verdicts = [Verdict(p["verdict"]) for r in counted if r.status == "graded" for p in r.points]
    total = sum(len(r.question.rubric) for r in counted)
    full = verdicts.count(Verdict.FULL)
    reasons.append(
        f"{full} of {total} rubric points fully covered, {verdicts.count(Verdict.PARTIAL)} in part."
    )
    skipped = sum(1 for r in counted if r.status == "skipped")
    if skipped:
        reasons.append(f"{skipped} skipped question{'s' if skipped > 1 else ''} scored 0.")
    if n > 1:
        best = max(counted, key=lambda r: r.value)
        worst = min(counted, key=lambda r: r.value)
        if best.value != worst.value:
            reasons.append(
                f"Best answer: {best.question.id} ({best.value:g}/10); "
                f"weakest: {worst.question.id} ({worst.value:g}/10)."
            )
    hints = sum(r.hints for r in counted)
    if hints:
        reasons.append(f"{hints} hint{'s' if hints > 1 else ''} used.")
    if not complete:
        reasons.append(
            f"Partial: {n} of {len(results)} questions answered before the interview ended."
        )
    return reasons


def _next_steps(counted: list[TurnResult], practice: Sequence[Question]) -> list[str]:
    """Three concrete things to do next: redo the weakest answer, study the points missed,
    practise fresh questions."""
    again = []
    worst = min(counted, key=lambda r: r.value, default=None)
    if worst is not None and worst.value < 10:
        again.append(
            f"Practise {worst.question.id} again (you scored {worst.value:g}/10): "
            f"{clip(worst.question.prompt, 120)}"
        )
    gaps: list[tuple[bool, int, str]] = []
    for r in counted:
        grades = {p["point_id"]: Verdict(p["verdict"]) for p in r.points}
        for point in r.question.rubric:
            verdict = grades.get(point.id, Verdict.MISSED)
            if verdict is not Verdict.FULL:
                text = f"Study: {clip(point.point, 160)} ({r.question.id})"
                gaps.append((verdict is Verdict.PARTIAL, -point.weight, text))
    study = [text for *_, text in sorted(gaps)]
    fresh = [f"Try {q.id} next: {clip(q.prompt, 120)}" for q in practice]
    steps = [*again[:1], *study[:1], *fresh[:1]]
    steps += [s for s in [*study[1:], *fresh[1:]] if s not in steps]
    if len(steps) < 3:
        steps.append("Go deeper: `/drill mock <topic> 6` runs six questions on one topic.")
    if len(steps) < 3:
        steps.append("Answer the daily question in your team's channel to keep your streak.")
    return steps[:3]
