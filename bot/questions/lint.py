"""`opsdrill questions lint`: everything that makes a bank file unusable or misleading, each
problem named with its file, question and field."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import ValidationError

from bot.grading.words import content_stems
from bot.questions.bank import parse_yaml, yaml_files
from bot.questions.schema import Question

NEAR_DUPLICATE = 0.6
"""Share of meaningful words two prompts may have in common before they count as one question."""


@dataclass(frozen=True, slots=True)
class Problem:
    path: Path
    question: str | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}"
        if self.question:
            where += f" [{self.question}]"
        if self.field:
            where += f" {self.field}"
        return f"{where}: {self.message}"


def lint_paths(paths: Iterable[Path]) -> tuple[list[Question], list[Problem]]:
    """Lint every YAML file under `paths` (files or directories) as one bank."""
    files: list[Path] = []
    for path in paths:
        files.extend(yaml_files(path) if path.is_dir() else [path])
    if not files:
        return [], [Problem(Path(*paths) if paths else Path("."), None, "", "no YAML files")]
    questions: list[tuple[Path, Question]] = []
    problems: list[Problem] = []
    for path in files:
        found, file_problems = lint_file(path)
        questions.extend((path, q) for q in found)
        problems.extend(file_problems)
    problems.extend(_duplicate_ids(questions))
    problems.extend(_near_duplicate_prompts(questions))
    return [q for _, q in questions], problems


def lint_file(path: Path) -> tuple[list[Question], list[Problem]]:
    """The valid questions of one file, and the problems of the others."""
    try:
        raw = parse_yaml(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        return [], [Problem(path, None, "", f"cannot read YAML: {exc}")]
    if not isinstance(raw, dict) or not isinstance(raw.get("questions"), list):
        return [], [Problem(path, None, "questions", "the file must hold `questions:`, a list")]
    extra = sorted(set(raw) - {"questions"})
    if extra:
        return [], [Problem(path, None, extra[0], "unknown top-level key; only `questions`")]
    valid: list[Question] = []
    problems: list[Problem] = []
    for index, item in enumerate(raw["questions"]):
        qid = item.get("id") if isinstance(item, dict) else None
        label = str(qid) if qid else f"question {index + 1}"
        try:
            question = Question.model_validate(item)
        except ValidationError as exc:
            problems.extend(_problem(path, label, err) for err in exc.errors())
            continue
        problems.extend(_repeated_entries(path, question))
        valid.append(question)
    return valid, problems


def _problem(path: Path, question: str | None, err: object) -> Problem:
    e = err if isinstance(err, dict) else {}
    loc = ".".join(str(p) for p in e.get("loc", ()))
    message = str(e.get("msg", "invalid")).removeprefix("Value error, ")
    return Problem(path, question, loc, message)


def _repeated_entries(path: Path, question: Question) -> list[Problem]:
    """Phrasings or terms that repeat within a point add nothing for the grader."""
    problems = []
    for i, point in enumerate(question.rubric):
        for name in ("phrasings", "terms"):
            items = [s.strip().lower() for s in getattr(point, name)]
            if len(set(items)) != len(items):
                problems.append(
                    Problem(path, question.id, f"rubric.{i}.{name}", "has the same entry twice")
                )
    return problems


def _duplicate_ids(questions: list[tuple[Path, Question]]) -> list[Problem]:
    seen: dict[str, Path] = {}
    problems = []
    for path, question in questions:
        if question.id in seen:
            problems.append(
                Problem(path, question.id, "id", f"duplicate id: also used in {seen[question.id]}")
            )
        else:
            seen[question.id] = path
    return problems


def prompt_similarity(a: str, b: str) -> float:
    """Share of meaningful words two prompts have in common (Jaccard over stems)."""
    sa, sb = set(content_stems(a)), set(content_stems(b))
    return len(sa & sb) / len(sa | sb) if sa | sb else 0.0


def _near_duplicate_prompts(questions: list[tuple[Path, Question]]) -> list[Problem]:
    problems = []
    for (pa, qa), (_, qb) in itertools.combinations(questions, 2):
        if qa.id == qb.id:
            continue
        similarity = prompt_similarity(qa.prompt, qb.prompt)
        if similarity >= NEAR_DUPLICATE:
            problems.append(
                Problem(
                    pa,
                    qa.id,
                    "prompt",
                    f"near-duplicate of {qb.id!r} ({similarity:.0%} of words shared)",
                )
            )
    return problems
