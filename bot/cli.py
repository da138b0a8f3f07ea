"""The `opsdrill` command line."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console

from adapters.discord.commands import app as discord_app
from bot.config import Settings
from bot.grading.commands import eval_command, grade_command, stats_app
from bot.questions.commands import app as questions_app

app = typer.Typer(
    name="opsdrill",
    help="OpsDrill: daily MLOps interview drills for Slack, Discord and the terminal.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(questions_app, name="questions")
app.add_typer(stats_app, name="stats")
app.add_typer(discord_app, name="discord")
app.command("grade")(grade_command)
app.command("eval")(eval_command)

console = Console()
err = Console(stderr=True)


def _settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        for error in exc.errors():
            where = ".".join(str(p) for p in error["loc"]) or "settings"
            err.print(f"[red]Configuration error[/red] in {where}: {error['msg']}")
        raise typer.Exit(2) from None


def _logging(settings: Settings, *, quiet: bool = False) -> None:
    level = logging.WARNING if quiet else getattr(logging, settings.log_level.upper(), logging.INFO)
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    for noisy in ("apscheduler", "aiosqlite", "sqlalchemy.engine", "alembic"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


@app.command()
def demo() -> None:
    """Play a scripted round end to end in the terminal (SQLite, offline grader, no tokens)."""
    from bot.demo import run_demo

    settings = _settings()
    _logging(settings, quiet=True)
    asyncio.run(run_demo(settings, console))


@app.command()
def chat(
    name: Annotated[str, typer.Option(help="Your display name in the chat.")] = "you",
) -> None:
    """Use the bot interactively in the terminal, as a member of a local team."""
    from bot.chat import run_chat

    settings = _settings()
    _logging(settings, quiet=True)
    asyncio.run(run_chat(settings, console, name=name))


@app.command()
def mock(
    topic: Annotated[
        str | None,
        typer.Option(help="A category, e.g. monitoring; default: your weakest topic, or a mix."),
    ] = None,
    questions: Annotated[
        int | None, typer.Option(min=1, max=6, help="How many questions (default 3).")
    ] = None,
    name: Annotated[str, typer.Option(help="Your display name.")] = "you",
) -> None:
    """A mock interview in the terminal: questions, follow-ups and a scorecard."""
    from bot.mock_chat import run_mock

    settings = _settings()
    _logging(settings, quiet=True)
    if not asyncio.run(run_mock(settings, console, name=name, topic=topic, questions=questions)):
        raise typer.Exit(1)


class SlackMode(StrEnum):
    """How the bot hears from Slack: a Socket Mode connection, or HTTP requests to it."""

    SOCKET = "socket"
    HTTP = "http"


@app.command()
def run(
    slack_mode: Annotated[
        SlackMode | None, typer.Option(help="Default: socket with SLACK_APP_TOKEN, else http.")
    ] = None,
    host: Annotated[str, typer.Option(help="HTTP mode: the address to listen on.")] = "0.0.0.0",
    port: Annotated[
        int, typer.Option(help="HTTP mode: the port (/slack/events, /healthz).")
    ] = 3000,
) -> None:
    """Run the bot for the platforms configured in the environment (migrates the database)."""
    from bot.runner import NoPlatformConfigured, run_bot

    settings = _settings()
    _logging(settings)
    try:
        asyncio.run(
            run_bot(
                settings,
                stop_signals=(signal.SIGINT, signal.SIGTERM),
                slack_mode=None if slack_mode is None else slack_mode.value,
                host=host,
                port=port,
            )
        )
    except NoPlatformConfigured as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None


@app.command()
def health(
    max_age: Annotated[
        int, typer.Option(help="Seconds after which the bot counts as stuck.")
    ] = 120,
) -> None:
    """Exit 0 if a running `opsdrill run` has shown signs of life recently (for HEALTHCHECK)."""
    path: Path = _settings().heartbeat_file
    try:
        age = time.time() - path.stat().st_mtime
    except FileNotFoundError:
        err.print(f"no heartbeat at {path}: is `opsdrill run` running?")
        raise typer.Exit(1) from None
    if age > max_age:
        err.print(f"last heartbeat {age:.0f}s ago (limit {max_age}s)")
        raise typer.Exit(1)
    console.print(f"healthy: last heartbeat {age:.0f}s ago")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration to DATABASE_URL."""
    from bot.storage import migrate
    from bot.storage.db import make_engine

    settings = _settings()
    _logging(settings)

    async def _upgrade() -> None:
        engine = make_engine(settings.database_url)
        try:
            await migrate.upgrade(engine)
        finally:
            await engine.dispose()

    asyncio.run(_upgrade())
    console.print("Database is up to date.")


@app.command("export")
def export(
    team: Annotated[str, typer.Option(help="The team's platform id (workspace or server id).")],
    out: Annotated[Path, typer.Option(help="Where to write the JSON file.")],
    platform: Annotated[str, typer.Option(help="slack, discord or console.")] = "slack",
) -> None:
    """Write everything stored about one team's members to a JSON file (for operators)."""
    from bot.services.export import ExportService, to_json
    from bot.storage import migrate
    from bot.storage.db import make_engine, make_sessionmaker

    settings = _settings()
    _logging(settings, quiet=True)

    async def _export() -> dict[str, object] | None:
        engine = make_engine(settings.database_url)
        try:
            await migrate.upgrade(engine)
            return await ExportService(sessions=make_sessionmaker(engine)).team(platform, team)
        finally:
            await engine.dispose()

    record = asyncio.run(_export())
    if record is None:
        err.print(f"No {platform} team `{team}` in this database.")
        raise typer.Exit(1)
    out.write_bytes(to_json(record))
    members = record.get("members")
    console.print(f"Wrote {len(members) if isinstance(members, list) else 0} member(s) to {out}.")


def main() -> None:
    app()
