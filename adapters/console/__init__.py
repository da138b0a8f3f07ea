"""The terminal as a chat platform: one team, one channel, and you."""

from adapters.console.adapter import ConsoleAdapter

__all__ = ["ConsoleAdapter"]
