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


def plain(text: str, names: dict[str, str]) -> str:
    """Mentions as @names, for a terminal that cannot ping anyone."""
    return _MENTION.sub(lambda m: "@" + names.get(m.group(1), m.group(1)), text)


def render_card(
    card: Card, names: dict[str, str], *, style: str = "cyan", subtitle: str | None = None
) -> RenderableType:
    everyone = {**names, **card.names}
    parts: list[RenderableType] = []
    if card.body:
        parts.append(Text(plain(card.body, everyone)))
    if card.fields:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold")
        table.add_column()
        for f in card.fields:
            table.add_row(f.label, Text(plain(f.value, everyone)))
        parts.append(table)
    if card.deadline is not None:
        parts.append(Text(f"Closes {_local(card.deadline)}", style="yellow"))
    if card.buttons:
        parts.append(Text("  ".join(f"[{b.label}]" for b in card.buttons), style="magenta"))
    if card.footer:
        parts.append(Text(plain(card.footer, everyone), style="dim"))
    return Panel(
        Group(*parts) if parts else Text(""),
        title=Text(plain(card.title, everyone), style="bold"),
        title_align="left",
        subtitle=subtitle,
        subtitle_align="right",
        border_style=style,
    )


def _local(moment: datetime) -> str:
    return moment.astimezone().strftime("%a %d %b %H:%M %Z")
