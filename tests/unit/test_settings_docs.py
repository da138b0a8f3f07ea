"""Every setting is documented twice: the README's Configuration table and `.env.example`."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import AliasChoices

from bot.config import Settings

ROOT = Path(__file__).resolve().parent.parent.parent


def _settings_variables() -> set[str]:
    names = set()
    for field in Settings.model_fields.values():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            alias = alias.choices[0]
        assert isinstance(alias, str), field
        names.add(alias)
    return names


def _readme_variables() -> set[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    return {name for row in rows for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", row.split("|")[1])}


def _env_example_variables() -> set[str]:
    text = (ROOT / ".env.example").read_text()
    return set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", text, re.MULTILINE))


def test_the_readme_table_lists_every_setting_and_no_other() -> None:
    settings, readme = _settings_variables(), _readme_variables()
    assert settings - readme == set(), "settings missing from README's Configuration table"
    assert readme - settings == set(), "README lists variables bot/config.py does not read"


def test_env_example_lists_every_setting_and_no_other() -> None:
    settings, example = _settings_variables(), _env_example_variables()
    assert settings - example == set(), "settings missing from .env.example"
    assert example - settings == set(), ".env.example sets variables bot/config.py does not read"
