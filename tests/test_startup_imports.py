"""A Slack-only bot with the offline grader starts without loading the SDKs it does not use:
the Anthropic SDK alone is over a second of start-up and most of the idle memory. The core
(`bot`) imports no platform SDK at all: it runs, the demo included, where none is installed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHECK = """
import sys
import bot.app, bot.cli, bot.runner, adapters.discord, adapters.slack
print(",".join(sorted(m for m in ("anthropic", "discord", "matplotlib") if m in sys.modules)))
"""


def test_the_bot_imports_neither_the_anthropic_sdk_nor_discord_py_until_configured() -> None:
    """Nor matplotlib, until a recap is drawn."""
    result = subprocess.run(
        [sys.executable, "-c", CHECK], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "", f"loaded at import: {result.stdout.strip()}"


def test_the_command_line_loads_a_platform_adapter_only_for_its_commands() -> None:
    check = (
        "import sys, bot.cli\n"
        "print(','.join(m for m in sys.modules if m.startswith(('adapters.slack', "
        "'adapters.discord'))))"
    )
    result = subprocess.run(
        [sys.executable, "-c", check], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "", f"loaded at import: {result.stdout.strip()}"


def test_the_discord_adapter_is_still_importable_by_name() -> None:
    from adapters.discord import DiscordAdapter, invite_url

    assert DiscordAdapter.__name__ == "DiscordAdapter"
    assert "discord.com" in invite_url(1234)


# Loaded at start-up (as sitecustomize) by the processes below: the platform SDKs cannot be
# imported, and every attempt is reported on stderr.
WITHOUT_PLATFORM_SDKS = """
import importlib.abc, sys

class _NoPlatformSDKs(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in ("slack_sdk", "slack_bolt", "discord"):
            sys.stderr.write(f"imported a platform SDK: {name}\\n")
            raise ImportError(f"{name} is not installed")
        return None

sys.meta_path.insert(0, _NoPlatformSDKs())
"""

EVERY_CORE_MODULE = """
import importlib, pkgutil, bot
for module in pkgutil.walk_packages(bot.__path__, "bot."):
    if not module.name.endswith("__main__"):
        importlib.import_module(module.name)
"""


def _without_platform_sdks(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    (tmp_path / "sitecustomize.py").write_text(WITHOUT_PLATFORM_SDKS)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OPSDRILL_", "SLACK_", "DISCORD_", "ANTHROPIC_"))
    }
    env |= {
        "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)]),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'opsdrill.db'}",
    }
    return subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)


def test_the_core_imports_without_the_platform_sdks_installed(tmp_path: Path) -> None:
    result = _without_platform_sdks([sys.executable, "-c", EVERY_CORE_MODULE], tmp_path)
    assert result.returncode == 0 and result.stderr == "", result.stderr


def test_the_cli_and_the_demo_run_without_the_platform_sdks_installed(tmp_path: Path) -> None:
    opsdrill = str(Path(sys.executable).parent / "opsdrill")
    help_page = _without_platform_sdks([opsdrill, "--help"], tmp_path)
    assert help_page.returncode == 0 and help_page.stderr == "", help_page.stderr
    assert "discord" in help_page.stdout and "demo" in help_page.stdout
    demo = _without_platform_sdks([opsdrill, "demo"], tmp_path)
    assert demo.returncode == 0 and demo.stderr == "", demo.stderr
    assert "Round closed: the model answer" in demo.stdout
