"""Cards as rich panels."""

from __future__ import annotations

import re
from datetime import datetime

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from bot.domain import Card

_MENTION = re.compile(r"<@([A-Za-z0-9_.-]+)>")


# Chat Markdown the cards use: `code` and *bold* (Slack's mrkdwn; Discord reads it too).
_MARKUP = re.compile(r"`([^`\n]+)`|(?<![\w*])\*(?!\s)([^*\n]+?)(?<!\s)\*(?![\w*])")


def plain(text: str, names: dict[str, str]) -> str:
    """Mentions as @names, for a terminal that cannot ping anyone."""
    return _MENTION.sub(lambda m: "@" + names.get(m.group(1), m.group(1)), text)


def styled(text: str, names: dict[str, str], *, style: str = "") -> Text:
    """`text` for the terminal: mentions as @names, `code` and *bold* drawn as styles instead
    of showing their marks."""
    out = Text(style=style)
    text = plain(text, names)
    end = 0
    for match in _MARKUP.finditer(text):
        out.append(text[end : match.start()])
        code, bold = match.groups()
        if code is not None:
            out.append(code, style="bold cyan")
        else:
            out.append(bold, style="bold")
        end = match.end()
    out.append(text[end:])
    return out


def render_card(
    card: Card, names: dict[str, str], *, style: str = "cyan", subtitle: str | None = None
) -> RenderableType:
    everyone = {**names, **card.names}
    parts: list[RenderableType] = []
    if card.body:
        parts.append(styled(card.body, everyone))
    if card.fields:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold")
        table.add_column(overflow="fold")  # wrapped whole, never cut with an ellipsis
        for f in card.fields:
            table.add_row(styled(f.label, everyone), styled(f.value, everyone))
        parts.append(table)
    if card.deadline is not None:
        parts.append(Text(f"Closes {_local(card.deadline)}", style="yellow"))
    if card.buttons:
        parts.append(Text("  ".join(f"[{b.label}]" for b in card.buttons), style="magenta"))
    if card.footer:
        parts.append(styled(card.footer, everyone, style="dim"))
    title = styled(card.title, everyone, style="bold")
    if not parts:  # a one-line notice: a line, not an empty box
        return Text.assemble(("› ", style), title, (f"  ({subtitle})" if subtitle else "", "dim"))
    return Panel(
        Group(*parts),
        title=title,
        title_align="left",
        subtitle=subtitle,
        subtitle_align="right",
        border_style=style,
    )


def _local(moment: datetime) -> str:
    return moment.astimezone().strftime("%a %d %b %H:%M %Z")
