from __future__ import annotations

from datetime import UTC, datetime

from adapters.slack.blocks import card_blocks, deadline, escape, fallback_text
from bot.domain import Button, Card, CardField
from bot.text import neutralize


def test_user_text_cannot_ping_or_link_but_our_mentions_survive() -> None:
    hostile = neutralize("<!channel> see <https://evil.example|docs> & <!subteam^S1|@oncall>")
    text = escape(f"{hostile} — well done <@U123>")
    assert "<!channel>" not in text and "<!subteam" not in text and "<https://" not in text
    assert "&amp;" in text and "&lt;https://evil.example" in text
    assert text.endswith("<@U123>")


def test_the_deadline_shows_in_each_readers_time_zone() -> None:
    token = deadline(datetime(2026, 11, 23, 17, 0, tzinfo=UTC))
    assert token == "<!date^1795453200^{date_short_pretty} at {time}|2026-11-23 17:00 UTC>"


def test_a_card_becomes_header_sections_fields_deadline_and_a_button() -> None:
    card = Card(
        title="Today's MLOps question",
        body="How do you decide when to retrain?",
        fields=(CardField("Category", "Pipelines"), CardField("Notes", "long text", inline=False)),
        buttons=(Button("Answer privately", "answer_privately"),),
        footer="Reply in this thread.",
        deadline=datetime(2026, 11, 23, 17, 0, tzinfo=UTC),
    )
    blocks = card_blocks(card)
    kinds = [b["type"] for b in blocks]
    assert kinds == ["header", "section", "section", "section", "section", "actions", "context"]
    assert blocks[-2]["elements"][0]["action_id"] == "answer_privately"
    assert "<!date^" in blocks[4]["text"]["text"]
    assert fallback_text(card) == "Today's MLOps question: How do you decide when to retrain?"


def test_long_bodies_are_split_under_slacks_section_limit() -> None:
    card = Card(title="t", body="\n".join(["x" * 100] * 80))
    sections = [b for b in card_blocks(card) if b["type"] == "section"]
    assert len(sections) >= 3 and all(len(s["text"]["text"]) <= 3000 for s in sections)
