from __future__ import annotations

from datetime import UTC, date, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.slack.blocks import card_blocks, deadline, escape, fallback_text, home_view
from bot.config import Settings
from bot.domain import Button, Card, CardField
from bot.grading.base import Grade, PointGrade, Verdict
from bot.questions.bank import load_bank
from bot.questions.schema import Category
from bot.services import cards
from bot.services.leaderboard import Period, Standing
from bot.services.round_views import OpenRound
from bot.services.stats import PersonalStats, TopicScore
from bot.user_text import neutralize
from tests.fakes import block_kit


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


# --- everything the renderer makes, Slack takes (checked as the fake Slack checks it) --------

_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=400)
_long_text = st.one_of(_text, st.text(alphabet="ab <>&\n", min_size=2900, max_size=7000))
_cards = st.builds(
    Card,
    title=st.one_of(_text, st.text(min_size=140, max_size=400)).filter(bool),  # a card has one
    body=_long_text,
    fields=st.lists(
        st.builds(CardField, label=_text, value=_long_text, inline=st.booleans()), max_size=14
    ).map(tuple),
    buttons=st.lists(
        st.builds(
            Button,
            label=st.text(min_size=1, max_size=100),
            action_id=st.sampled_from(["answer_privately", "other", "more"]),
            value=_text,
        ),
        max_size=3,
        unique_by=lambda b: b.action_id,  # the core never gives two buttons one id
    ).map(tuple),
    footer=st.one_of(_text, st.text(min_size=2990, max_size=3500)),
    deadline=st.none() | st.just(datetime(2026, 11, 23, 17, 0, tzinfo=UTC)),
)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(card=_cards)
def test_slack_takes_every_card_as_a_message_and_as_the_home_tab(card: Card) -> None:
    assert block_kit.problems(card_blocks(card)) == []
    assert block_kit.view_problems(home_view(card)) == []


def test_slack_takes_every_card_the_core_sends_for_every_question_in_the_bank() -> None:
    bank = load_bank(Settings().bank_dirs)
    closes = datetime(2026, 11, 23, 17, 0, tzinfo=UTC)
    standings = [
        Standing(i, i, f"U{i:08d}", "n" * 80, 10.0, 40, closes, hidden=i % 3 == 0)
        for i in range(1, 30)
    ]
    stats = PersonalStats(
        rounds=300, points=2450.5, average=8.2, streak=40, best_streak=90,
        topics=[TopicScore(c, 7.5, 30) for c in Category], mock_answers=12,
    )  # fmt: skip
    open_rounds = []
    sent: list[Card] = [
        cards.help_card("A long note. " * 40),
        cards.missed_card([date(2026, 11, d) for d in range(1, 28)]),
        cards.stats_card(stats),
        cards.stats_card(PersonalStats()),
        cards.team_topics_card(stats.topics, 4),
    ]
    for question in bank:
        grade = Grade(
            points=tuple(
                PointGrade(p.id, p.point, p.weight, Verdict.PARTIAL, "r" * 500, "e <!here> " * 80)
                for p in question.rubric
            ),
            feedback="f & <b> " * 400,
            grader="offline-v3",
            rubric_version="1",
        )
        open_rounds.append(OpenRound("C" * 11, "c" * 80, question, closes))
        sent += [
            cards.question_card(question, closes_at=closes, late=True),
            cards.feedback_card(question, grade, update=True),
            cards.reveal_card(question, standings),
        ]
    sent += [cards.home_card(stats, open_rounds[:20]), cards.home_card(PersonalStats(), [])]
    for period in Period:
        sent.append(cards.leaderboard_card("team", period, standings))
    for card in sent:
        assert block_kit.problems(card_blocks(card)) == [], card.title
        assert block_kit.view_problems(home_view(card)) == [], card.title
