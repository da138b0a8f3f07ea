"""Answers written to game the offline grader earn little, on every question of the bank: the
variants come from `bot.grading.adversarial`, made from each question's own model answer."""

from __future__ import annotations

import random
from collections import defaultdict

import pytest

from bot.config import SHIPPED_QUESTIONS
from bot.grading.adversarial import variants
from bot.grading.base import Flag, Verdict
from bot.grading.offline import OfflineGrader
from bot.questions.bank import load_bank

BANK = load_bank([SHIPPED_QUESTIONS])
QUESTIONS = list(BANK)
GRADER = OfflineGrader(QUESTIONS)
SHARE = 0.95


def _scores_by_kind() -> dict[str, list[float]]:
    scores: dict[str, list[float]] = defaultdict(list)
    for variant in variants(QUESTIONS, seed=7):
        question = BANK.get(variant.question_id)
        assert question is not None
        scores[variant.kind].append(GRADER.grade_now(question, variant.text).score)
    return scores


SCORES = _scores_by_kind()


@pytest.mark.parametrize("kind", sorted(SCORES))
def test_gaming_variants_score_at_most_3_of_10(kind: str) -> None:
    scores = SCORES[kind]
    assert len(scores) >= len(QUESTIONS) - 1
    low = sum(1 for s in scores if s <= 3) / len(scores)
    assert low >= SHARE, f"{kind}: {low:.0%} at or below 3/10"


def test_every_kind_of_gaming_is_generated() -> None:
    kinds = {k.split("/")[0] for k in SCORES}
    assert kinds == {"salad", "soup", "negated", "borrowed", "padded", "injected"}
    assert {k for k in SCORES if k.startswith("soup/")} >= {
        "soup/comma", "soup/space", "soup/newline", "soup/bullet", "soup/wrapped",
    }  # fmt: skip


def test_model_answers_still_score_at_least_8_and_weak_answers_at_most_4() -> None:
    model = [GRADER.grade_now(q, q.model_answer).score for q in QUESTIONS]
    weak = [GRADER.grade_now(q, q.weak_answer.text).score for q in QUESTIONS]
    assert sum(1 for s in model if s >= 8) / len(model) >= SHARE
    assert sum(1 for s in weak if s <= 4) / len(weak) >= SHARE


def test_the_same_words_shuffled_earn_nothing_that_the_sentence_earned() -> None:
    rng = random.Random(3)
    for question in QUESTIONS[:40]:
        words = question.model_answer.split()
        rng.shuffle(words)
        grade = GRADER.grade_now(question, " ".join(words))
        assert grade.score <= 3, (question.id, grade.score)
        if grade.score == 0:
            assert Flag.UNREADABLE in grade.flags or Flag.KEYWORD_LIST in grade.flags


@pytest.mark.parametrize(
    "frame",
    [
        "It is wrong to say that {}.",
        "Some people claim that {}, but that is a myth.",
        "Nobody serious believes that {}.",
    ],
)
def test_a_sentence_that_denies_a_point_does_not_earn_it(frame: str) -> None:
    question = BANK.get("drift-types")
    assert question is not None
    said = question.point("concept-drift").phrasings[2].rstrip(".")
    affirmed = GRADER.grade_now(question, f"{said}.")
    denied = GRADER.grade_now(question, frame.format(said[0].lower() + said[1:]))
    assert _verdict(affirmed, "concept-drift") is not Verdict.MISSED
    assert _verdict(denied, "concept-drift") is Verdict.MISSED


def test_an_answer_that_negates_every_claim_earns_little() -> None:
    question = BANK.get("drift-types")
    assert question is not None
    answer = (
        "Data drift is not a change in the input distribution compared with training. "
        "Concept drift is not a change in how features map to the label. "
        "Prediction drift is not a shift in the distribution of the model's outputs. "
        "You cannot see prediction drift without labels. "
        "Data drift is never a reason to look at concept drift."
    )
    assert GRADER.grade_now(question, answer).score <= 3


def test_an_answer_to_another_question_is_flagged_off_topic() -> None:
    question = BANK.get("drift-types")
    assert question is not None
    sibling = next(q for q in QUESTIONS if q.category == question.category and q.id != question.id)
    grade = GRADER.grade_now(question, sibling.model_answer)
    assert grade.score <= 3 and Flag.OFF_TOPIC in grade.flags
    assert Flag.OFF_TOPIC not in GRADER.grade_now(question, question.model_answer).flags


def _verdict(grade: object, point_id: str) -> Verdict:
    return next(p.verdict for p in grade.points if p.point_id == point_id)  # type: ignore[attr-defined]
