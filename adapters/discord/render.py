"""Cards as Discord embeds; buttons as a persistent view."""

from __future__ import annotations

from typing import Any

import discord

from bot.domain import Button, Card, button_command

COLOUR = discord.Colour(0x1F3B57)
NO_PINGS = discord.AllowedMentions.none()
ANSWER_PRIVATELY_ID = "opsdrill:answer_privately"
_KEYED = ANSWER_PRIVATELY_ID + ":"
_ANSWER_ACTION = "answer_privately"


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


def answer_privately_id(key: str | None = None) -> str:
    """The "Answer privately" button's custom_id. A post's key rides in it: nobody sees a
    custom_id, and Discord hands it back in the channel's history, where a nonce is not."""
    return _KEYED + key if key else ANSWER_PRIVATELY_ID


def carries_key(card: Card) -> bool:
    """Whether `card` has the button a post's key rides in."""
    return any(b.action_id == _ANSWER_ACTION for b in card.buttons)


def is_answer_privately(custom_id: object) -> bool:
    """Whether a clicked component is "Answer privately", whatever key its post carries."""
    return isinstance(custom_id, str) and (
        custom_id == ANSWER_PRIVATELY_ID or custom_id.startswith(_KEYED)
    )


def posted_key(message: discord.Message) -> str | None:
    """The key `message` was posted with (see `answer_privately_id`), if any."""
    for row in message.components:
        if not isinstance(row, discord.ActionRow):
            continue
        for item in row.children:
            custom_id = item.custom_id if isinstance(item, discord.Button) else None
            if custom_id is not None and custom_id.startswith(_KEYED):
                return custom_id[len(_KEYED) :]
    return None


def button_id(button: Button) -> str:
    """A button's custom_id: a button that runs a `/drill` command carries its arguments,
    since Discord hands back only the custom_id (100 characters at most)."""
    if button.value and button_command(button.action_id, button.value) is not None:
        return f"{button.action_id}:{button.value}"[:100]
    return button.action_id


def clicked_command(custom_id: object) -> tuple[str, tuple[str, ...]] | None:
    """The `/drill` command a clicked button runs (see `button_id`), if it runs one."""
    if not isinstance(custom_id, str):
        return None
    action_id, _, value = custom_id.partition(":")
    return button_command(action_id, value)


class CardButtons(discord.ui.View):
    """The card's buttons. "Answer privately" is persistent: the cog knows it by its id on any
    message, before or after a restart, whatever key the id carries."""

    def __init__(self, card: Card | None = None, *, key: str | None = None) -> None:
        super().__init__(timeout=None)
        for b in card.buttons if card else ():
            custom_id = answer_privately_id(key) if b.action_id == _ANSWER_ACTION else button_id(b)
            self.add_item(
                discord.ui.Button(
                    label=b.label, custom_id=custom_id, style=discord.ButtonStyle.primary
                )
            )


def message_kwargs(card: Card, *, key: str | None = None) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"embed": embed(card), "allowed_mentions": NO_PINGS}
    if card.buttons:
        kwargs["view"] = CardButtons(card, key=key)
    return kwargs
