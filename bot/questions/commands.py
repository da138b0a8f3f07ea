"""`opsdrill questions …`: lint, list, show and the schema for editors."""

from __future__ import annotations

import difflib
import json
from collections import Counter
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from bot.config import SHIPPED_QUESTIONS, Settings
from bot.questions.bank import Bank, BankError, load_bank
from bot.questions.lint import lint_paths
from bot.questions.schema import Category, Difficulty, Question, QuestionFile

app = typer.Typer(help="Work with the question bank.", no_args_is_help=True)
console = Console()
err = Console(stderr=True)
SCHEMA_FILE = SHIPPED_QUESTIONS / "schema.json"


def schema_text() -> str:
    """The JSON Schema of a bank file, as editors read it."""
    schema = QuestionFile.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "OpsDrill question bank file"
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def _bank() -> Bank:
    try:
        return load_bank(Settings().bank_dirs)
    except BankError as exc:
        err.print(f"[red]{exc}[/red]\nRun `opsdrill questions lint` for every problem at once.")
        raise typer.Exit(1) from None


@app.command()
def lint(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Files or directories (default: the bank).")
    ] = None,
) -> None:
    """Check bank files: schema, weights, ids, near-duplicate prompts, follow-ups."""
    targets = paths or Settings().bank_dirs
    missing = [p for p in targets if not p.exists()]
    if missing:
        err.print(f"[red]no such file or directory: {missing[0]}[/red]")
        raise typer.Exit(2)
    questions, problems = lint_paths(targets)
    for problem in problems:
        err.print(f"[red]error[/red] {escape(str(problem))}", highlight=False, soft_wrap=True)
    if problems:
        err.print(f"{len(problems)} problem(s) in {len(questions)} valid question(s).")
        raise typer.Exit(1)
    console.print(f"{len(questions)} questions, no problems.")


@app.command("list")
def list_questions(
    category: Annotated[Category | None, typer.Option(help="Only this category.")] = None,
    difficulty: Annotated[Difficulty | None, typer.Option(help="Only this difficulty.")] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="A JSON array instead of a table.")
    ] = False,
) -> None:
    """List the questions in force (shipped plus OPSDRILL_QUESTIONS_DIR)."""
    bank = _bank()
    chosen = bank.eligible(
        categories=[category] if category else None,
        difficulties=[difficulty] if difficulty else None,
    )
    if as_json:
        rows = [
            {
                "id": q.id,
                "category": q.category.value,
                "difficulty": q.difficulty.value,
                "prompt": q.prompt,
                "tags": list(q.tags),
                "version": q.version,
                "source": str(bank.sources[q.id]),
            }
            for q in chosen
        ]
        typer.echo(json.dumps(rows, indent=2))
        return
    ordered = sorted(chosen, key=lambda q: (q.category.value, q.difficulty.value, q.id))
    console.print(_table(ordered))
    console.print(_summary(chosen))


def _table(questions: list[Question]) -> Table:
    """Ids whole (people copy them into `show`); on a narrow terminal the category and
    difficulty go above the prompt so the prompt keeps a readable width."""
    id_width = max((len(q.id) for q in questions), default=2)
    if console.width >= id_width + 90:
        table = Table()
        table.add_column("id", no_wrap=True, min_width=id_width)
        for name in ("category", "difficulty", "prompt"):
            table.add_column(name)
        for q in questions:
            table.add_row(q.id, q.category.value, q.difficulty.value, q.prompt)
        return table
    table = Table(box=None, padding=(0, 1))
    table.add_column("id", no_wrap=True, min_width=id_width, style="bold")
    table.add_column("question")
    for q in questions:
        about = Text(f"{q.category.value} · {q.difficulty.value}\n", style="dim")
        table.add_row(q.id, about + Text(q.prompt))
    return table


def _summary(questions: list[Question]) -> str:
    per_difficulty = Counter(q.difficulty.value for q in questions)
    parts = ", ".join(f"{per_difficulty[d.value]} {d.value}" for d in Difficulty)
    return f"{len(questions)} questions ({parts})"


@app.command()
def show(
    question_id: Annotated[str, typer.Argument(help="The question's id.")],
    as_json: Annotated[
        bool,
        typer.Option("--json", help="The whole question as JSON, in the bank's own schema."),
    ] = False,
) -> None:
    """Everything about one question: prompt, rubric, model answer, follow-ups."""
    bank = _bank()
    q = bank.get(question_id)
    if q is None:
        err.print(_not_found(question_id, bank), highlight=False, soft_wrap=True)
        raise typer.Exit(1)
    if as_json:
        typer.echo(q.model_dump_json(indent=2))
        return
    console.rule(f"[bold]{q.id}[/bold] · {q.category.label} · {q.difficulty.value}")
    if q.context:
        console.print(q.context, style="italic")
    console.print(f"[bold]{q.prompt}[/bold]\n")
    rubric = Table("pts", "point", "full credit", "partial credit", show_lines=True)
    for p in q.rubric:
        label = p.point + (f" [dim]({p.aspect.value})[/dim]" if p.aspect else "")
        rubric.add_row(str(p.weight), label, p.full_credit, p.partial_credit)
    console.print(rubric)
    console.print("[bold]Model answer[/bold]\n" + q.model_answer + "\n")
    console.print(
        f"[bold]Typical weak answer[/bold]\n{q.weak_answer.text}\n[dim]{q.weak_answer.why}[/dim]\n"
    )
    console.print("[bold]Follow-ups[/bold]")
    for f in q.follow_ups:
        console.print(f"• ({f.point}) {f.probe}")
    console.print(
        f"\n[dim]tags: {', '.join(q.tags)} · version {q.version} · {bank.sources[q.id]}[/dim]"
    )


def _not_found(question_id: str, bank: Bank) -> str:
    """The miss, with the closest ids when some are close enough to be a typo."""
    ids = [q.id for q in bank.eligible()]
    close = difflib.get_close_matches(question_id, ids, n=3, cutoff=0.6)
    if not close:
        close = [i for i in ids if question_id.lower() in i][:3]
    hint = f"did you mean {' or '.join(close)}?" if close else "`opsdrill questions list`"
    return f"[red]No question with id {escape(question_id)!r}[/red]: {hint}"


@app.command()
def schema(
    check: Annotated[bool, typer.Option(help="Fail if the file is out of date.")] = False,
) -> None:
    """Write questions/schema.json (the JSON Schema editors use for bank files)."""
    text = schema_text()
    if check:
        if not SCHEMA_FILE.exists() or SCHEMA_FILE.read_text() != text:
            err.print(f"{SCHEMA_FILE} is out of date: run `opsdrill questions schema`")
            raise typer.Exit(1)
        console.print(f"{SCHEMA_FILE} is up to date.")
        return
    SCHEMA_FILE.write_text(text)
    console.print(f"wrote {SCHEMA_FILE}")
