"""`opsdrill mock`: a mock interview in the terminal, as a person runs it."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.terminal import opsdrill


def _mock(args: list[str], tmp_path: Path, lines: list[str]) -> subprocess.CompletedProcess[str]:
    return opsdrill(["mock", *args], tmp_path, lines)


def test_mock_plays_an_interview_in_the_terminal_to_a_scorecard(tmp_path: Path) -> None:
    answer = "I would compare live metrics with the launch baseline and alert when they drift."
    result = _mock(["--questions", "2"], tmp_path, ["hint", "repeat", answer, "skip", "stop"])
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Mock interview: Mixed topics" in out and "direct message" in out
    assert "Question 1 of 2" in out and "Hint" in out and "Question 1 of 2 (again)" in out
    assert "scorecard" in out and "Verdict" in out and "Next steps" in out
    assert "Traceback" not in out + result.stderr


def test_mock_picks_up_an_interview_left_open(tmp_path: Path) -> None:
    first = _mock(["--topic", "monitoring", "--questions", "2"], tmp_path, ["/quit"])
    assert first.returncode == 0, first.stderr
    assert "Mock interview: Monitoring & drift" in first.stdout
    again = _mock([], tmp_path, ["repeat", "stop"])
    assert again.returncode == 0, again.stderr
    assert "You already have a mock interview going" in again.stdout
    assert "Question 1 of 2 (again)" in again.stdout and "Partial scorecard" in again.stdout


def test_mock_with_an_unknown_topic_says_what_would_work(tmp_path: Path) -> None:
    result = _mock(["--topic", "astrology"], tmp_path, [])
    assert result.returncode == 1
    assert "Unknown topic" in result.stdout and "monitoring" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_a_one_topic_scorecard_names_the_topic_once(tmp_path: Path) -> None:
    answer = "I would alert on drift of the input features against the training baseline."
    result = _mock(["--topic", "monitoring", "--questions", "1"], tmp_path, [answer, "stop"])
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Partial scorecard" in out and "Topic " in out
    assert "Strongest topic" not in out and "Weakest topic" not in out
