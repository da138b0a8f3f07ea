"""The core's cost per answer, in-process: storing thread answers, then grading them and
sending their feedback, with the in-memory platform and the offline grader.

    .venv/bin/python bench/pipeline.py [--answers 500] [--database sqlite|postgresql]

Prints the process's CPU time, SQL statements and commits per answer for each phase and, as
the reference measured in the same run, for one bare transaction (BEGIN, SELECT 1, COMMIT)
through the same sessions, so the ratio holds on a noisy machine; statements and commits do not
drift with the machine's speed at all. No platform, no HTTP: what is left of an answer's cost in
`bench/slack_ack.py` beyond these numbers belongs to the platform path.
PostgreSQL runs on a scratch database on the local service (`OPSDRILL_BENCH_POSTGRES_URL`
names the server), dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import event, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.fanout import drop_database, fresh_database  # noqa: E402
from tests.flow.conftest import MONDAY  # noqa: E402
from tests.flow.harness import Harness, partial_answer, strong_answer  # noqa: E402


async def per_answer(n: int, url: str) -> dict[str, tuple[float, float, float]]:
    """CPU milliseconds, SQL statements and commits per answer for each phase, and for one
    bare transaction."""
    bot = await Harness.start(url, now=MONDAY)
    counts = {"statements": 0, "commits": 0}

    def statement(*_: object) -> None:
        counts["statements"] += 1

    def commit(*_: object) -> None:
        counts["commits"] += 1

    engines = [e.sync_engine for e in (bot.app.engine, bot.app.receipts_engine) if e is not None]
    for engine in engines:
        event.listen(engine, "before_cursor_execute", statement)
        event.listen(engine, "commit", commit)
    seen: dict[str, tuple[int, int]] = {}

    def tally(phase: str) -> None:
        seen[phase] = (counts["statements"], counts["commits"])
        counts.update(statements=0, commits=0)

    try:
        await bot.configure()
        await bot.tick(MONDAY)
        question = await bot.question()
        texts = [strong_answer(question), partial_answer(question)]
        people = [bot.platform.user(f"U{i:05d}") for i in range(n)]

        started = time.process_time()
        tally("before")
        for i, person in enumerate(people):
            await bot.platform.answer(person, bot.thread(), f"{texts[i % 2]} (take {i})")
        await bot.app.background.idle()
        stored = time.process_time()
        tally("store an answer")
        graded = await bot.grade_all()
        await bot.settle()
        done = time.process_time()
        tally("grade it and send its feedback")
        assert graded == n, f"graded {graded} of {n}"

        for _ in range(n):
            async with bot.app.sessions.begin() as session:
                await session.execute(text("SELECT 1"))
        bare = time.process_time()
        tally("one bare transaction (reference)")
    finally:
        await bot.stop()
    cpu = {
        "store an answer": stored - started,
        "grade it and send its feedback": done - stored,
        "one bare transaction (reference)": bare - done,
    }
    return {
        phase: (ms * 1000 / n, seen[phase][0] / n, seen[phase][1] / n) for phase, ms in cpu.items()
    }


async def measure(n: int, database: str, scratch: Path) -> dict[str, tuple[float, float, float]]:
    url, pg_name = await fresh_database(database, scratch)
    try:
        return await per_answer(n, url)
    finally:
        if pg_name is not None:
            await drop_database(pg_name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answers", type=int, default=500)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="opsdrill-pipeline-"))
    costs = asyncio.run(measure(args.answers, args.database, scratch))
    reference = costs["one bare transaction (reference)"][0]
    print(f"{args.answers} answers, {args.database}, offline grader, in-memory platform\n")
    print("| per answer | CPU ms | bare transactions | SQL statements | commits |")
    print("| --- | --- | --- | --- | --- |")
    for phase, (ms, statements, commits) in costs.items():
        print(f"| {phase} | {ms:.2f} | {ms / reference:.1f} | {statements:.1f} | {commits:.2f} |")


if __name__ == "__main__":
    main()
