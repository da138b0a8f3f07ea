"""Run `opsdrill` as a person does: a child process with a clean environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

OPSDRILL = Path(sys.executable).parent / "opsdrill"


def clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """This environment without any platform or bot settings, with a fresh SQLite database."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OPSDRILL_", "SLACK_", "DISCORD_", "ANTHROPIC_"))
    }
    return env | {"DATABASE_URL": f"sqlite:///{tmp_path / 'opsdrill.db'}", "COLUMNS": "100"} | extra


def opsdrill(
    args: list[str], tmp_path: Path, lines: list[str] | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    """`opsdrill ARGS` in `tmp_path`, typing `lines` (then end of input)."""
    return subprocess.run(
        [str(OPSDRILL), *args], cwd=tmp_path, env=clean_env(tmp_path, **env),
        input="\n".join(lines or []) + "\n", capture_output=True, text=True, timeout=120,
    )  # fmt: skip
