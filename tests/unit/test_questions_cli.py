from __future__ import annotations

import json

from typer.testing import CliRunner

from bot.cli import app

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
    assert "no question with id" in result.output
