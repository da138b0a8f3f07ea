"""Which question a channel gets next: no repeat until every eligible question has been used,
a new order each cycle, and no two days running from the same category while others remain."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence

from bot.questions.schema import Question


def next_question(
    eligible: Sequence[Question],
    history: Sequence[str],
    *,
    seed: str,
    last_category: str | None = None,
) -> Question:
    """Pick from `eligible` given the channel's past question ids (`history`, oldest first)."""
    if not eligible:
        raise ValueError("no eligible questions")
    ids = {q.id for q in eligible}
    uses = Counter(qid for qid in history if qid in ids)
    fewest = min(uses.get(q.id, 0) for q in eligible)
    candidates = [q for q in eligible if uses.get(q.id, 0) == fewest]
    # The cycle number makes each pass through the bank a different order.
    cycle = fewest

    def order(q: Question) -> str:
        return hashlib.sha256(f"{seed}:{cycle}:{q.id}".encode()).hexdigest()

    fresh_category = [q for q in candidates if q.category != last_category]
    return min(fresh_category or candidates, key=order)
