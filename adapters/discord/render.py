"""Cards as Discord embeds; buttons as a persistent view."""

from __future__ import annotations

from typing import Any

import discord

from bot.domain import Card

COLOUR = discord.Colour(0x1F3B57)
NO_PINGS = discord.AllowedMentions.none()
ANSWER_PRIVATELY_ID = "opsdrill:answer_privately"


def embed(card: Card) -> discord.Embed:
    """An embed within Discord's limits (title 256, description 4096, field 1024, 25 fields)."""
    out = discord.Embed(title=card.title[:256], description=card.body[:4096] or None, colour=COLOUR)
    for f in card.fields[:24]:
        out.add_field(name=f.label[:256], value=(f.value or "—")[:1024], inline=f.inline)
    if card.deadline is not None:
        stamp = int(card.deadline.timestamp())
        out.add_field(name="Closes", value=f"<t:{stamp}:F> (<t:{stamp}:R>)", inline=False)
    if card.footer:
        out.set_footer(text=card.footer[:2048])
    return out


class CardButtons(discord.ui.View):
    """The card's buttons. "Answer privately" is persistent: its id survives restarts."""

    def __init__(self, card: Card | None = None) -> None:
        super().__init__(timeout=None)
        for b in card.buttons if card else ():
            custom_id = ANSWER_PRIVATELY_ID if b.action_id == "answer_privately" else b.action_id
            self.add_item(
                discord.ui.Button(
                    label=b.label, custom_id=custom_id, style=discord.ButtonStyle.primary
                )
            )


def message_kwargs(card: Card) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"embed": embed(card), "allowed_mentions": NO_PINGS}
    if card.buttons:
        kwargs["view"] = CardButtons(card)
    return kwargs
