"""`opsdrill recap` draws a channel's week from the database, and `/drill recap` in the terminal
saves the picture where it says."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.test_packaging import _run as run_opsdrill

PNG = b"\x89PNG\r\n\x1a\n"


def _run(args: list[str], tmp_path: Path, typed: str = "") -> subprocess.CompletedProcess[str]:
    return run_opsdrill(args, tmp_path, input=typed)


def test_recap_draws_the_demo_week_and_says_what_is_wrong_with_bad_options(
    tmp_path: Path,
) -> None:
    assert _run(["demo"], tmp_path).returncode == 0
    made = _run(["recap", "--channel", "mlops", "--out", "pics/recap.png"], tmp_path)
    assert made.returncode == 0, made.stderr
    picture = (tmp_path / "pics" / "recap.png").read_bytes()
    assert picture.startswith(PNG) and len(picture) < 200_000
    assert (
        "Weekly recap · #mlops" in made.stdout and "Best answer: @ada scored 10/10" in made.stdout
    )
    assert "3 answers" in made.stdout

    unknown = _run(["recap", "--channel", "nope"], tmp_path)
    assert unknown.returncode == 1 and "No channel `nope`" in unknown.stderr
    bad_week = _run(["recap", "--channel", "mlops", "--week", "2026-13-01"], tmp_path)
    assert bad_week.returncode == 2 and "YYYY-MM-DD" in bad_week.stderr
    assert "Traceback" not in made.stderr + unknown.stderr + bad_week.stderr


def test_the_terminal_saves_a_posted_recap_and_prints_where(tmp_path: Path) -> None:
    chat = _run(
        ["chat", "--name", "ada"], tmp_path, "I would watch drift with PSI.\n/drill recap\n/quit\n"
    )
    assert chat.returncode == 0, chat.stderr
    saved = tmp_path / "opsdrill-files" / "recap.png"
    assert saved.read_bytes().startswith(PNG)
    assert "Saved to" in chat.stdout and "Weekly recap" in chat.stdout
