"""Slack ack latency and feedback delay under a burst of thread answers, against a bare Bolt app.

    .venv/bin/python bench/slack_ack.py [--sizes 1000,10000] [--database sqlite|postgresql]

Starts `opsdrill run --slack-mode http` and `bench/bare_bolt.py` (a Bolt app whose listener does
nothing) as processes pinned to one core, and a fake Slack Web API plus the load generator on
the other. Each burst sends N signed `message` events (distinct people, one round thread), 50 in
flight, to one app, then the same to the other (A B A B), so the ratio holds on a noisy machine.
For OpsDrill every answer is stored before its ack; the benchmark then waits until every person
got their feedback (chat.postEphemeral at the fake) and reports how long after the last ack.
Also prints OpsDrill's start-to-ready time and idle RSS.

Targets (issue 11): ack p99 ≤ 2× bare Bolt; at 10,000, all feedback within 60 s of the last ack;
idle RSS ≤ 150 MB; start-to-ready ≤ 3 s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.chaos.harness import free_port  # noqa: E402
from tests.fakes import slack_api  # noqa: E402
from tests.fakes.slack_api import FakeSlack  # noqa: E402

SECRET = "bench-signing-secret"
ADMIN = "UADMIN"
IN_FLIGHT = 50
ANSWER = (
    "Retrain when live precision on fresh labels drops past the agreed threshold, and watch "
    "feature drift with PSI as an early warning while labels lag; roll out through a canary."
)


def _pin(core: int) -> None:
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {core})


@dataclass
class App:
    name: str
    process: subprocess.Popen[bytes]
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/slack/events"

    async def ready(self, http: aiohttp.ClientSession, timeout: float = 60) -> float:  # noqa: ASYNC109
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}")
            try:
                async with http.get(f"http://127.0.0.1:{self.port}/healthz") as r:
                    if r.status == 200:
                        return time.monotonic() - started
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.02)
        raise TimeoutError(f"{self.name} not ready")

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def launch_opsdrill(fake: FakeSlack, database_url: str, log: Path) -> App:
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")},
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": database_url,
        "SLACK_BOT_TOKEN": "xoxb-bench-T1",
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": fake.api_url,
        "OPSDRILL_ADMINS": ADMIN,
        "OPSDRILL_GRADER": "offline",
        "OPSDRILL_LOG_LEVEL": "WARNING",
        "OPSDRILL_HEARTBEAT_FILE": str(log.with_suffix(".heartbeat")),
        # The fake Slack enforces no limits; Slack's own tiers would pace 10,000 ephemerals
        # over 100 minutes, which measures Slack, not OpsDrill.
        "SLACK_RATE_LIMITS": '{"chat.postEphemeral": 600000, "reactions.add": 600000}',
    }
    command = [sys.executable, "-m", "bot", "run", "--slack-mode", "http",
               "--host", "127.0.0.1", "--port", str(port)]  # fmt: skip
    process = subprocess.Popen(
        command, env=env, cwd=ROOT, stdout=log.open("ab"), stderr=subprocess.STDOUT,
        preexec_fn=lambda: _pin(0),
    )  # fmt: skip
    return App("opsdrill", process, port)


def spy_on(pid: int, output: Path) -> subprocess.Popen[bytes]:
    """py-spy (pip install py-spy) sampling `pid` until it exits, as collapsed stacks: only
    samples holding the GIL, so the event loop's idle wait and aiosqlite's idle thread do not
    count as work."""
    command = ["py-spy", "record", "--pid", str(pid), "--format", "raw", "--rate", "200", "--gil",
               "--output", str(output)]  # fmt: skip
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def launch_bare_bolt(fake: FakeSlack, log: Path) -> App:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "bare_bolt.py"), str(port), SECRET, fake.api_url],
        cwd=ROOT, stdout=log.open("ab"), stderr=subprocess.STDOUT, preexec_fn=lambda: _pin(0),
    )  # fmt: skip
    return App("bare bolt", process, port)


def signed_burst(thread_ts: str, size: int, tag: str) -> list[tuple[bytes, dict[str, str]]]:
    """`size` answers by distinct people, signed ahead of time (signing is not what we time)."""
    burst = []
    for n in range(size):
        event = slack_api.message_event(ANSWER, user=f"U{tag}{n:05d}", thread_ts=thread_ts)
        body = json.dumps(slack_api.event_callback(event, event_id=f"Ev{uuid.uuid4().hex}"))
        burst.append((body.encode(), slack_api.signed_headers(body, SECRET)))
    return burst


async def fire(http: aiohttp.ClientSession, app: App, burst: list[tuple[bytes, dict[str, str]]]
               ) -> tuple[list[float], float, int]:  # fmt: skip
    """Send the burst IN_FLIGHT at a time: per-request latencies (s), when the last ack came
    (monotonic), and how many were not 200."""
    gate = asyncio.Semaphore(IN_FLIGHT)
    latencies: list[float] = []
    failures = 0
    last = 0.0

    async def one(body: bytes, headers: dict[str, str]) -> None:
        nonlocal failures, last
        async with gate:
            start = time.monotonic()
            async with http.post(app.url, data=body, headers=headers) as response:
                await response.read()
                done = time.monotonic()
            latencies.append(done - start)
            last = max(last, done)
            failures += response.status != 200

    await asyncio.gather(*(one(b, h) for b, h in burst))
    return latencies, last, failures


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def post_question(http: aiohttp.ClientSession, app: App, fake: FakeSlack) -> str:
    form = slack_api.slash_command_form("post", user_id=ADMIN, channel_id="C1",
                                        response_url=fake.response_url())  # fmt: skip
    async with http.post(
        app.url, data=form.encode(), headers=slack_api.signed_headers(form, SECRET)
    ):
        pass
    for _ in range(500):
        posts = [c for c in fake.calls_to("chat.postMessage") if not c.params.get("thread_ts")]
        if posts and posts[-1].reply:
            return str(posts[-1].reply["ts"])
        await asyncio.sleep(0.02)
    raise TimeoutError("no question was posted")


async def feedback_done(
    fake: FakeSlack, thread_ts: str, people: set[str], within: float
) -> float | None:
    """Wait until each of `people` got feedback in the thread; when (monotonic), or None."""
    deadline = time.monotonic() + within
    seen: set[str] = set()
    scanned = 0
    while time.monotonic() < deadline:
        calls = fake.calls
        for call in calls[scanned:]:
            if call.method == "chat.postEphemeral" and call.params.get("thread_ts") == thread_ts:
                seen.add(str(call.params.get("user")))
        scanned = len(calls)
        if people <= seen:
            return time.monotonic()
        await asyncio.sleep(0.05)
    print(f"    feedback reached {len(seen & people)} of {len(people)} people", flush=True)
    return None


async def run(sizes: list[int], database: str, repeats: int, profile: Path | None) -> None:
    _pin(1)
    work = Path(tempfile.mkdtemp(prefix="opsdrill-bench-"))
    fake = FakeSlack(first_ts=time.time())
    fake.users[ADMIN] = fake.default_user(ADMIN) | {"is_admin": True}
    await fake.start()
    database_url = f"sqlite:///{work / 'bench.db'}"
    if database == "postgresql":
        database_url = os.environ.get(
            "OPSDRILL_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/opsdrill_bench"
        )
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, {database}")
    connector = aiohttp.TCPConnector(limit=IN_FLIGHT * 2)
    async with aiohttp.ClientSession(connector=connector) as http:
        first = launch_opsdrill(fake, database_url, work / "opsdrill.log")
        await first.ready(http)  # migrates an empty database
        first.stop()
        bot = launch_opsdrill(fake, database_url, work / "opsdrill.log")
        start_to_ready = await bot.ready(http)
        spy = None
        if profile is not None:  # py-spy (pip install py-spy) samples it until it exits
            spy = spy_on(bot.process.pid, profile)
        await asyncio.sleep(3)
        idle_rss = bot.rss_mb()
        bare = launch_bare_bolt(fake, work / "bare.log")
        await bare.ready(http)
        thread = await post_question(http, bot, fake)
        rows = []
        try:
            for size in sizes:
                ours: list[float] = []
                theirs: list[float] = []
                delays: list[float | None] = []
                for r in range(repeats if size <= 1000 else 1):
                    burst = signed_burst(thread, size, f"{size}x{r}")
                    lat, last_ack, failed = await fire(http, bot, burst)
                    ours += lat
                    people = {f"U{size}x{r}{n:05d}" for n in range(size)}
                    done = await feedback_done(fake, thread, people, within=180)
                    delays.append(None if done is None else done - last_ack)
                    lat_b, _, failed_b = await fire(http, bare, signed_burst(thread, size, "b"))
                    theirs += lat_b
                    if failed or failed_b:
                        print(f"    non-200 acks: opsdrill {failed}, bare bolt {failed_b}")
                rows.append((size, ours, theirs, delays))
        finally:
            bot.stop()
            bare.stop()
            await fake.stop()
            if spy is not None:
                spy.wait(30)
    print()
    print(
        "| burst | OpsDrill ack p50 / p99 | bare Bolt p50 / p99 | ratio p50 / p99 "
        "| last feedback after last ack |"
    )
    print("| --- | --- | --- | --- | --- |")
    for size, ours, theirs, delays in rows:
        o50, o99 = quantile(ours, 0.5) * 1000, quantile(ours, 0.99) * 1000
        t50, t99 = quantile(theirs, 0.5) * 1000, quantile(theirs, 0.99) * 1000
        shown = ", ".join("never" if d is None else f"{d:.1f} s" for d in delays)
        print(f"| {size:,} | {o50:.1f} / {o99:.1f} ms | {t50:.1f} / {t99:.1f} ms | "
              f"{o50 / t50:.2f}× / {o99 / t99:.2f}× | {shown} |")  # fmt: skip
    print(f"\nopsdrill run: start-to-ready {start_to_ready:.2f} s, idle RSS {idle_rss:.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--repeats", type=int, default=2, help="A B rounds for bursts ≤ 1,000")
    parser.add_argument(
        "--profile", type=Path, help="run OpsDrill under cProfile and write its stats here"
    )
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    asyncio.run(run(sizes, args.database, args.repeats, args.profile))
    if args.profile:
        print(f"profile (collapsed stacks, for flamegraph or speedscope): {args.profile}")


if __name__ == "__main__":
    main()
