"""A `ChatAdapter` for the terminal: everything the bot sends is drawn with rich."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from pathlib import Path

from rich.console import Console

from adapters.console.memory import MemoryAdapter, Sent
from adapters.console.render import render_card
from bot.domain import Card, ChannelRef, MessageRef, Reaction, UserRef

_EMOJI = {Reaction.RECEIVED: "👀", Reaction.GRADED: "✅", Reaction.REJECTED: "🚫"}


@dataclass
class ConsoleAdapter(MemoryAdapter):
    platform: str = "console"
    team_id: str = "local"
    console: Console = field(default_factory=Console)
    channel_names: dict[str, str] = field(default_factory=dict)

    def _record(self, sent: Sent) -> None:
        super()._record(sent)
        if sent.kind == "react" and sent.reaction is not None and sent.message is not None:
            author_id = self.authors.get(sent.message.message_id, "")
            author = self.names.get(author_id, author_id or "an")
            self.console.print(f"  {_EMOJI[sent.reaction]} on {author}'s answer", style="dim")
            return
        if sent.card is None or sent.message is None:
            return
        where = "#" + self.channel_names.get(
            sent.message.channel.channel_id, sent.message.channel.channel_id
        )
        if sent.kind in ("post", "upload"):
            subtitle, style = f"OpsDrill in {where}", "cyan"
        elif sent.kind == "dm":
            subtitle, style = "direct message", "green"
        elif sent.private_to is not None:
            name = self.names.get(sent.private_to.user_id, sent.private_to.user_id)
            subtitle, style = f"only visible to @{name}", "green"
        else:
            subtitle, style = f"in the thread · {where}", "blue"
        self.console.print(render_card(sent.card, self.names, style=style, subtitle=subtitle))

    async def send_file(
        self, user: UserRef, card: Card, filename: str, content: bytes
    ) -> MessageRef | None:
        """Saved under ./opsdrill-files/ (the terminal has no DMs to attach it to)."""
        return await super().send_file(user, await _saved(card, filename, content), filename,
                                       content)  # fmt: skip

    async def post_file(
        self, channel: ChannelRef, card: Card, filename: str, content: bytes
    ) -> MessageRef | None:
        """Saved under ./opsdrill-files/ as well; the card says where."""
        return await super().post_file(channel, await _saved(card, filename, content), filename,
                                       content)  # fmt: skip

    def show(self, card: Card | None) -> None:
        """Draw a command's private response."""
        if card is not None:
            self.console.print(
                render_card(card, self.names, style="green", subtitle="only visible to you")
            )


async def _saved(card: Card, filename: str, content: bytes) -> Card:
    """`content` written to ./opsdrill-files/`filename`; `card` saying where it is."""
    path = await asyncio.to_thread(_save, Path("opsdrill-files") / Path(filename).name, content)
    return replace(card, body=f"{card.body}\nSaved to {path.resolve()}".strip())


def _save(path: Path, content: bytes) -> Path:
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(content)
    return path
