"""Card wording people read."""

from __future__ import annotations

from bot.config import SHIPPED_QUESTIONS
from bot.questions.bank import load_bank
from bot.services.cards import reveal_card


def test_a_one_point_rubric_item_says_1_pt() -> None:
    question = next(
        q for q in load_bank([SHIPPED_QUESTIONS]).eligible() if any(p.weight == 1 for p in q.rubric)
    )
    rubric = next(f.value for f in reveal_card(question, []).fields if f.label.startswith("What"))
    assert "(1 pt)" in rubric and "(1 pts)" not in rubric
