"""The Discord adapter (discord.py 2.x; one Bot subclass and one cog)."""

from adapters.discord.adapter import DiscordAdapter, invite_url, sync_commands

__all__ = ["DiscordAdapter", "invite_url", "sync_commands"]
