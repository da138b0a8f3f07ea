"""Offline grader benchmark: quality on labelled sets, load time and latency on one core.

    .venv/bin/python bench/grading.py [LABELLED.yaml ...]

Defaults to ../shared/eval/dev.yaml and bench/heldout.yaml. Prints one line per set, then load
and latency numbers. Targets (issue 4): Spearman ≥ 0.80, pairwise ≥ 0.90, adversarial ≤ 3 in
≥ 90%, strong ≥ 7 in ≥ 80%; median ≤ 50 ms per answer after load; load ≤ 3 s.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.config import SHIPPED_QUESTIONS  # noqa: E402
from bot.grading.evaluate import evaluate, load_labelled, question_for  # noqa: E402
from bot.grading.offline import OfflineGrader  # noqa: E402
from bot.questions.bank import load_bank  # noqa: E402

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
    print(f"load (bank + grader): {load_s * 1000:.0f} ms")
    if timings:
        timings.sort()
        p95 = timings[int(len(timings) * 0.95)]
        print(
            f"latency per answer on one core: median {statistics.median(timings) * 1000:.2f} ms, "
            f"p95 {p95 * 1000:.2f} ms, max {timings[-1] * 1000:.2f} ms ({len(timings)} gradings)"
        )


if __name__ == "__main__":
    main([Path(p) for p in sys.argv[1:]] or DEFAULT_SETS)
