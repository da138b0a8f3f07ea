"""The Discord adapter (discord.py 2.x; one Bot subclass and one cog). discord.py is imported
on first use of these names, so a Slack-only bot never loads it."""

from typing import Any

__all__ = ["DiscordAdapter", "invite_url", "sync_commands"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from adapters.discord import adapter

        return getattr(adapter, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
