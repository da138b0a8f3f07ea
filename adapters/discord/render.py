"""Cards as Discord embeds; buttons as views, "Answer privately" as a dynamic item."""

from __future__ import annotations

import logging
import re
from typing import Any

import discord

from bot.domain import ANSWER_PRIVATELY, COMMAND_BUTTON, Button, Card, button_command

log = logging.getLogger(__name__)

COLOUR = discord.Colour(0x1F3B57)
NO_PINGS = discord.AllowedMentions.none()
ANSWER_PRIVATELY_ID = "opsdrill:answer_privately"
_KEYED = ANSWER_PRIVATELY_ID + ":"


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
    return any(b.action_id == ANSWER_PRIVATELY for b in card.buttons)


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


class _CogButton(
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]],
    template=r"(?!)",  # a base only: never matches
):
    """A button discord.py recognises by its custom_id on any message, before or after a
    restart (registered with `add_dynamic_items`); a click goes to the cog."""

    def __init__(self, custom_id: str, label: str) -> None:
        super().__init__(
            discord.ui.Button(label=label, custom_id=custom_id, style=discord.ButtonStyle.primary)
        )

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> _CogButton:
        return cls._clicked(match, str(getattr(item, "label", None) or ""))

    @classmethod
    def _clicked(cls, match: re.Match[str], label: str) -> _CogButton:
        raise NotImplementedError

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        cog: Any = interaction.client.get_cog("DrillCog")
        if cog is None:
            log.warning("Discord: a button was clicked before the bot was ready")
            return
        await self.clicked(cog, interaction)

    async def clicked(self, cog: Any, interaction: discord.Interaction[Any]) -> None:
        raise NotImplementedError


class AnswerPrivately(_CogButton, template=re.escape(ANSWER_PRIVATELY_ID) + r"(?::(?P<key>.+))?"):
    """ "Answer privately", whatever key its post carries: opens the answer form."""

    def __init__(self, key: str | None = None, *, label: str = "Answer privately") -> None:
        super().__init__(answer_privately_id(key), label)

    @classmethod
    def _clicked(cls, match: re.Match[str], label: str) -> _CogButton:
        return cls(match["key"], label=label or "Answer privately")

    async def clicked(self, cog: Any, interaction: discord.Interaction[Any]) -> None:
        await cog.open_private_answer(interaction)


class CommandButton(_CogButton, template=re.escape(COMMAND_BUTTON) + r".+"):
    """A button that runs a `/drill` command (e.g. Replace / Keep on a new attempt's prompt);
    its custom_id carries the command (see `button_id`)."""

    def __init__(self, custom_id: str, *, label: str = "OK") -> None:
        super().__init__(custom_id, label)

    @classmethod
    def _clicked(cls, match: re.Match[str], label: str) -> _CogButton:
        return cls(match.group(0), label=label or "OK")

    async def clicked(self, cog: Any, interaction: discord.Interaction[Any]) -> None:
        command = clicked_command(self.custom_id)
        if command is not None:
            await cog.command(interaction, command[0], *command[1])


class CardButtons(discord.ui.View):
    """The card's buttons; "Answer privately" carries the post's key (see
    `answer_privately_id`)."""

    def __init__(self, card: Card, *, key: str | None = None) -> None:
        super().__init__(timeout=None)
        for b in card.buttons:
            if b.action_id == ANSWER_PRIVATELY:
                self.add_item(AnswerPrivately(key, label=b.label))
            elif clicked_command(button_id(b)) is not None:
                self.add_item(CommandButton(button_id(b), label=b.label))
            else:
                self.add_item(
                    discord.ui.Button(
                        label=b.label, custom_id=b.action_id, style=discord.ButtonStyle.primary
                    )
                )


def message_kwargs(card: Card, *, key: str | None = None) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"embed": embed(card), "allowed_mentions": NO_PINGS}
    if card.buttons:
        kwargs["view"] = CardButtons(card, key=key)
    return kwargs
