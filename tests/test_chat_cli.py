"""`opsdrill chat` as a person uses it: typed lines in, what the terminal shows out."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.terminal import interrupted, opsdrill

WIDE = "200"  # hints on one line, to find them whole
ANSWER = "I would compare live metrics with the launch baseline and alert when they drift."


def test_an_admin_starts_a_practice_round_after_closing_todays(tmp_path: Path) -> None:
    result = opsdrill(
        ["chat", "--admin"], tmp_path,
        [ANSWER, "/drill close", "is it still open?", "/drill post --force", ANSWER],
        COLUMNS=WIDE,
    )  # fmt: skip
    out = result.stdout
    assert result.returncode == 0, result.stderr
    assert "You are @sam, an admin of #mlops" in out
    after_close = out[out.index("> is it still open?") :]
    assert "/drill post --force starts a practice round now" in after_close
    assert "already run" not in after_close  # the hint and what post --force does agree
    assert "OpsDrill in #mlops-practice-1" in after_close
    assert "Practice round in #mlops-practice-1" in after_close
    assert after_close.count("Your answer scored") == 1  # the practice answer is graded


def test_a_member_cannot_run_admin_commands_and_is_told_how_to_try_them(tmp_path: Path) -> None:
    first = opsdrill(["chat", "--admin"], tmp_path, ["/drill close"], COLUMNS=WIDE)
    assert first.returncode == 0, first.stderr
    result = opsdrill(["chat"], tmp_path, ["/drill post --force", "an answer"], COLUMNS=WIDE)
    out = result.stdout
    assert result.returncode == 0, result.stderr
    assert "You are @sam, a member of #mlops" in out
    assert "Admins only" in out and "practice" not in out
    assert "an admin can start one (try opsdrill chat --admin)" in out


def test_the_grade_is_on_screen_before_the_next_prompt(tmp_path: Path) -> None:
    result = opsdrill(["chat"], tmp_path, [ANSWER, "/drill stats"], COLUMNS=WIDE)
    out = result.stdout
    assert result.returncode == 0, result.stderr
    answered = out.index(f"> {ANSWER}")
    assert answered < out.index("Your answer scored") < out.index("> /drill stats")
    assert "on sam's answer" in out and "you's" not in out


def test_a_mock_interview_in_chat_runs_inline_and_its_replies_are_not_round_answers(
    tmp_path: Path,
) -> None:
    result = opsdrill(["chat"], tmp_path, ["/drill mock 1", ANSWER, "stop", ANSWER], COLUMNS=WIDE)
    out = result.stdout
    assert result.returncode == 0, result.stderr
    assert "the first is in your direct messages" not in out
    assert "Question 1 of 1" in out and "Mock interview: type your answers here" in out
    during = out[out.index("Question 1 of 1") : out.index("Back in #mlops")]
    assert "Your answer scored" not in during and "on sam's answer" not in during
    after = out[out.index("Back in #mlops") :]
    assert after.count("Your answer scored") == 1  # after the interview, an answer again


def test_the_terminal_shows_no_chat_markdown_and_no_empty_boxes(tmp_path: Path) -> None:
    result = opsdrill(["chat", "--admin"], tmp_path, ["/drill help", "/drill close"], COLUMNS=WIDE)
    out = result.stdout
    assert result.returncode == 0, result.stderr
    assert "/drill leaderboard [week|month|all]" in out
    assert "`" not in out and not re.search(r"\*\w[^*\n]*\w\*", out)
    assert not re.search(r"╮\n│\s*│\n╰", out), "a box with nothing in it"
    assert "› Closed the round and posted the model answer." in out


def test_a_too_long_answer_is_refused_without_pretending_it_was_kept(tmp_path: Path) -> None:
    result = opsdrill(["chat"], tmp_path, ["drift " * 700], COLUMNS=WIDE)
    out = result.stdout
    assert result.returncode == 0, result.stderr
    assert "Answer not accepted" in out and "the limit is 4,000" in out
    assert "still in your message" not in out


@pytest.mark.parametrize(
    ("args", "goodbye"),
    [(["chat"], "Bye! Your answers and points are kept"),
     (["mock"], "Bye! An unfinished interview stays open")],
)  # fmt: skip
def test_ctrl_c_quits_at_once_with_a_goodbye(tmp_path: Path, args: list[str], goodbye: str) -> None:
    code, screen, took = interrupted(args, tmp_path, after=b"Ctrl-C")
    assert code in (0, 130), screen
    assert goodbye in screen and "Traceback" not in screen
    assert took < 5, f"Ctrl-C took {took:.1f}s"
