"""Run `opsdrill` as a person does: a child process with a clean environment."""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

OPSDRILL = Path(sys.executable).parent / "opsdrill"


def clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """This environment without any platform or bot settings, with a fresh SQLite database."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OPSDRILL_", "SLACK_", "DISCORD_", "ANTHROPIC_"))
    }
    return (
        env
        | {
            "DATABASE_URL": f"sqlite:///{tmp_path / 'opsdrill.db'}",
            "COLUMNS": "100",
            "LOGNAME": "sam",  # the login name `chat` and `mock` call you by
        }
        | extra
    )


def opsdrill(
    args: list[str], tmp_path: Path, lines: list[str] | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    """`opsdrill ARGS` in `tmp_path`, typing `lines` (then end of input)."""
    return subprocess.run(
        [str(OPSDRILL), *args], cwd=tmp_path, env=clean_env(tmp_path, **env),
        input="\n".join(lines or []) + "\n", capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def interrupted(args: list[str], tmp_path: Path, *, after: bytes) -> tuple[int, str, float]:
    """`opsdrill ARGS` on a terminal (a pty), Ctrl-C at the prompt after `after`: the exit code,
    everything shown, and the seconds it took to exit after Ctrl-C."""
    master, child_side = pty.openpty()
    child = subprocess.Popen(
        [str(OPSDRILL), *args], cwd=tmp_path, env=clean_env(tmp_path),
        stdin=child_side, stdout=child_side, stderr=child_side,
    )  # fmt: skip
    os.close(child_side)
    screen = b""

    def read(until: bytes, seconds: float) -> None:
        nonlocal screen
        deadline = time.monotonic() + seconds
        while until not in screen and time.monotonic() < deadline:
            if select.select([master], [], [], 0.1)[0]:
                try:
                    screen += os.read(master, 65536)
                except OSError:  # the child closed the terminal
                    return

    try:
        read(after, 60)
        assert after in screen, screen.decode(errors="replace")
        while b"> " not in screen[screen.index(after) :] and child.poll() is None:
            read(b"> ", 0.2)  # the prompt: the person can type (or press Ctrl-C)
        started = time.monotonic()
        child.send_signal(signal.SIGINT)
        code = child.wait(timeout=30)
        took = time.monotonic() - started
        read(b"\0", 0.5)  # what is still in the pty's buffer
        return code, screen.decode(errors="replace"), took
    finally:
        if child.poll() is None:
            child.kill()
        os.close(master)
