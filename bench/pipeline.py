"""The core's cost per answer, in-process: storing thread answers, then grading them and
sending their feedback, with the in-memory platform and the offline grader.

    .venv/bin/python bench/pipeline.py [--answers 500] [--database sqlite|postgresql]

Prints the process's CPU time per answer for each phase and, as the reference measured in the
same run, for one bare transaction (BEGIN, SELECT 1, COMMIT) through the same sessions, so the
ratio holds on a noisy machine. No platform, no HTTP: what is left of an answer's cost in
`bench/slack_ack.py` beyond these numbers belongs to the platform path.
PostgreSQL needs the local service and a database `opsdrill_bench` (`createdb opsdrill_bench`).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.storage import migrate  # noqa: E402
from bot.storage.db import make_engine  # noqa: E402
from tests.flow.conftest import MONDAY  # noqa: E402
from tests.flow.harness import Harness, partial_answer, strong_answer  # noqa: E402

PG_URL = "postgresql://postgres@127.0.0.1:5432/opsdrill_bench"


async def empty_postgres(url: str) -> None:
    """Drop everything in the bench database, so each run starts from an empty schema."""
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
        await migrate.upgrade(engine)
    finally:
        await engine.dispose()


async def per_answer(n: int, url: str) -> dict[str, float]:
    """CPU milliseconds per answer for each phase, and for one bare transaction."""
    bot = await Harness.start(url, now=MONDAY)
    try:
        await bot.configure()
        await bot.tick(MONDAY)
        question = await bot.question()
        texts = [strong_answer(question), partial_answer(question)]
        people = [bot.platform.user(f"U{i:05d}") for i in range(n)]

        started = time.process_time()
        for i, person in enumerate(people):
            await bot.platform.answer(person, bot.thread(), f"{texts[i % 2]} (take {i})")
        await bot.app.background.idle()
        stored = time.process_time()
        graded = await bot.grade_all()
        await bot.settle()
        done = time.process_time()
        assert graded == n, f"graded {graded} of {n}"

        for _ in range(n):
            async with bot.app.sessions.begin() as session:
                await session.execute(text("SELECT 1"))
        bare = time.process_time()
    finally:
        await bot.stop()
    return {
        "store an answer": (stored - started) * 1000 / n,
        "grade it and send its feedback": (done - stored) * 1000 / n,
        "one bare transaction (reference)": (bare - done) * 1000 / n,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answers", type=int, default=500)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    args = parser.parse_args()
    if args.database == "postgresql":
        url = PG_URL
        asyncio.run(empty_postgres(url))
    else:
        url = f"sqlite:///{tempfile.mkdtemp(prefix='opsdrill-bench-')}/pipeline.db"
    costs = asyncio.run(per_answer(args.answers, url))
    reference = costs["one bare transaction (reference)"]
    print(f"{args.answers} answers, {args.database}, offline grader, in-memory platform\n")
    print("| per answer | CPU ms | bare transactions |")
    print("| --- | --- | --- |")
    for phase, ms in costs.items():
        print(f"| {phase} | {ms:.2f} | {ms / reference:.1f} |")


if __name__ == "__main__":
    main()
