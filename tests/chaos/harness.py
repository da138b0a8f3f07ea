"""Real `opsdrill run` processes against the fake Slack, for tests that crash and race them.

Each `Replica` is `python -m bot run --slack-mode http` in its own process, on its own port,
logging to a file in the test's tmp_path. `Chaos` owns the replicas, an HTTP client that plays
Slack's Events API, and a direct connection to the database the replicas share. Every wait has
a deadline; `close()` kills whatever is still running."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import text
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.storage.db import make_engine
from tests.fakes import slack_api
from tests.fakes.slack_api import Call, FakeSlack

REPO = Path(__file__).resolve().parents[2]
SECRET = "chaos-signing-secret"
ADMIN = "UADMIN"
POLL = 0.05
LOG_TAIL = 120


def free_port() -> int:
    """A port nothing listens on right now (the kernel's pick for port 0)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def until(done: Callable[[], bool], *, timeout: float, what: str) -> None:  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:g}s waiting for {what}")
        await asyncio.sleep(POLL)


class Replica:
    """One `opsdrill run` process; launching it again after a kill is a restart."""

    def __init__(self, name: str, *, env: dict[str, str], cwd: Path) -> None:
        self.name = name
        self.port = free_port()
        self.log = cwd / f"{name}.log"
        self._env = env
        self._cwd = cwd
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.killed_at: float | None = None
        """When the last kill -9 was sent (time.monotonic())."""

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def launch(self) -> None:
        assert not self.running, f"{self.name} is already running"
        self.starts += 1
        command = [sys.executable, "-m", "bot", "run", "--slack-mode", "http",
                   "--host", "127.0.0.1", "--port", str(self.port)]  # fmt: skip
        with self.log.open("ab") as log:
            log.write(f"--- start {self.starts}: {' '.join(command[1:])}\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                command, cwd=self._cwd, env=self._env, stdout=log, stderr=subprocess.STDOUT
            )

    def kill(self) -> None:
        """kill -9: no shutdown code runs, in-flight requests are cut off."""
        if self.running:
            assert self.process is not None
            self.killed_at = time.monotonic()
            self.process.send_signal(signal.SIGKILL)

    async def stop(self, *, timeout: float = 15) -> int:  # noqa: ASYNC109
        """A graceful stop (SIGTERM, as Docker and Kubernetes send); the exit code."""
        if self.running:
            assert self.process is not None
            self.process.send_signal(signal.SIGTERM)
        return await self.exited(timeout=timeout)

    async def exited(self, *, timeout: float = 10) -> int:  # noqa: ASYNC109
        process = self.process
        assert process is not None, f"{self.name} was never launched"
        await until(lambda: process.poll() is not None, timeout=timeout, what=f"{self.name} exit")
        return int(process.returncode)

    def tail(self, lines: int = LOG_TAIL) -> str:
        if not self.log.exists():
            return f"(no log at {self.log})"
        text_lines = self.log.read_text(errors="replace").splitlines()
        return "\n".join(text_lines[-lines:])


class Chaos:
    """Replicas of the bot sharing one database and one fake Slack."""

    def __init__(self, *, fake: FakeSlack, database_url: str, tmp_path: Path) -> None:
        self.fake = fake
        self.database_url = database_url
        self.tmp_path = tmp_path
        self.replicas: list[Replica] = []
        self._http: aiohttp.ClientSession | None = None
        self._engine: AsyncEngine | None = None

    # --- processes -----------------------------------------------------------------------------

    def replica(self, name: str | None = None, **settings: str) -> Replica:
        """A replica (not started yet) with the test environment plus `settings`."""
        name = name or f"replica{len(self.replicas) + 1}"
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "PYTHONPATH": str(REPO),
            "PYTHONUNBUFFERED": "1",
            "DATABASE_URL": self.database_url,
            "SLACK_BOT_TOKEN": "xoxb-test-T1",
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": self.fake.api_url,
            "OPSDRILL_ADMINS": ADMIN,
            "OPSDRILL_HEARTBEAT_FILE": str(self.tmp_path / f"{name}.heartbeat"),
            "OPSDRILL_GRADER": "offline",
            "OPSDRILL_LOG_LEVEL": "INFO",
            # A killed replica's grading jobs and owed feedback come back after this long.
            "OPSDRILL_GRADING_LEASE": "3",
            # The fake Slack has no rate limits; at Slack's own tiers the feedback of a burst of
            # 200 answers would take minutes (chat.postEphemeral 100 and reactions.add 50 a
            # minute), which tests/adapters/test_slack_limits.py covers.
            "SLACK_RATE_LIMITS": '{"chat.postEphemeral": 60000, "reactions.add": 60000}',
            **settings,
        }
        replica = Replica(name, env=env, cwd=self.tmp_path)
        while replica.port in {r.port for r in self.replicas}:
            replica.port = free_port()
        self.replicas.append(replica)
        return replica

    async def start(self, *replicas: Replica, timeout: float = 60) -> None:  # noqa: ASYNC109
        """Launch the replicas together, then wait until each one answers /healthz."""
        for replica in replicas:
            replica.launch()
        await asyncio.gather(*(self.wait_ready(r, timeout=timeout) for r in replicas))

    async def restart(self, replica: Replica, *, timeout: float = 60) -> None:  # noqa: ASYNC109
        if replica.running:
            replica.kill()
        await replica.exited()
        await self.start(replica, timeout=timeout)

    async def wait_ready(self, replica: Replica, *, timeout: float = 60) -> None:  # noqa: ASYNC109
        deadline = time.monotonic() + timeout
        while True:
            if not replica.running:
                raise AssertionError(
                    f"{replica.name} exited before it was ready:\n{replica.tail()}"
                )
            try:
                async with self.http.get(f"{replica.base}/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"{replica.name} not ready in {timeout:g}s:\n{replica.tail()}")
            await asyncio.sleep(POLL)

    async def close(self) -> None:
        """Kill every replica still running and let go of the client and the database."""
        for replica in self.replicas:
            replica.kill()
        for replica in self.replicas:
            if replica.process is not None:
                await replica.exited()
        if self._http is not None:
            await self._http.close()
        if self._engine is not None:
            await self._engine.dispose()

    def report(self) -> str:
        return "\n".join(
            f"===== {r.name} (log {r.log}, last {LOG_TAIL} lines) =====\n{r.tail()}"
            for r in self.replicas
        )

    # --- what Slack sends ----------------------------------------------------------------------

    @property
    def http(self) -> aiohttp.ClientSession:
        if self._http is None:
            # A new connection per request, as a restart leaves pooled ones dead.
            self._http = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(force_close=True, limit=0),
                timeout=aiohttp.ClientTimeout(total=20),
            )
        return self._http

    async def send(
        self, replica: Replica, body: str, *, retry_num: int | None = None
    ) -> int | None:
        """POST a signed body to /slack/events; the HTTP status, or None if the connection
        failed (refused, or cut off by a kill)."""
        headers = slack_api.signed_headers(body, SECRET, retry_num=retry_num)
        try:
            async with self.http.post(
                f"{replica.base}/slack/events", data=body.encode(), headers=headers
            ) as response:
                await response.read()
                return response.status
        except (aiohttp.ClientError, TimeoutError):
            return None

    async def send_event(
        self,
        replica: Replica,
        event: dict[str, Any],
        *,
        event_id: str,
        retry_num: int | None = None,
    ) -> int | None:
        envelope = slack_api.event_callback(event, event_id=event_id)
        return await self.send(replica, json.dumps(envelope), retry_num=retry_num)

    async def command(
        self, replica: Replica, line: str, *, user: str = ADMIN, channel: str = "C1"
    ) -> dict[str, Any]:
        """Run `/drill line`; the ephemeral answer the bot posted to the response URL."""
        url = self.fake.response_url()
        form = slack_api.slash_command_form(
            line, user_id=user, channel_id=channel, response_url=url
        )
        status = await self.send(replica, form)
        assert status == 200, f"/drill {line} answered {status}"
        await until(lambda: bool(self.fake.responses_to(url)), timeout=15, what=f"/drill {line}")
        return self.fake.responses_to(url)[-1]

    # --- what the fake Slack received ----------------------------------------------------------

    def questions(self, channel: str | None = None) -> list[Call]:
        """Top-level chat.postMessage calls (the question posts), optionally in one channel."""
        return [
            c for c in self.fake.calls_to("chat.postMessage")
            if not c.params.get("thread_ts") and channel in (None, c.params.get("channel"))
        ]  # fmt: skip

    def feedback(self, thread_ts: str) -> dict[str, int]:
        """Per user, how many grade notices ("Your answer scored …") they got in the thread."""
        counts: dict[str, int] = {}
        for call in self.feedback_calls(thread_ts):
            user = str(call.params["user"])
            counts[user] = counts.get(user, 0) + 1
        return counts

    def feedback_calls(self, thread_ts: str) -> list[Call]:
        """The grade notices sent in the thread, in the order the fake took them."""
        return [
            call
            for call in self.fake.calls_to("chat.postEphemeral")
            if call.params.get("thread_ts") == thread_ts
            and "scored" in str(call.params.get("text", ""))
        ]

    async def settle(
        self,
        *,
        done: Callable[[], bool],
        quiet: float = 2.0,
        stalled: float = 8.0,
        timeout: float = 30,  # noqa: ASYNC109
    ) -> bool:
        """Wait until `done()` holds and the fake got no call for `quiet` seconds (so late
        doubles show up too). False if nothing happened for `stalled` seconds without `done()`
        holding, or the deadline came first."""
        deadline = time.monotonic() + timeout
        seen, since = len(self.fake.calls), time.monotonic()
        while time.monotonic() < deadline:
            await asyncio.sleep(POLL)
            if len(self.fake.calls) != seen:
                seen, since = len(self.fake.calls), time.monotonic()
            elif time.monotonic() - since >= (quiet if done() else stalled):
                return done()
        return False

    # --- the database, read directly -----------------------------------------------------------

    async def stored_answers(self) -> dict[str, int]:
        """How many rows `answers` holds for each platform message id (Slack's ts)."""
        rows = await self.query("SELECT message_id, count(*) FROM answers GROUP BY message_id")
        return {str(ts): int(n) for ts, n in rows}

    async def graded_answers(self) -> int:
        """How many answers have at least one grade."""
        rows = await self.query("SELECT count(DISTINCT answer_id) FROM grades")
        return int(rows[0][0])

    async def query(self, sql: str, **params: Any) -> Sequence[Row[Any]]:
        if self._engine is None:
            self._engine = make_engine(self.database_url)
        async with self._engine.connect() as connection:
            return (await connection.execute(text(sql), params)).all()
