from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.config import SHIPPED_QUESTIONS
from bot.questions.bank import BankError, load_bank

SEED_IDS = {
    "retrain", "batch-vs-streaming", "validate-training-data", "blue-green", "shadow-mode",
    "model-versioning", "drift-types", "recsys-monitoring", "ml-cicd", "metrics-drop-debug",
    "feature-store",
}  # fmt: skip


def test_the_shipped_bank_loads_with_the_seed_questions() -> None:
    bank = load_bank([SHIPPED_QUESTIONS])
    assert SEED_IDS <= set(bank.questions)
    for question in bank:
        assert sum(p.weight for p in question.rubric) == 10
        assert question.weak_answer.text and question.model_answer


def _write(directory: Path, questions: list[dict[str, object]], name: str = "team.yaml") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(yaml.safe_dump({"questions": questions}, sort_keys=False))
    return path


def _shipped(question_id: str) -> dict[str, object]:
    question = load_bank([SHIPPED_QUESTIONS]).get(question_id)
    assert question is not None
    return question.model_dump(mode="json")


def test_a_team_bank_overrides_a_shipped_question_by_id(tmp_path: Path) -> None:
    ours = _shipped("retrain") | {"prompt": "When does your team retrain its churn model?"}
    _write(tmp_path, [ours])
    bank = load_bank([SHIPPED_QUESTIONS, tmp_path])
    retrain = bank.get("retrain")
    assert retrain is not None and retrain.prompt.startswith("When does your team")
    assert retrain.version != load_bank([SHIPPED_QUESTIONS]).get("retrain").version  # type: ignore[union-attr]


def test_weights_that_do_not_sum_to_ten_name_the_file_and_question(tmp_path: Path) -> None:
    broken = _shipped("retrain")
    broken["rubric"][0]["weight"] = 5  # type: ignore[index]
    path = _write(tmp_path, [broken])
    with pytest.raises(BankError) as err:
        load_bank([tmp_path])
    assert str(path) in str(err.value) and "id=retrain" in str(err.value)
    assert "sum to 12" in str(err.value)


def test_a_missing_field_is_named(tmp_path: Path) -> None:
    broken = _shipped("blue-green")
    del broken["model_answer"]
    _write(tmp_path, [broken])
    with pytest.raises(BankError, match=r"id=blue-green\)\.model_answer: Field required"):
        load_bank([tmp_path])


def test_an_id_used_twice_in_one_bank_is_refused(tmp_path: Path) -> None:
    _write(tmp_path, [_shipped("retrain")], "a.yaml")
    _write(tmp_path, [_shipped("retrain")], "b.yaml")
    with pytest.raises(BankError, match="already used"):
        load_bank([tmp_path])


def test_yaml_that_does_not_parse_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("questions: [\n  - id: x\n")
    with pytest.raises(BankError, match=r"bad\.yaml: cannot read YAML"):
        load_bank([tmp_path])
