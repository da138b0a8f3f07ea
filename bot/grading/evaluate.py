"""Measuring a grader against labelled answers (gold scores 0-10), as `opsdrill eval` prints."""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field

from bot.grading.base import Grader
from bot.questions.bank import Bank
from bot.questions.schema import (
    Category,
    Difficulty,
    FollowUp,
    Question,
    RubricPoint,
    WeakAnswer,
)

ADVERSARIAL = frozenset({"stuffing", "injection", "off_topic", "fluff"})
PAIR_GAP = 3


class LabelledRubricPoint(BaseModel):
    point: str
    weight: int


class LabelledAnswer(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str
    kind: str
    gold: float = Field(ge=0, le=10)
    text: str


class LabelledQuestion(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str
    text: str
    rubric: list[LabelledRubricPoint] = Field(default_factory=list)
    answers: list[LabelledAnswer]


class LabelledSet(BaseModel):
    model_config = ConfigDict(extra="ignore")

    questions: list[LabelledQuestion]


def load_labelled(path: Path) -> LabelledSet:
    return LabelledSet.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))


def question_for(labelled: LabelledQuestion, bank: Bank) -> Question:
    """The bank's question with this id, or one built from the labelled set's own rubric (its
    point texts then stand in for the phrasings a bank question would have)."""
    known = bank.get(labelled.id)
    if known is not None:
        return known
    points = [
        RubricPoint.model_construct(
            id=f"p{i}",
            point=p.point,
            weight=p.weight,
            full_credit=p.point,
            partial_credit=p.point,
            phrasings=[p.point],
            terms=[p.point],
            aspect=None,
        )
        for i, p in enumerate(labelled.rubric)
    ]
    return Question.model_construct(
        id=labelled.id, category=Category.SYSTEM_DESIGN, difficulty=Difficulty.PRACTITIONER,
        prompt=labelled.text, context=None, rubric=points, model_answer=labelled.text,
        weak_answer=WeakAnswer.model_construct(text="", why=""),
        follow_ups=[FollowUp.model_construct(point="p0", probe="")], tags=["eval"],
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Scored:
    question: str
    answer: str
    kind: str
    gold: float
    score: float


@dataclass
class Report:
    rows: list[Scored] = field(default_factory=list)

    @property
    def spearman(self) -> float:
        return pearson(_ranks([r.gold for r in self.rows]), _ranks([r.score for r in self.rows]))

    @property
    def pearson(self) -> float:
        return pearson([r.gold for r in self.rows], [r.score for r in self.rows])

    @property
    def mae(self) -> float:
        return statistics.fmean(abs(r.gold - r.score) for r in self.rows)

    @property
    def pairwise(self) -> float:
        """Share of same-question pairs whose gold differs by ≥ 3 that the grader orders right."""
        right = total = 0
        by_question = itertools.groupby(
            sorted(self.rows, key=lambda r: r.question), key=lambda r: r.question
        )
        for _, group in by_question:
            for a, b in itertools.combinations(list(group), 2):
                if abs(a.gold - b.gold) >= PAIR_GAP:
                    total += 1
                    right += (a.score - b.score) * (a.gold - b.gold) > 0
        return right / total if total else math.nan

    @property
    def adversarial_low(self) -> float:
        """Share of adversarial answers (stuffing, injection, off-topic, fluff) scored ≤ 3."""
        return _share([r.score <= 3 for r in self.rows if r.kind in ADVERSARIAL])

    @property
    def strong_high(self) -> float:
        """Share of strong answers scored ≥ 7."""
        return _share([r.score >= 7 for r in self.rows if r.kind == "strong"])

    def summary(self) -> dict[str, Any]:
        return {
            "answers": len(self.rows),
            "spearman": round(self.spearman, 3),
            "pearson": round(self.pearson, 3),
            "mae": round(self.mae, 2),
            "pairwise": round(self.pairwise, 3),
            "adversarial_le_3": round(self.adversarial_low, 3),
            "strong_ge_7": round(self.strong_high, 3),
        }


async def evaluate(labelled: LabelledSet, bank: Bank, grader: Grader) -> Report:
    report = Report()
    for lq in labelled.questions:
        question = question_for(lq, bank)
        for answer in lq.answers:
            grade = await grader.grade(question, answer.text)
            report.rows.append(Scored(lq.id, answer.id, answer.kind, answer.gold, grade.score))
    return report


def pearson(xs: Sequence[float], ys: Sequence[float]) -> float:
    if len(xs) < 2:
        return math.nan
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    return sxy / math.sqrt(sxx * syy) if sxx and syy else math.nan


def _ranks(values: Sequence[float]) -> list[float]:
    """Ranks with ties sharing their average rank (as Spearman's rho needs)."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def _share(flags: list[bool]) -> float:
    return sum(flags) / len(flags) if flags else math.nan
