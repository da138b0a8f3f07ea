from __future__ import annotations

import json
import re
from pathlib import Path

from typer.testing import CliRunner

from bot.cli import app
from bot.config import SHIPPED_QUESTIONS
from bot.questions.bank import load_bank
from bot.questions.schema import Question
from tests.terminal import opsdrill

runner = CliRunner()


def test_list_as_json_gives_the_documented_fields() -> None:
    result = runner.invoke(app, ["questions", "list", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert len(rows) >= 11
    assert {"id", "category", "difficulty", "prompt", "tags"} <= set(rows[0])


def test_list_filters_by_category_and_difficulty() -> None:
    result = runner.invoke(
        app, ["questions", "list", "--json", "--category", "deployment", "--difficulty",
              "practitioner"],
    )  # fmt: skip
    rows = json.loads(result.output)
    assert rows and all(r["category"] == "deployment" for r in rows)
    assert all(r["difficulty"] == "practitioner" for r in rows)


def test_list_refuses_an_unknown_category() -> None:
    result = runner.invoke(app, ["questions", "list", "--category", "astrology"])
    assert result.exit_code == 2


def test_show_prints_the_rubric_and_model_answer() -> None:
    result = runner.invoke(app, ["questions", "show", "blue-green"])
    assert result.exit_code == 0, result.output
    assert "Model answer" in result.output and "Follow-ups" in result.output


def test_show_an_unknown_id_says_so() -> None:
    result = runner.invoke(app, ["questions", "show", "no-such-question"])
    assert result.exit_code == 1
    assert "No question with id 'no-such-question'" in result.output


def test_show_suggests_the_closest_ids_on_a_typo() -> None:
    result = runner.invoke(app, ["questions", "show", "blue-gren"])
    assert result.exit_code == 1
    assert "did you mean blue-green?" in result.output


def test_show_as_json_is_the_whole_question_in_the_bank_schema() -> None:
    result = runner.invoke(app, ["questions", "show", "blue-green", "--json"])
    assert result.exit_code == 0, result.output
    question = Question.model_validate_json(result.output)
    assert question == load_bank([SHIPPED_QUESTIONS]).get("blue-green")
    assert question.rubric and question.follow_ups and question.weak_answer.text


def test_list_keeps_every_id_whole_on_an_80_column_terminal(tmp_path: Path) -> None:
    result = opsdrill(["questions", "list"], tmp_path, COLUMNS="80")
    assert result.returncode == 0, result.stderr
    assert max(len(line) for line in result.stdout.splitlines()) <= 80
    shown = set(re.findall(r"[a-z0-9]+(?:-[a-z0-9]+)*", result.stdout))
    ids = {q.id for q in load_bank([SHIPPED_QUESTIONS]).eligible()}
    assert ids <= shown, sorted(ids - shown)[:5]
