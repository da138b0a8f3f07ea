"""LLM grading under a burst: answers to one round graded through the real Anthropic SDK against
a local fake Messages API whose every call takes `--latency` seconds, with the app's grading
pump running (SQLite in a temporary directory, the in-memory chat platform, the real clock).

    PYTHONPATH=. .venv/bin/python bench/grading_llm.py [--answers 300] [--latency 1]
        [--concurrency 16] [--overload 4]

First run: prints the time from the first answer to the last author told, against the ideal
answers × latency / OPSDRILL_LLM_CONCURRENCY, and the ratio (target ≤ 1.25). Second run: the
fake answers 529 (Retry-After: 1) for the first `--overload` seconds; prints how the call limit
moved and what the fake saw. Both check that every author was told exactly once.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import time as clock_time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402

from adapters.console.memory import MemoryAdapter  # noqa: E402
from bot.app import App  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.grading.limit import AdaptiveLimit  # noqa: E402
from bot.storage.models import Grade  # noqa: E402
from tests.fakes.anthropic_api import FakeAnthropic, status  # noqa: E402

TARGET = 1.25
ADMIN = "U-admin"


@dataclass
class Run:
    elapsed: float
    stored: float
    """Seconds it took to store every answer (grading goes on meanwhile)."""
    told: Counter[str]
    provisional: int
    requests: int
    peak: int
    limit: AdaptiveLimit
    timeline: list[tuple[float, int, int]] = field(default_factory=list)
    """(seconds since the first answer, the call limit, calls the fake was answering)."""


async def burst(*, answers: int, latency: float, concurrency: int, overload: float = 0.0) -> Run:
    fake = FakeAnthropic(latency=latency)
    await fake.start()
    tmp = tempfile.TemporaryDirectory()
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        DATABASE_URL=f"sqlite:///{tmp.name}/bench.db",
        ANTHROPIC_API_KEY="sk-bench-not-a-key",
        ANTHROPIC_BASE_URL=fake.url,
        OPSDRILL_LLM_CONCURRENCY=concurrency,
        OPSDRILL_GRADER_TIMEOUT=30,
        OPSDRILL_ADMINS=ADMIN,
    )
    platform = MemoryAdapter(admins={ADMIN})
    app = await App.create(settings, adapters=[platform])
    limit = app.grading.llm_limit
    assert limit is not None, "the LLM grader is not in use"
    try:
        await app.start(schedule=False, workers=True)
        channel = platform.channel("C1")
        await app.channels.ensure(
            channel, name="bench", post_time=clock_time(9), timezone="UTC", weekdays="daily",
            window_minutes=24 * 60 - 1,
        )  # fmt: skip
        await app.rounds.post_now(channel)
        thread = platform.posts()[-1].message
        assert thread is not None
        question = await app.views.question_for_thread(thread)
        assert question is not None
        text = " ".join(p.phrasings[0].rstrip(".") + "." for p in question.rubric)
        people = [platform.user(f"U{n:04d}", f"p{n}") for n in range(answers)]

        started = time.monotonic()
        if overload:
            refuse = status(529, "overloaded_error", {"retry-after": "1"})

            def overloaded_then_fine(body: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
                if time.monotonic() - started < overload:
                    return refuse(body)
                return fake.grade_by_keywords(body)

            fake.fallback = overloaded_then_fine
        timeline: list[tuple[float, int, int]] = []
        sampling = asyncio.ensure_future(_sample(started, limit, fake, timeline))
        for person in people:
            await platform.answer(person, thread, f"{text} ({person.user_id})")
        stored = time.monotonic() - started
        while len(_told(platform)) < answers:  # noqa: ASYNC110 (the platform has no event)
            await asyncio.sleep(0.05)
        elapsed = time.monotonic() - started
        sampling.cancel()
        await asyncio.sleep(0.5)  # anything sent twice would show by now
        await app.grading.feedback.idle()
        told = _told(platform)
        async with app.sessions() as session:
            provisional = int(
                await session.scalar(
                    select(func.count()).select_from(Grade).where(Grade.provisional)
                )
                or 0
            )
        requests = len(fake.requests)
        return Run(elapsed, stored, told, provisional, requests, fake.peak, limit, timeline)
    finally:
        await app.stop()
        await fake.stop()
        tmp.cleanup()


def _told(platform: MemoryAdapter) -> Counter[str]:
    """Feedback notices each person got (one pass over what was sent: the bench must not load
    the event loop it measures)."""
    return Counter(
        s.private_to.user_id
        for s in platform.sent
        if s.kind == "reply" and s.private_to is not None and s.card is not None
    )


async def _sample(
    started: float, limit: AdaptiveLimit, fake: FakeAnthropic, into: list[tuple[float, int, int]]
) -> None:
    while True:
        into.append((time.monotonic() - started, limit.current, fake.in_flight))
        await asyncio.sleep(0.25)


def _check_told(run: Run, answers: int) -> bool:
    lost = answers - len(run.told)
    doubled = sum(1 for n in run.told.values() if n > 1)
    print(f"  feedback: {len(run.told)}/{answers} authors told, {lost} lost, {doubled} told twice")
    return lost == 0 and doubled == 0


async def main(args: argparse.Namespace) -> int:
    ideal = args.answers * args.latency / args.concurrency
    print(
        f"{args.answers} answers, {args.latency:g} s per LLM call, "
        f"OPSDRILL_LLM_CONCURRENCY={args.concurrency}"
    )
    run = await burst(answers=args.answers, latency=args.latency, concurrency=args.concurrency)
    ratio = run.elapsed / ideal
    verdict = "ok" if ratio <= TARGET else "OVER TARGET"
    print(f"  achieved {run.elapsed:.2f} s; ideal {ideal:.2f} s; ratio {ratio:.3f} "
          f"(target <= {TARGET}: {verdict})")  # fmt: skip
    print(f"  the fake saw {run.requests} requests, at most {run.peak} at once; "
          f"the answers were all stored after {run.stored:.2f} s")  # fmt: skip
    good = _check_told(run, args.answers) and ratio <= TARGET

    print(f"\nthe same, with the API answering 529 (Retry-After: 1) for {args.overload:g} s")
    run = await burst(
        answers=args.answers, latency=args.latency, concurrency=args.concurrency,
        overload=args.overload,
    )  # fmt: skip
    print(f"  achieved {run.elapsed:.2f} s; the fake saw {run.requests} requests, "
          f"at most {run.peak} at once; {run.provisional} provisional grade(s)")  # fmt: skip
    start = run.limit.changes[0].at if run.limit.changes else 0.0
    moves = ", ".join(f"{c.at - start:+.1f}s→{c.limit}" for c in run.limit.changes)
    print(f"  limit moves (from the first): {moves or 'none'}")
    print("  second  limit  in flight at the fake")
    last = -1.0
    for at, limit, in_flight in run.timeline:
        if at - last >= 1.0:
            print(f"  {at:6.1f}  {limit:5d}  {in_flight:5d}")
            last = at
    good = _check_told(run, args.answers) and good
    return 0 if good else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--answers", type=int, default=300)
    parser.add_argument("--latency", type=float, default=1.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--overload", type=float, default=4.0)
    sys.exit(asyncio.run(main(parser.parse_args())))
