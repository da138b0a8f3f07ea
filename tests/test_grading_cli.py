"""`opsdrill grade`, `opsdrill eval` and `opsdrill stats cost` as operators run them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app

runner = CliRunner()
ANSWER = (
    "I retrain when precision on fresh labels drops a set margin below the launch baseline, "
    "and watch feature drift (PSI) as an early warning while labels are delayed."
)


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.setenv("OPSDRILL_GRADER", "offline")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.chdir(tmp_path)


def test_grade_json_has_the_documented_shape() -> None:
    result = runner.invoke(app, ["grade", "--question", "retrain", "--answer", ANSWER, "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert {
        "question",
        "score",
        "max_score",
        "criteria",
        "feedback",
        "grader",
        "provisional",
    } <= set(out)
    assert out["question"] == "retrain" and out["max_score"] == 10
    assert out["grader"].startswith("offline:") and out["provisional"] is False
    assert {"point", "score", "max", "evidence"} <= set(out["criteria"][0])
    assert out["score"] == sum(c["score"] for c in out["criteria"])


def test_grade_reads_the_answer_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "answer.txt"
    path.write_text(ANSWER)
    result = runner.invoke(app, ["grade", "--question", "retrain", "--answer-file", str(path)])
    assert result.exit_code == 0 and "/10" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--question", "nope", "--answer", "x"], "no question with id 'nope'"),
        (["--question", "retrain"], "exactly one of --answer"),
        (["--question", "retrain", "--answer", "   "], "must be 1 to"),
    ],
)
def test_grade_explains_bad_input(args: list[str], message: str) -> None:
    result = runner.invoke(app, ["grade", *args])
    assert result.exit_code == 2 and message in result.output


def test_batch_grades_every_line_and_reports_bad_ones(tmp_path: Path) -> None:
    lines = [
        {"id": "a1", "question": "retrain", "answer": ANSWER},
        {"id": "a2", "question": "no-such", "answer": "x"},
        {"id": "a3", "question": "blue-green", "answer": "Flip the load balancer back to blue."},
    ]
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\nnot json\n")
    result = runner.invoke(app, ["grade", "--batch", str(path), "--json"])
    out = [json.loads(line) for line in result.output.splitlines()]
    assert [o.get("id") for o in out] == ["a1", "a2", "a3", None]
    assert out[0]["score"] > 0 and out[2]["question"] == "blue-green"
    assert "no question with id" in out[1]["error"] and out[3]["line"] == 4
    assert result.exit_code == 1


def test_eval_prints_the_agreement_metrics() -> None:
    heldout = Path(__file__).resolve().parent.parent / "bench" / "heldout.yaml"
    result = runner.invoke(app, ["eval", str(heldout), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["answers"] == 77
    for key in ("spearman", "pearson", "mae", "pairwise", "adversarial_le_3", "strong_ge_7"):
        assert isinstance(summary[key], float)


def test_stats_cost_with_no_llm_grades_says_so() -> None:
    runner.invoke(app, ["db", "upgrade"])
    result = runner.invoke(app, ["stats", "cost"])
    assert result.exit_code == 0 and "No LLM-graded answers yet" in result.output


def test_daily_costs_add_up_tokens_and_price_them() -> None:
    from datetime import UTC, datetime

    from bot.config import Settings
    from bot.grading.commands import daily_costs

    usage = {"input_tokens": 1000, "cache_creation_input_tokens": 2000,
             "cache_read_input_tokens": 0, "output_tokens": 100}  # fmt: skip
    cached = usage | {"cache_creation_input_tokens": 0, "cache_read_input_tokens": 2000}
    day = datetime(2026, 11, 23, 10, tzinfo=UTC)
    sonnet_id = "anthropic:claude-sonnet-5-5"
    rows = [(day, sonnet_id, usage), (day, sonnet_id, cached), (day, "anthropic:mystery", usage)]
    [sonnet, mystery] = daily_costs(rows, Settings(_env_file=None))  # type: ignore[call-arg]
    assert sonnet.grades == 2 and sonnet.tokens == [2000, 2000, 2000, 200]
    # $3/M input, $3.75/M cache write, $0.30/M cache read, $15/M output
    assert sonnet.dollars == pytest.approx((2000 * 3 + 2000 * 3.75 + 2000 * 0.3 + 200 * 15) / 1e6)
    assert mystery.model == "mystery" and not mystery.priced
