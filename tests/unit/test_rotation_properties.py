"""Rotation properties over arbitrary banks, seeds and day plans (hypothesis)."""

from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.config import SHIPPED_QUESTIONS
from bot.questions.bank import Bank, load_bank
from bot.questions.rotation import fits, next_question
from bot.questions.schema import Category, Difficulty, Question

TEMPLATE = load_bank([SHIPPED_QUESTIONS]).get("retrain")
assert TEMPLATE is not None

banks = st.lists(
    st.tuples(st.sampled_from(list(Category)), st.sampled_from(list(Difficulty))),
    min_size=1,
    max_size=30,
).map(
    lambda specs: [
        TEMPLATE.model_copy(update={"id": f"q{i}", "category": c, "difficulty": d})
        for i, (c, d) in enumerate(specs)
    ]
)
plans = st.dictionaries(
    st.integers(0, 6),
    st.sampled_from([*(d.value for d in Difficulty), *(c.value for c in Category)]),
)


def _play(bank: list[Question], days: int, seed: str, plan: dict[int, str]) -> list[Question]:
    history: list[str] = []
    picked: list[Question] = []
    for day in range(days):
        q = next_question(
            bank, history, seed=seed,
            last_category=picked[-1].category if picked else None,
            wanted=plan.get(day % 7),
        )  # fmt: skip
        history.append(q.id)
        picked.append(q)
    return picked


@settings(max_examples=150, deadline=None)
@given(bank=banks, seed=st.text(max_size=8), plan=plans, cycles=st.integers(1, 3))
def test_every_question_once_per_cycle(
    bank: list[Question], seed: str, plan: dict[int, str], cycles: int
) -> None:
    n = len(bank)
    picked = _play(bank, n * cycles, seed, plan)
    for c in range(cycles):
        cycle = [q.id for q in picked[c * n : (c + 1) * n]]
        assert sorted(cycle) == sorted(q.id for q in bank)


@settings(max_examples=150, deadline=None)
@given(bank=banks, seed=st.text(max_size=8), plan=plans)
def test_no_same_category_two_days_running_while_another_remains(
    bank: list[Question], seed: str, plan: dict[int, str]
) -> None:
    picked = _play(bank, 2 * len(bank), seed, plan)
    uses: Counter[str] = Counter()
    for i, q in enumerate(picked):
        if i and q.category == picked[i - 1].category:
            fewest = min(uses[b.id] for b in bank)
            remaining = [b for b in bank if uses[b.id] == fewest]
            assert all(b.category == q.category for b in remaining)
        uses[q.id] += 1


@settings(max_examples=150, deadline=None)
@given(bank=banks, seed=st.text(max_size=8), plan=plans)
def test_the_day_plan_is_followed_whenever_an_unused_question_fits(
    bank: list[Question], seed: str, plan: dict[int, str]
) -> None:
    picked = _play(bank, len(bank), seed, plan)
    used: set[str] = set()
    for day, q in enumerate(picked):
        wanted = plan.get(day % 7)
        last = picked[day - 1].category if day else None
        open_ = [b for b in bank if b.id not in used]
        spread = [b for b in open_ if b.category != last] or open_
        if wanted and any(fits(b, wanted) for b in spread):
            assert fits(q, wanted)
        used.add(q.id)


@settings(max_examples=100, deadline=None)
@given(
    bank=banks,
    cats=st.sets(st.sampled_from(list(Category))),
    diffs=st.sets(st.sampled_from(list(Difficulty))),
)
def test_eligibility_filters_are_respected(
    bank: list[Question], cats: set[Category], diffs: set[Difficulty]
) -> None:
    eligible = Bank({q.id: q for q in bank}).eligible(categories=cats, difficulties=diffs)
    assert {q.id for q in eligible} == {
        q.id for q in bank
        if (not cats or q.category in cats) and (not diffs or q.difficulty in diffs)
    }  # fmt: skip


def test_same_seed_same_order_and_a_new_order_each_cycle() -> None:
    bank = list(load_bank([SHIPPED_QUESTIONS]))
    first = [q.id for q in _play(bank, len(bank) * 2, "channel:1", {})]
    again = [q.id for q in _play(bank, len(bank) * 2, "channel:1", {})]
    assert first == again
    assert first[: len(bank)] != first[len(bank) :]
