"""`opsdrill grade`, `opsdrill eval` and `opsdrill stats cost`."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy import select

from bot.config import Settings
from bot.grading.base import Grade, Grader
from bot.grading.evaluate import LabelledSet, evaluate, load_labelled
from bot.questions.bank import Bank, BankError, load_bank
from bot.storage.db import make_engine, make_sessionmaker
from bot.storage.models import Grade as GradeRow
from bot.user_text import MAX_ANSWER_CHARS

console = Console()
err = Console(stderr=True)
stats_app = typer.Typer(help="Usage statistics.", no_args_is_help=True)


def _setup() -> tuple[Settings, Bank, Grader]:
    from bot.app import ConfigError, build_grader

    settings = Settings()
    try:
        bank = load_bank(settings.bank_dirs)
        return settings, bank, build_grader(settings, bank)
    except (BankError, ConfigError) as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None


def grade_json(question_id: str, grade: Grade) -> dict[str, Any]:
    return {
        "question": question_id,
        "score": grade.score,
        "max_score": grade.max_score,
        "criteria": [
            {
                "id": p.point_id,
                "point": p.point,
                "verdict": p.verdict.value,
                "score": p.earned,
                "max": p.weight,
                "evidence": p.evidence,
            }
            for p in grade.points
        ],
        "feedback": grade.feedback,
        "grader": grade.grader,
        "provisional": grade.provisional,
        "flags": sorted(grade.flags),
    }


def grade_command(
    question: Annotated[str | None, typer.Option(help="The question's id.")] = None,
    answer: Annotated[str | None, typer.Option(help="The answer text.")] = None,
    answer_file: Annotated[Path | None, typer.Option(help="Read the answer from a file.")] = None,
    batch: Annotated[
        Path | None, typer.Option(help='JSON lines of {"id", "question", "answer"}.')
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Grade one answer (or a batch) with the configured grader."""
    _, bank, grader = _setup()
    if batch is not None:
        raise typer.Exit(asyncio.run(_grade_batch(bank, grader, batch)))
    if question is None or (answer is None) == (answer_file is None):
        err.print("Give --question and exactly one of --answer / --answer-file (or --batch).")
        raise typer.Exit(2)
    q = bank.get(question)
    if q is None:
        err.print(f"[red]no question with id {question!r}[/red]; `opsdrill questions list`")
        raise typer.Exit(2)
    text = answer if answer is not None else _read(answer_file)
    if not text.strip() or len(text) > MAX_ANSWER_CHARS:
        err.print(f"The answer must be 1 to {MAX_ANSWER_CHARS:,} characters.")
        raise typer.Exit(2)
    grade = asyncio.run(grader.grade(q, text))
    if as_json:
        typer.echo(json.dumps(grade_json(q.id, grade)))
        return
    console.print(f"[bold]{grade.score:g}/10[/bold] · {grade.grader}"
                  + (" · provisional" if grade.provisional else ""))  # fmt: skip
    for p in grade.points:
        console.print(f"  {p.verdict.value:>7}  {p.earned:g}/{p.weight}  {p.point}")
    console.print(grade.feedback)


def _read(path: Path | None) -> str:
    assert path is not None
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        err.print(f"[red]cannot read {path}: {exc.strerror}[/red]")
        raise typer.Exit(2) from None


async def _grade_batch(bank: Bank, grader: Grader, path: Path) -> int:
    """One output line per input line, in order; a bad line gets an `error`, not a crash."""
    failures = 0
    lines = sys.stdin if str(path) == "-" else _read(path).splitlines()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            q = bank.get(str(item["question"]))
            if q is None:
                raise KeyError(f"no question with id {item['question']!r}")
            out = {"id": item.get("id"), **grade_json(q.id, await grader.grade(q, item["answer"]))}
        except (ValueError, KeyError, TypeError) as exc:
            failures += 1
            out = {"id": _id_of(line), "line": number, "error": str(exc).strip("'\"")}
        typer.echo(json.dumps(out))
    return 1 if failures else 0


def _id_of(line: str) -> Any:
    try:
        return json.loads(line).get("id")
    except (ValueError, AttributeError):
        return None


def eval_command(
    file: Annotated[Path, typer.Argument(help="A labelled set, in the format of dev.yaml.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Grade a labelled set and print how the grader agrees with the gold scores."""
    labelled = _labelled(file)
    _, bank, grader = _setup()
    report = asyncio.run(evaluate(labelled, bank, grader))
    summary = {"grader": grader.id, **report.summary()}
    if as_json:
        typer.echo(json.dumps(summary))
        return
    table = Table("metric", "value", title=f"{file.name} · {grader.id}")
    labels = {
        "answers": "answers", "spearman": "Spearman", "pearson": "Pearson", "mae": "MAE",
        "pairwise": "pairwise ordering (gold gap ≥ 3)",
        "adversarial_le_3": "adversarial scored ≤ 3", "strong_ge_7": "strong scored ≥ 7",
    }  # fmt: skip
    for key, label in labels.items():
        table.add_row(label, str(summary[key]))
    console.print(table)


def _labelled(path: Path) -> LabelledSet:
    """The labelled set in `path`, or one line saying why it cannot be read (exit code 2)."""
    try:
        return load_labelled(path)
    except OSError as exc:
        problem = f"cannot read {path}: {exc.strerror}; `examples/eval.yaml` shows the format"
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        problem = f"{path} is not YAML{where}: {getattr(exc, 'problem', None) or exc}"
    except ValidationError as exc:
        first = exc.errors()[0]
        at = ".".join(str(p) for p in first["loc"]) or "the top level"
        problem = (
            f"{path} is not a labelled set: {first['msg']} at {at}; "
            "`examples/eval.yaml` shows the format"
        )
    err.print(f"[red]{escape(problem)}[/red]", highlight=False, soft_wrap=True)
    raise typer.Exit(2)


@dataclass
class DayCost:
    day: str
    model: str
    grades: int = 0
    tokens: list[int] = field(default_factory=lambda: [0, 0, 0, 0])
    dollars: float = 0.0
    priced: bool = True


def daily_costs(
    rows: Iterable[tuple[datetime, str, dict[str, int]]], settings: Settings
) -> list[DayCost]:
    """Tokens (input, cache write, cache read, output) and estimated dollars per day and model."""
    days: dict[tuple[str, str], DayCost] = {}
    for created, grader, usage in rows:
        model = grader.removeprefix("anthropic:")
        key = (created.date().isoformat(), model)
        entry = days.setdefault(key, DayCost(*key))
        tokens = [int(usage.get(k, 0)) for k in _USAGE_KEYS]
        entry.grades += 1
        entry.tokens = [a + b for a, b in zip(entry.tokens, tokens, strict=True)]
        price = settings.price_for(model)
        if price is None:
            entry.priced = False
            continue
        rates = (price.input, price.cache_write, price.cache_read, price.output)
        entry.dollars += sum(n * r for n, r in zip(tokens, rates, strict=True)) / 1_000_000
    return [days[k] for k in sorted(days)]


@stats_app.command("cost")
def cost_command(
    days: Annotated[int, typer.Option(help="How many days back.")] = 30,
) -> None:
    """Tokens used by the LLM grader per day, and an estimated cost (OPSDRILL_PRICES)."""
    settings = Settings()
    costs = daily_costs(asyncio.run(_usage_rows(settings)), settings)[-days:]
    if not costs:
        console.print("No LLM-graded answers yet.")
        return
    table = Table(
        "day", "model", "grades", "input", "cache write", "cache read", "output", "est. $"
    )
    for c in costs:
        dollars = f"{c.dollars:.4f}" if c.priced else "no price"
        table.add_row(c.day, c.model, str(c.grades), *(f"{n:,}" for n in c.tokens), dollars)
    console.print(table)


_USAGE_KEYS = (
    "input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens", "output_tokens",
)  # fmt: skip


async def _usage_rows(settings: Settings) -> list[tuple[Any, str, dict[str, int]]]:
    engine = make_engine(settings.database_url)
    try:
        async with make_sessionmaker(engine)() as session:
            result = await session.execute(
                select(GradeRow.created_at, GradeRow.grader, GradeRow.usage)
                .where(GradeRow.usage.is_not(None))
                .order_by(GradeRow.created_at)
            )
            return [(c, g, u) for c, g, u in result if u]
    finally:
        await engine.dispose()
