"""The offline grader measured on labelled answers, with thresholds a little below the targets
(Spearman 0.80, pairwise 0.90, adversarial ≤ 3 in 90%, strong ≥ 7 in 80%)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.config import SHIPPED_QUESTIONS
from bot.grading.evaluate import Report, Scored, evaluate, load_labelled
from bot.grading.offline import OfflineGrader
from bot.questions.bank import load_bank

ROOT = Path(__file__).resolve().parents[2]
SETS = {
    "dev": ROOT.parent / "shared" / "eval" / "dev.yaml",
    "heldout": ROOT / "bench" / "heldout.yaml",
}


@pytest.mark.parametrize("name", sorted(SETS))
def test_offline_grader_agrees_with_the_gold_scores(name: str) -> None:
    path = SETS[name]
    if not path.exists():
        pytest.skip(f"{path} is not here (it lives in the shared folder beside the repo)")
    bank = load_bank([SHIPPED_QUESTIONS])
    report = asyncio.run(evaluate(load_labelled(path), bank, OfflineGrader(bank)))
    assert report.spearman >= 0.78
    assert report.pairwise >= 0.88
    assert report.adversarial_low >= 0.85
    assert report.strong_high >= 0.75


def _report(rows: list[tuple[str, str, float, float]]) -> Report:
    return Report([Scored(q, f"{q}-{i}", kind, gold, score)
                   for i, (q, kind, gold, score) in enumerate(rows)])  # fmt: skip


def test_spearman_shares_ranks_between_ties() -> None:
    # gold ranks 3, 1, 2; score ranks 2.5, 1, 2.5 (the tie shares its ranks)
    report = _report([("q", "strong", 9, 8), ("q", "weak", 1, 2), ("q", "good", 7, 8)])
    assert report.spearman == pytest.approx(0.866, abs=0.001)


def test_pairwise_counts_only_same_question_pairs_three_apart() -> None:
    report = _report([
        ("a", "strong", 9, 8), ("a", "weak", 2, 9),   # a pair, ordered wrong
        ("a", "good", 8, 1),                          # wrong with weak; 1 from strong
        ("b", "strong", 9, 7), ("b", "weak", 1, 2),   # a pair, ordered right
    ])  # fmt: skip
    assert report.pairwise == pytest.approx(1 / 3)


def test_adversarial_and_strong_shares() -> None:
    report = _report([
        ("a", "stuffing", 0, 2), ("a", "injection", 1, 5), ("a", "strong", 9, 8),
        ("a", "strong", 9, 6),
    ])  # fmt: skip
    assert report.adversarial_low == 0.5 and report.strong_high == 0.5
