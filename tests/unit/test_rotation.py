from __future__ import annotations

from bot.config import SHIPPED_QUESTIONS
from bot.questions.bank import load_bank
from bot.questions.rotation import next_question


def _run(days: int, seed: str = "c1") -> list[str]:
    bank = list(load_bank([SHIPPED_QUESTIONS]))
    history: list[str] = []
    last = None
    for _ in range(days):
        q = next_question(bank, history, seed=seed, last_category=last)
        history.append(q.id)
        last = q.category
    return history


def test_no_question_repeats_until_every_one_has_been_used() -> None:
    n = len(load_bank([SHIPPED_QUESTIONS]))
    history = _run(2 * n)
    assert sorted(history[:n]) == sorted(set(history[:n]))
    assert sorted(history[n:]) == sorted(history[:n])


def test_each_cycle_and_each_channel_gets_its_own_order() -> None:
    n = len(load_bank([SHIPPED_QUESTIONS]))
    history = _run(2 * n)
    assert history[:n] != history[n:]
    assert _run(n, seed="c1") != _run(n, seed="c2")


def test_two_days_running_are_not_from_the_same_category_while_others_remain() -> None:
    bank = {q.id: q for q in load_bank([SHIPPED_QUESTIONS])}
    history = _run(len(bank))
    cats = [bank[q].category for q in history]
    repeats = [i for i in range(1, len(cats)) if cats[i] == cats[i - 1]]
    assert repeats == []
