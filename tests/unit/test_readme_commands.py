"""The README's Commands table names every `opsdrill` command there is."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from bot.cli import app

ROOT = Path(__file__).resolve().parent.parent.parent


def _command_paths(command: Any, prefix: str = "opsdrill") -> list[str]:
    subcommands = getattr(command, "commands", None)  # a group
    if subcommands:
        return [
            p for name, sub in subcommands.items() for p in _command_paths(sub, f"{prefix} {name}")
        ]
    return [prefix]


def test_the_commands_table_lists_every_command() -> None:
    readme = (ROOT / "README.md").read_text()
    table = readme.split("\n## Commands\n", 1)[1].strip().split("\n\n", 1)[0]
    paths = _command_paths(typer.main.get_command(app))
    assert len(paths) > 10
    missing = [p for p in paths if f"| `{p}" not in table]
    assert missing == [], "commands missing from README's Commands table"
