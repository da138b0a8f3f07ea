"""Which question a channel gets next.

In order of precedence: no question repeats until every eligible one has been used (then a new
cycle starts, in a new order); no two days running come from the same category while another
category is available; and the day's plan (e.g. something lighter on Monday, a design question on
Friday) is followed when an unused question fits it. The order is a hash of the seed, so it is
deterministic for tests and different for every channel.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Sequence

from bot.questions.schema import Category, Difficulty, Question
from bot.schedule import WEEKDAYS

DEFAULT_PLAN = "mon:foundation,fri:system-design"


def parse_plan(spec: str) -> dict[int, str]:
    """`mon:foundation,fri:system-design` → {0: "foundation", 4: "system-design"}.
    A day's value is a difficulty or a category."""
    allowed = {d.value for d in Difficulty} | {c.value for c in Category}
    plan: dict[int, str] = {}
    for part in filter(None, re.split(r"[,\s]+", spec.strip().lower())):
        day, _, value = part.partition(":")
        if day not in WEEKDAYS or value not in allowed:
            raise ValueError(
                f"can't read {part!r}: use day:value with a day of {', '.join(WEEKDAYS)} and a "
                f"difficulty or category, e.g. {DEFAULT_PLAN}"
            )
        plan[WEEKDAYS.index(day)] = value
    return plan


def fits(question: Question, wanted: str) -> bool:
    return wanted in (question.difficulty.value, question.category.value)


def next_question(
    eligible: Sequence[Question],
    history: Sequence[str],
    *,
    seed: str,
    last_category: str | None = None,
    wanted: str | None = None,
) -> Question:
    """Pick from `eligible` given the channel's past question ids (`history`, oldest first)
    and what the day's plan asks for (`wanted`: a difficulty or category)."""
    if not eligible:
        raise ValueError("no eligible questions")
    ids = {q.id for q in eligible}
    uses = Counter(qid for qid in history if qid in ids)
    fewest = min(uses.get(q.id, 0) for q in eligible)
    candidates = [q for q in eligible if uses.get(q.id, 0) == fewest]
    candidates = [q for q in candidates if q.category != last_category] or candidates
    if wanted:
        candidates = [q for q in candidates if fits(q, wanted)] or candidates

    def order(q: Question) -> str:
        # `fewest` numbers the cycle, so each pass through the bank has its own order.
        return hashlib.sha256(f"{seed}:{fewest}:{q.id}".encode()).hexdigest()

    return min(candidates, key=order)
