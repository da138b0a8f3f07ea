"""A Slack-only bot with the offline grader starts without loading the SDKs it does not use:
the Anthropic SDK alone is over a second of start-up and most of the idle memory."""

from __future__ import annotations

import subprocess
import sys

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


def test_the_discord_adapter_is_still_importable_by_name() -> None:
    from adapters.discord import DiscordAdapter, invite_url

    assert DiscordAdapter.__name__ == "DiscordAdapter"
    assert "discord.com" in invite_url(1234)
