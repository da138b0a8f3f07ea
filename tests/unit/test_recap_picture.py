"""The recap picture: drawn without a display, small enough to post, and people's text drawn as
text (a `$` in a name is a dollar sign, not the start of a formula)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from bot.questions.schema import Category
from bot.services.leaderboard import Standing
from bot.services.recap import plain_lines
from bot.services.recap_data import BestAnswer, RecapData
from bot.services.recap_picture import render_png
from bot.services.squads import SquadStanding
from bot.services.stats import TopicScore

PNG = b"\x89PNG\r\n\x1a\n"
MONDAY = date(2026, 11, 23)


def test_a_week_without_answers_still_draws_a_picture() -> None:
    data = RecapData(channel_name="mlops", first=MONDAY, last=date(2026, 11, 29))
    assert render_png(data, plain_lines(data)).startswith(PNG)


def test_names_and_answers_with_formula_signs_are_drawn_as_text() -> None:
    odd = r"$\frac{a}{"  # unbalanced mathtext: matplotlib would raise if it parsed it
    at = datetime(2026, 11, 23, 9, tzinfo=UTC)
    data = RecapData(
        channel_name="ml$ops",
        first=MONDAY,
        last=date(2026, 11, 29),
        top=[Standing(1, 1, "U1", odd, 10.0, 1, at), Standing(2, 2, "U2", "bo$b", 4.0, 1, at)],
        squads=[SquadStanding(1, "sq$uad", 14.0, 2, 3)],
        per_day=[(date(2026, 11, 23 + i), i) for i in range(7)],
        heat_weeks=[date(2026, 11, 2 + 7 * i) for i in range(4)],
        heat={Category.MONITORING: [None, 4.0, 6.5, 8.0]},
        topics=[TopicScore(Category.MONITORING, 6.2, 9)],
        best=BestAnswer("U1", odd, 10.0, Category.MONITORING, "costs $5 and $\\sqrt{"),
    )
    png = render_png(data, plain_lines(data))
    assert png.startswith(PNG) and len(png) < 200_000
