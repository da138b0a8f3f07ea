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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from bot.questions.schema import Category, Difficulty, Question
from bot.timetable import WEEKDAYS

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
    return pick(eligible, Counter(history), seed=seed, last_category=last_category, wanted=wanted)


def pick(
    eligible: Sequence[Question],
    uses: Mapping[str, int],
    *,
    seed: str,
    last_category: str | None = None,
    wanted: str | None = None,
) -> Question:
    """`next_question` from how often the channel has had each question id (`uses`)."""
    if not eligible:
        raise ValueError("no eligible questions")
    fewest = min(uses.get(q.id, 0) for q in eligible)
    candidates = [q for q in eligible if uses.get(q.id, 0) == fewest]
    candidates = [q for q in candidates if q.category != last_category] or candidates
    if wanted:
        candidates = [q for q in candidates if fits(q, wanted)] or candidates

    def order(q: Question) -> str:
        # `fewest` numbers the cycle, so each pass through the bank has its own order.
        return hashlib.sha256(f"{seed}:{fewest}:{q.id}".encode()).hexdigest()

    return min(candidates, key=order)


@dataclass(frozen=True, slots=True)
class Rotation:
    """All that choosing a channel's next question needs from its history: how often each
    question id came up, and the category of the latest day's. Kept per channel, so a choice
    costs the same on day 1,000 as on day 1."""

    uses: Mapping[str, int] = field(default_factory=dict)
    last_date: date | None = None
    last_category: str | None = None

    @classmethod
    def of(cls, history: Iterable[tuple[str, str, date]]) -> Rotation:
        """From past rounds as (question id, category, local date), in any order."""
        rotation = cls()
        for question_id, category, day in history:
            rotation = rotation.after(question_id, category, day)
        return rotation

    def after(self, question_id: str, category: str, day: date) -> Rotation:
        """The rotation once the channel has had `question_id` on `day`."""
        uses = dict(self.uses)
        uses[question_id] = uses.get(question_id, 0) + 1
        if self.last_date is not None and day <= self.last_date:
            return Rotation(uses, self.last_date, self.last_category)
        return Rotation(uses, day, category)

    def next(
        self, eligible: Sequence[Question], *, seed: str, wanted: str | None = None
    ) -> Question:
        return pick(eligible, self.uses, seed=seed, last_category=self.last_category, wanted=wanted)
