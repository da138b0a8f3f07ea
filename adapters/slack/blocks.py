"""Cards as Block Kit. Text is escaped for Slack except the mentions and dates the core means."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from bot.domain import Card

_OURS = re.compile(r"(<@[UW][A-Z0-9]+>|<!date\^\d+\^[^|>]+\|[^>]*>)")
SECTION_LIMIT = 3000
HEADER_LIMIT = 150
BUTTON_LIMIT = 75
FIELD_LIMIT = 2000
MAX_BLOCKS = 50  # in a message; views take 100


def escape(text: str) -> str:
    """Slack's three control characters, escaped everywhere but in our own mention tokens."""
    parts = _OURS.split(text)
    return "".join(
        p if i % 2 else p.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        for i, p in enumerate(parts)
    )


def deadline(moment: datetime) -> str:
    """A date Slack shows in each reader's own time zone, with a UTC fallback."""
    epoch = int(moment.timestamp())
    fallback = moment.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{epoch}^{{date_short_pretty}} at {{time}}|{fallback}>"


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text}


def _chunks(text: str, limit: int = SECTION_LIMIT) -> list[str]:
    out: list[str] = []
    while len(text) > limit:
        cut = text.rfind("\n", 0, limit)
        cut = cut if cut > limit // 2 else limit
        out.append(text[:cut])
        text = text[cut:].lstrip("\n")
    return [*out, text] if text else out


def card_blocks(card: Card, *, value: str = "") -> list[dict[str, Any]]:
    """Block Kit for a card; buttons carry `value` (e.g. which thread they belong to)."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": card.title[:HEADER_LIMIT]}}
    ]
    for chunk in _chunks(escape(card.body)):
        blocks.append({"type": "section", "text": _mrkdwn(chunk)})
    inline = [f for f in card.fields if f.inline]
    if inline:
        fields = [
            _mrkdwn(f"*{escape(f.label)}*\n{escape(f.value)}"[:FIELD_LIMIT]) for f in inline[:10]
        ]
        blocks.append({"type": "section", "fields": fields})
    for f in card.fields:
        if not f.inline:
            for chunk in _chunks(f"*{escape(f.label)}*\n{escape(f.value)}"):
                blocks.append({"type": "section", "text": _mrkdwn(chunk)})
    if len(blocks) > MAX_BLOCKS - 4:  # leave room for the deadline, buttons and footer
        blocks = blocks[: MAX_BLOCKS - 5]
        blocks.append({"type": "section", "text": _mrkdwn("… (shortened to fit Slack)")})
    if card.deadline is not None:
        blocks.append({"type": "section", "text": _mrkdwn(f"⏰ Closes {deadline(card.deadline)}")})
    if card.buttons:
        blocks.append({
            "type": "actions",
            "elements": [
                {"type": "button", "action_id": b.action_id, "value": b.value or value,
                 "text": {"type": "plain_text", "text": b.label[:BUTTON_LIMIT]}}
                for b in card.buttons
            ],
        })  # fmt: skip
    if card.footer:
        footer = escape(card.footer)[:SECTION_LIMIT]
        blocks.append({"type": "context", "elements": [_mrkdwn(footer)]})
    return blocks


def fallback_text(card: Card) -> str:
    """The notification text Slack shows where blocks cannot be (and screen readers use)."""
    first = card.body.strip().splitlines()[0] if card.body.strip() else ""
    return escape(f"{card.title}: {first}" if first else card.title)[:300]


def card_text(card: Card) -> str:
    """The whole card as one mrkdwn message (a file's comment has no blocks)."""
    parts = [f"*{escape(card.title)}*", escape(card.body)]
    parts += [f"*{escape(f.label)}*\n{escape(f.value)}" for f in card.fields]
    parts.append(f"_{escape(card.footer)}_" if card.footer else "")
    return "\n\n".join(p for p in parts if p)[:SECTION_LIMIT]


def home_view(card: Card) -> dict[str, Any]:
    return {"type": "home", "blocks": card_blocks(card)}


def field_error(card: Card) -> str:
    """A refusal as the error text under a modal's input (plain text, kept short)."""
    text = f"{card.title}. {card.body}".strip() if card.body else card.title
    return text.replace("`", "")[:300]
