"""What a newcomer and an operator run: the demo, the chat, the image definition."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.demo import DEMO_TEAM

ROOT = Path(__file__).resolve().parent.parent
OPSDRILL = Path(sys.executable).parent / "opsdrill"


def _run(args: list[str], tmp_path: Path, **kw: object) -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OPSDRILL_", "SLACK_", "DISCORD_", "ANTHROPIC_"))
    }
    env |= {"DATABASE_URL": f"sqlite:///{tmp_path / 'opsdrill.db'}", "COLUMNS": "100"}
    return subprocess.run(
        [str(OPSDRILL), *args], cwd=tmp_path, env=env, capture_output=True, text=True,
        timeout=120, **kw,  # type: ignore[call-overload]
    )  # fmt: skip


def test_the_demo_plays_a_whole_round_and_can_run_again(tmp_path: Path) -> None:
    for _ in range(2):
        result = _run(["demo"], tmp_path)
        assert result.returncode == 0, result.stderr
        out = result.stdout
        assert "Today's MLOps question" in out
        assert out.count("Your answer scored") == 3
        assert "Round closed: the model answer" in out
        assert "Leaderboard" in out and "@ada" in out
        assert "Traceback" not in out + result.stderr


def test_chat_takes_an_answer_and_commands_from_the_terminal(tmp_path: Path) -> None:
    script = "\n".join([
        "/drill today",
        "I retrain when live precision on fresh labels drops below the agreed threshold.",
        "/drill frobnicate",
        "/drill close",
        "/drill leaderboard all",
        "/quit",
    ]) + "\n"  # fmt: skip
    result = _run(["chat", "--name", "sam"], tmp_path, input=script)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Today's MLOps question" in out
    assert "Unknown command `frobnicate`" in out
    assert "Round closed: the model answer" in out
    assert "@sam" in out
    assert "Traceback" not in out + result.stderr


def test_in_chat_a_mock_interview_reply_never_replaces_the_round_answer(tmp_path: Path) -> None:
    script = "\n".join([
        "I retrain when live precision on fresh labels drops below the agreed threshold.",
        "/drill mock monitoring 1",
        "hint",
        "stop",
        "/drill close",
        "/quit",
    ]) + "\n"  # fmt: skip
    result = _run(["chat", "--name", "sam"], tmp_path, input=script)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.count("Your answer scored") == 1  # the round answer only: "hint" went to the mock
    assert "Partial scorecard" in out and "Hint" in out
    assert "Traceback" not in out + result.stderr


def test_in_chat_a_command_without_its_slash_is_suggested_and_talk_is_not_graded(
    tmp_path: Path,
) -> None:
    out = _chat(
        tmp_path,
        "drill today",
        "help",
        "I retrain when live precision on fresh labels drops below the agreed threshold.",
        "thanks, great question",
        "new answer: I retrain every month.",
        "/drill keep",
        "/drill close",
    )
    assert "Did you mean /drill today?" in out and "Did you mean /drill help?" in out
    assert "Only your first reply is graded" in out  # the talk: a hint, no grade
    assert "Kept your answer" in out
    assert out.count("Your answer scored") == 1  # the first answer only
    assert out.count("👀 on sam's answer") == 2  # the answer and the new attempt, nothing else


def _chat(tmp_path: Path, *lines: str) -> str:
    """What `opsdrill chat` as sam printed for `lines` typed, then /quit (checked clean)."""
    result = _run(["chat", "--name", "sam"], tmp_path, input="\n".join([*lines, "/quit", ""]))
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    return result.stdout


def test_operators_export_a_whole_team_to_json(tmp_path: Path) -> None:
    assert _run(["demo"], tmp_path).returncode == 0
    out = tmp_path / "team.json"
    result = _run(["export", "--team", DEMO_TEAM, "--platform", "console", "--out", str(out)],
                  tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Wrote 3 member(s)" in result.stdout
    data = json.loads(out.read_text())
    assert {m["name"] for m in data["members"]} == {"ada", "grace", "linus"}
    assert all(m["answers"] and m["answers"][0]["grades"] for m in data["members"])
    unknown = _run(["export", "--team", "nope", "--out", str(out)], tmp_path)
    assert unknown.returncode == 1 and "No slack team `nope`" in unknown.stderr


def test_run_without_a_platform_explains_what_to_set(tmp_path: Path) -> None:
    result = _run(["run"], tmp_path)
    assert result.returncode == 2
    assert "SLACK_BOT_TOKEN" in result.stderr and "opsdrill chat" in result.stderr


def test_the_dockerfile_passes_hadolint() -> None:
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    result = subprocess.run(
        [hadolint, "--failure-threshold", "warning", str(ROOT / "Dockerfile")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_image_installs_the_way_the_makefile_does() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    makefile = (ROOT / "Makefile").read_text()
    assert (
        "pip install -e ." in dockerfile and "pip install" in makefile and "-e '.[dev]'" in makefile
    )
    assert "USER 10001" in dockerfile and "HEALTHCHECK" in dockerfile


@pytest.mark.parametrize("path", [".ci/run", "README.md", ".env.example", "docker-compose.yml"])
def test_project_files_exist(path: str) -> None:
    assert (ROOT / path).is_file()
