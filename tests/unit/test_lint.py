"""The linter catches each class of mistake in a bank file, naming the file, question and field."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from bot.cli import app
from bot.config import SHIPPED_QUESTIONS
from bot.questions.bank import load_bank
from bot.questions.commands import SCHEMA_FILE, schema_text
from bot.questions.lint import lint_paths

runner = CliRunner()
BASE = load_bank([SHIPPED_QUESTIONS]).get("retrain")
assert BASE is not None


def _question(**changes: Any) -> dict[str, Any]:
    q = copy.deepcopy(BASE.model_dump(mode="json", exclude_none=True))
    q.update(changes)
    return q


def _write(tmp_path: Path, questions: list[dict[str, Any]], name: str = "bank.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump({"questions": questions}, sort_keys=False))
    return path


def test_every_shipped_question_passes_lint() -> None:
    questions, problems = lint_paths([SHIPPED_QUESTIONS])
    assert [str(p) for p in problems] == []
    assert len(questions) == len(load_bank([SHIPPED_QUESTIONS]))


def _weights(q: dict[str, Any]) -> None:
    q["rubric"][0]["weight"] += 2


def _unknown_follow_up(q: dict[str, Any]) -> None:
    q["follow_ups"][0]["point"] = "no-such-point"


def _empty_prompt(q: dict[str, Any]) -> None:
    q["prompt"] = "   "


def _missing_model_answer(q: dict[str, Any]) -> None:
    del q["model_answer"]


def _short_model_answer(q: dict[str, Any]) -> None:
    q["model_answer"] = "Retrain when accuracy drops."


def _bad_category(q: dict[str, Any]) -> None:
    q["category"] = "astrology"


def _design_without_aspects(q: dict[str, Any]) -> None:
    q["category"] = "system-design"


def _repeated_phrasing(q: dict[str, Any]) -> None:
    q["rubric"][1]["phrasings"].append(q["rubric"][1]["phrasings"][0])


CASES: dict[str, tuple[Callable[[dict[str, Any]], None], str, str]] = {
    "weights": (_weights, "rubric weights sum to 12, not 10", ""),
    "follow-up": (_unknown_follow_up, "unknown rubric points: no-such-point", ""),
    "empty field": (_empty_prompt, "at least 1 character", "prompt"),
    "missing field": (_missing_model_answer, "Field required", "model_answer"),
    "model answer length": (_short_model_answer, "it must have 80-200", ""),
    "unknown category": (_bad_category, "Input should be", "category"),
    "design aspects": (_design_without_aspects, "no rubric point has aspect", ""),
    "repeated phrasing": (_repeated_phrasing, "has the same entry twice", "rubric.1.phrasings"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_lint_names_the_file_question_and_field(tmp_path: Path, case: str) -> None:
    mutate, message, field = CASES[case]
    broken = _question(id="broken-one")
    mutate(broken)
    path = _write(tmp_path, [broken])
    _, problems = lint_paths([path])
    assert len(problems) == 1, [str(p) for p in problems]
    text = str(problems[0])
    assert str(path) in text and "[broken-one]" in text and message in text
    assert field in problems[0].field


def test_duplicate_ids_across_files_are_reported(tmp_path: Path) -> None:
    _write(tmp_path, [_question(id="same-id")], "a.yaml")
    _write(tmp_path, [_question(id="same-id", prompt="A different prompt about cats.")], "b.yaml")
    _, problems = lint_paths([tmp_path])
    assert any("duplicate id: also used in" in str(p) and "b.yaml" in str(p) for p in problems)


def test_near_duplicate_prompts_are_reported(tmp_path: Path) -> None:
    first = _question(
        id="first", prompt="How do you decide when a production model must be retrained?"
    )
    second = _question(
        id="second", prompt="How do you decide when a model in production must be retrained?"
    )
    _write(tmp_path, [first, second])
    _, problems = lint_paths([tmp_path])
    assert any("near-duplicate of 'second'" in str(p) for p in problems)


def test_yaml_that_does_not_parse_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("questions:\n  - id: [unclosed\n")
    _, problems = lint_paths([path])
    assert "cannot read YAML" in str(problems[0]) and str(path) in str(problems[0])


def test_the_lint_command_exits_nonzero_and_lists_every_problem(tmp_path: Path) -> None:
    a, b = _question(id="qa"), _question(id="qb", prompt="Something else entirely, about GPUs.")
    _weights(a)
    _unknown_follow_up(b)
    _write(tmp_path, [a, b])
    result = runner.invoke(app, ["questions", "lint", str(tmp_path)])
    assert result.exit_code == 1
    assert "[qa]" in result.output and "[qb]" in result.output
    assert "2 problem(s)" in result.output


def test_the_lint_command_passes_the_shipped_bank() -> None:
    result = runner.invoke(app, ["questions", "lint"])
    assert result.exit_code == 0, result.output
    assert "no problems" in result.output


def test_the_schema_file_for_editors_is_current() -> None:
    assert SCHEMA_FILE.read_text() == schema_text(), "run `opsdrill questions schema`"
