"""Loading the question bank from YAML files, validated against the schema."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from pydantic import ValidationError

from bot.questions.schema import Category, Difficulty, Question, QuestionFile


class BankError(Exception):
    """A bank file that cannot be used, with the file and field named."""


@dataclass(frozen=True)
class Bank:
    """The questions in force: shipped ones, overridden or extended by team banks."""

    questions: dict[str, Question]
    sources: dict[str, Path] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.questions)

    def __iter__(self) -> Iterator[Question]:
        return iter(self.questions.values())

    def get(self, question_id: str) -> Question | None:
        return self.questions.get(question_id)

    def eligible(
        self,
        *,
        categories: Iterable[str] | None = None,
        difficulties: Iterable[str] | None = None,
    ) -> list[Question]:
        """Questions a channel limited to `categories` and `difficulties` may get."""
        cats = {Category(c) for c in categories} if categories else None
        diffs = {Difficulty(d) for d in difficulties} if difficulties else None
        return [
            q
            for q in self.questions.values()
            if (cats is None or q.category in cats) and (diffs is None or q.difficulty in diffs)
        ]


_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's loader is ~10x faster


def parse_yaml(text: str) -> object:
    return yaml.load(text, Loader=_Loader)


def read_file(path: Path) -> list[Question]:
    """The questions in one YAML file; BankError names the file and the failing field."""
    try:
        raw = parse_yaml(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise BankError(f"{path}: cannot read YAML: {exc}") from exc
    try:
        return QuestionFile.model_validate(raw).questions
    except ValidationError as exc:
        raise BankError(f"{path}: {describe(exc, raw)}") from exc


def describe(exc: ValidationError, raw: object) -> str:
    """One line per error: `questions[3] (id=blue-green).rubric.0.weight: ...`."""
    lines = []
    for err in exc.errors():
        loc = list(err["loc"])
        where = ".".join(str(p) for p in loc)
        if len(loc) >= 2 and loc[0] == "questions" and isinstance(loc[1], int):
            qid = _question_id(raw, loc[1])
            rest = ".".join(str(p) for p in loc[2:])
            where = f"questions[{loc[1]}]" + (f" (id={qid})" if qid else "")
            where += f".{rest}" if rest else ""
        lines.append(f"{where}: {err['msg']}")
    return "; ".join(lines)


def _question_id(raw: object, index: int) -> str | None:
    if isinstance(raw, dict):
        items = raw.get("questions")
        if isinstance(items, list) and index < len(items) and isinstance(items[index], dict):
            qid = items[index].get("id")
            return str(qid) if qid is not None else None
    return None


def yaml_files(directory: Path) -> list[Path]:
    return sorted([*directory.rglob("*.yaml"), *directory.rglob("*.yml")])


def load_bank(directories: Iterable[Path]) -> Bank:
    """Every question under `directories`, later directories overriding earlier ones by id.
    Within one directory an id may appear once."""
    questions: dict[str, Question] = {}
    sources: dict[str, Path] = {}
    for directory in directories:
        if not directory.is_dir():
            raise BankError(f"{directory}: not a directory of question files")
        seen_here: dict[str, Path] = {}
        for path in yaml_files(directory):
            for question in read_file(path):
                if question.id in seen_here:
                    raise BankError(
                        f"{path}: question id {question.id!r} is already used in "
                        f"{seen_here[question.id]}"
                    )
                seen_here[question.id] = path
                questions[question.id] = question
                sources[question.id] = path
    if not questions:
        raise BankError("the question bank is empty")
    return Bank(questions=questions, sources=sources)
