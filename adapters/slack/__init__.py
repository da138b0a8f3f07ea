"""The Slack adapter (slack-bolt AsyncApp; Socket Mode or HTTP)."""

from adapters.slack.adapter import SlackAdapter

__all__ = ["SlackAdapter"]
