from __future__ import annotations

import pytest

from bot.user_text import clip, neutralize


@pytest.mark.parametrize(
    "hostile",
    ["<!channel> look", "<!here|here> look", "<!everyone>", "<!subteam^S123|@oncall>",
     "@everyone look", "@here now", "<@U123> you", "<@&987> role", "<@!55> nick"],
)  # fmt: skip
def test_echoed_text_pings_nobody(hostile: str) -> None:
    safe = neutralize(hostile)
    for live in ("<!", "<@", "@everyone", "@here", "@channel"):
        assert live not in safe
    assert any(w in safe for w in ("channel", "here", "everyone", "oncall", "U123", "987", "55"))


def test_ordinary_text_is_unchanged() -> None:
    text = "Use PSI > 0.2 as a signal; email me at a@b.com"
    assert neutralize(text) == text


def test_clip_marks_the_cut() -> None:
    assert clip("abcdef", 4) == "abc…"
    assert clip("abc", 4) == "abc"


def test_clip_never_cuts_a_word_in_half() -> None:
    text = "Alert on drift and measure each feature against the training baseline"
    assert clip(text, 30) == "Alert on drift and measure…"
    assert clip("Alert on drift, then measure", 16) == "Alert on drift…"
