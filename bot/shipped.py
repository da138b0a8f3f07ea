"""The data OpsDrill ships beside its code: the question bank and the Alembic migrations.

In the source tree they are the top-level `questions/` and `migrations/` directories; a built
wheel carries the same files inside the package as `bot/data/questions` and
`bot/data/migrations` (mapped in pyproject.toml), so an installed bot needs no checkout."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Literal

SOURCE_TREE = Path(__file__).resolve().parent.parent


def shipped_dir(name: Literal["questions", "migrations"]) -> Path:
    """The directory holding the shipped `name`: the installed package's copy, or the source
    checkout's own directory when running from one (the tests, an editable install)."""
    packaged = resources.files("bot") / "data" / name
    if packaged.is_dir():
        return Path(str(packaged))
    return SOURCE_TREE / name
