"""Handling of text people wrote: it is data, it never pings anyone, and it has a size limit."""

from __future__ import annotations

import re

MAX_ANSWER_CHARS = 4000

# Slack's special mentions (<!here>, <!channel>, <!everyone>, <!subteam^ID>, <!date…> is ours
# alone), Discord's role and user mentions, and the bare words that ping on Discord.
_SLACK_SPECIAL = re.compile(r"<!([a-z]+)(\^[^>|]*)?(\|[^>]*)?>", re.IGNORECASE)
_PLATFORM_MENTION = re.compile(r"<(@[!&]?|#)([A-Za-z0-9]+)(\|[^>]*)?>")
_BARE_BROADCAST = re.compile(r"@(here|everyone|channel)\b", re.IGNORECASE)
_ZWSP = "\u200b"


_USER_MENTION = re.compile(r"<@!?([A-Za-z0-9_.-]+)(?:\|[^>]*)?>")


def mentioned_user(token: str) -> str | None:
    """The user id a command argument mentions, in Slack's escaped form (`<@U1>`,
    `<@U1|name>`) or Discord's (`<@1>`, `<@!1>`); None for anything else."""
    match = _USER_MENTION.fullmatch(token.strip())
    return match.group(1) if match else None


def neutralize(text: str) -> str:
    """Make user text safe to echo: no broadcast or personal pings survive, the words stay."""

    def special(m: re.Match[str]) -> str:
        label = m.group(3)[1:] if m.group(3) else m.group(1)
        return f"@{_ZWSP}{label.lstrip('@')}"

    def mention(m: re.Match[str]) -> str:
        label = m.group(3)[1:] if m.group(3) else m.group(2)
        sigil = "#" if m.group(1) == "#" else "@"
        return f"{sigil}{_ZWSP}{label}"

    text = _SLACK_SPECIAL.sub(special, text)
    text = _PLATFORM_MENTION.sub(mention, text)
    return _BARE_BROADCAST.sub(lambda m: f"@{_ZWSP}{m.group(1)}", text)


# C0/C1 control characters other than tab and newline (NUL above all: PostgreSQL refuses it in
# text), and UTF-16 surrogates, which no UTF-8 database can store when they stand alone.
_UNSTORABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def scrub(text: str) -> str:
    """`text` as every database can store it: control characters dropped, carriage returns
    made newlines, lone surrogates replaced by U+FFFD. The same on SQLite and PostgreSQL."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _UNSTORABLE.sub(lambda m: "" if m.group() < "\ud800" else "\ufffd", text)


def clip(text: str, limit: int) -> str:
    """Shorten text for display, marking the cut; a cut falls between words where it can."""
    text = text.strip()
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if not text[limit - 1].isspace() and " " in cut:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:-") + "…"
