"""Offline grader benchmark: quality on labelled sets, load time and latency on one core.

    .venv/bin/python bench/grading.py [LABELLED.yaml ...]

Defaults to ../shared/eval/dev.yaml and bench/heldout.yaml. Prints one line per labelled set,
then a table of gaming variants made from every bank question's model answer
(`bot.grading.adversarial`: salad, term soup with each separator, denials, borrowed, padded,
injected) with the share at or below 3/10, the bank's model answers (share ≥ 8) and weak answers
(share ≤ 4), then load time, latency and the process's peak RSS.

Targets (issue 12): Spearman ≥ 0.90 and pairwise ≥ 0.95 on each labelled set; every gaming
variant ≤ 3/10 in ≥ 95%; model answers ≥ 8 and weak answers ≤ 4 in ≥ 95%; median ≤ 50 ms per
answer on one core after load, load ≤ 3 s, RSS ≤ 400 MB.
"""

from __future__ import annotations

import asyncio
import os
import resource
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.config import SHIPPED_QUESTIONS  # noqa: E402
from bot.grading.adversarial import variants  # noqa: E402
from bot.grading.evaluate import evaluate, load_labelled, question_for  # noqa: E402
from bot.grading.offline import OfflineGrader  # noqa: E402
from bot.questions.bank import load_bank  # noqa: E402
from bot.questions.schema import Question  # noqa: E402

DEFAULT_SETS = [ROOT.parent / "shared" / "eval" / "dev.yaml", ROOT / "bench" / "heldout.yaml"]


def main(paths: list[Path]) -> None:
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core, as the target says
    started = time.perf_counter()
    bank = load_bank([SHIPPED_QUESTIONS])
    grader = OfflineGrader(bank)
    load_s = time.perf_counter() - started
    print(f"grader {grader.id}; bank of {len(bank)} questions")
    timings: list[float] = []
    for path in paths:
        if not path.exists():
            print(f"{path}: not found, skipped")
            continue
        labelled = load_labelled(path)
        report = asyncio.run(evaluate(labelled, bank, grader))
        s = report.summary()
        print(
            f"{path.name:14} n={s['answers']:3}  spearman={s['spearman']:.3f}  "
            f"pearson={s['pearson']:.3f}  mae={s['mae']:.2f}  pairwise={s['pairwise']:.3f}  "
            f"adversarial<=3={s['adversarial_le_3']:.3f}  strong>=7={s['strong_ge_7']:.3f}"
        )
        for lq in labelled.questions:
            question = question_for(lq, bank)
            for answer in lq.answers:
                for _ in range(5):
                    t = time.perf_counter()
                    grader.grade_now(question, answer.text)
                    timings.append(time.perf_counter() - t)
    _gaming(grader, list(bank))
    print(f"load (bank + grader): {load_s * 1000:.0f} ms")
    if timings:
        timings.sort()
        p95 = timings[int(len(timings) * 0.95)]
        print(
            f"latency per answer on one core: median {statistics.median(timings) * 1000:.2f} ms, "
            f"p95 {p95 * 1000:.2f} ms, max {timings[-1] * 1000:.2f} ms ({len(timings)} gradings)"
        )
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of this process (bank, grader, labelled sets): {peak_mb:.0f} MB")


def _gaming(grader: OfflineGrader, questions: list[Question]) -> None:
    by_id = {q.id: q for q in questions}
    scores: dict[str, list[float]] = defaultdict(list)
    for variant in variants(questions):
        scores[variant.kind].append(
            grader.grade_now(by_id[variant.question_id], variant.text).score
        )
    print("\n| answers | n | target | met by | median score |\n| --- | --- | --- | --- | --- |")
    for kind, values in scores.items():
        _row(kind, values, "≤ 3", [v <= 3 for v in values])
    model = [grader.grade_now(q, q.model_answer).score for q in questions]
    weak = [grader.grade_now(q, q.weak_answer.text).score for q in questions]
    _row("bank model answers", model, "≥ 8", [v >= 8 for v in model])
    _row("bank weak answers", weak, "≤ 4", [v <= 4 for v in weak])
    print()


def _row(name: str, values: list[float], target: str, met: list[bool]) -> None:
    share = sum(met) / len(met)
    print(f"| {name} | {len(values)} | {target} | {share:.0%} | {statistics.median(values):.1f} |")


if __name__ == "__main__":
    main([Path(p) for p in sys.argv[1:]] or DEFAULT_SETS)
