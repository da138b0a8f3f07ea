"""Mistakes a person makes running `opsdrill` get one clear line and exit code 2."""

from __future__ import annotations

import socket
import uuid
from pathlib import Path

import pytest

from tests.terminal import opsdrill

REPO = Path(__file__).resolve().parent.parent


def _one_clear_line(result_stderr: str) -> str:
    lines = [line for line in result_stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result_stderr
    assert "Traceback" not in result_stderr
    return lines[0]


def test_eval_of_a_missing_file_says_so_and_points_at_the_example(tmp_path: Path) -> None:
    result = opsdrill(["eval", "../shared/eval/dev.yaml"], tmp_path, COLUMNS="200")
    assert result.returncode == 2
    line = _one_clear_line(result.stderr)
    assert "cannot read ../shared/eval/dev.yaml: No such file or directory" in line
    assert "examples/eval.yaml" in line


def test_eval_of_a_file_that_is_not_yaml_says_where(tmp_path: Path) -> None:
    (tmp_path / "answers.yaml").write_text("questions: [unclosed\n")
    result = opsdrill(["eval", "answers.yaml"], tmp_path, COLUMNS="200")
    assert result.returncode == 2
    assert "answers.yaml is not YAML (line 2)" in _one_clear_line(result.stderr)


def test_eval_of_yaml_that_is_not_a_labelled_set_says_what_is_missing(tmp_path: Path) -> None:
    (tmp_path / "answers.yaml").write_text("answers: []\n")
    result = opsdrill(["eval", "answers.yaml"], tmp_path, COLUMNS="200")
    assert result.returncode == 2
    assert "not a labelled set: Field required at questions" in _one_clear_line(result.stderr)


def test_the_shipped_example_eval_file_runs(tmp_path: Path) -> None:
    result = opsdrill(["eval", str(REPO / "examples" / "eval.yaml"), "--json"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert '"answers": 8' in result.stdout


@pytest.mark.parametrize("command", [["export", "--team", "T1", "--out", "x.json"],
                                     ["stats", "cost"], ["db", "upgrade"], ["chat"]])  # fmt: skip
def test_a_postgres_database_that_does_not_exist_says_how_to_create_it(
    tmp_path: Path, command: list[str]
) -> None:
    name = f"opsdrill_missing_{uuid.uuid4().hex[:8]}"
    url = f"postgresql://postgres@127.0.0.1:5432/{name}"
    result = opsdrill(command, tmp_path, DATABASE_URL=url, COLUMNS="200")
    assert result.returncode == 2
    line = _one_clear_line(result.stderr)
    assert f"The database '{name}' does not exist" in line
    assert f"createdb -h 127.0.0.1 -p 5432 -U postgres {name}" in line


@pytest.mark.parametrize("command", [["stats", "cost"], ["demo"], ["mock"]])
def test_an_unreachable_database_is_one_line_without_the_password(
    tmp_path: Path, command: list[str]
) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"postgresql://opsdrill:hunter2@127.0.0.1:{port}/opsdrill"
    result = opsdrill(command, tmp_path, DATABASE_URL=url, COLUMNS="200")
    assert result.returncode == 2
    line = _one_clear_line(result.stderr)
    assert f"Cannot reach the database at postgresql://opsdrill:***@127.0.0.1:{port}" in line
    assert "hunter2" not in result.stdout + result.stderr
