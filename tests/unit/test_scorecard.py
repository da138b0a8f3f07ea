"""The mock interview scorecard's verdict, and the follow-ups it probes with: no I/O."""

from __future__ import annotations

import pytest

from bot.config import SHIPPED_QUESTIONS
from bot.grading.offline import OfflineGrader
from bot.questions.bank import load_bank
from bot.questions.schema import Category
from bot.services import scorecard
from bot.services.interview_plan import next_probe, parse_request
from bot.services.scorecard import Recommendation, TurnResult

BANK = load_bank([SHIPPED_QUESTIONS])


@pytest.mark.parametrize(
    ("average", "expected"),
    [
        (10.0, Recommendation.STRONG_HIRE), (8.0, Recommendation.STRONG_HIRE),
        (7.9, Recommendation.HIRE), (6.5, Recommendation.HIRE),
        (6.4, Recommendation.LEAN_NO_HIRE), (4.5, Recommendation.LEAN_NO_HIRE),
        (4.4, Recommendation.NO_HIRE), (0.0, Recommendation.NO_HIRE),
    ],
)  # fmt: skip
def test_the_verdict_follows_the_average(average: float, expected: Recommendation) -> None:
    assert scorecard.recommend(average) is expected


def test_a_scorecard_always_has_three_next_steps_and_skips_count_zero() -> None:
    questions = list(BANK)[:2]
    grade = OfflineGrader(BANK).grade_now(questions[0], questions[0].rubric[0].phrasings[0])
    results = [
        TurnResult(0, questions[0], "graded", grade.score, tuple(grade.points_json())),
        TurnResult(1, questions[1], "skipped", 0.0),
    ]
    card = scorecard.build(results, complete=True)
    assert card.average == round(grade.score / 2, 1)
    assert len(card.next_steps) == 3
    assert any(step.startswith("Study: ") for step in card.next_steps)


def test_nothing_answered_means_no_verdict() -> None:
    card = scorecard.build([TurnResult(0, next(iter(BANK)), "unanswered")], complete=False)
    assert card.recommendation is None and card.average is None


def test_design_questions_probe_a_missed_aspect_first() -> None:
    grader = OfflineGrader(BANK)
    for q in BANK:
        if q.category is not Category.SYSTEM_DESIGN:
            continue
        probe = next_probe(q, grader.grade_now(q, q.weak_answer.text).points, [])
        assert probe is not None and q.point(probe["point"]).aspect is not None, q.id


def test_mock_requests_read_in_any_order() -> None:
    assert parse_request(["4", "monitoring"]) == (Category.MONITORING, 4, False)
    assert parse_request(["mix"]) == (None, 3, True)
    assert parse_request(["7"]) == "7 questions is not an option: choose 1 to 6"
