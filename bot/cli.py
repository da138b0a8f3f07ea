"""The `opsdrill` command line."""

from __future__ import annotations

import asyncio
import importlib
import logging
import signal
import sys
import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup

from bot.config import Settings
from bot.grading.commands import eval_command, grade_command, stats_app
from bot.questions.commands import app as questions_app

# A platform's own command group (`opsdrill discord ...`), by the adapter module defining `app`.
PLATFORM_GROUPS = {"discord": "adapters.discord.commands"}


class _Commands(TyperGroup):
    """The top-level commands; a platform's group is imported from its adapter only when it is
    used or listed, so importing the CLI loads no adapter code."""

    def list_commands(self, ctx: Any) -> list[str]:
        return [*super().list_commands(ctx), *PLATFORM_GROUPS]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        module = PLATFORM_GROUPS.get(cmd_name)
        if module is not None and cmd_name not in self.commands:
            group = typer.main.get_group(importlib.import_module(module).app)
            group.name = cmd_name
            self.commands[cmd_name] = group
        return super().get_command(ctx, cmd_name)


app = typer.Typer(
    name="opsdrill",
    help="OpsDrill: daily MLOps interview drills for Slack, Discord and the terminal.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    cls=_Commands,
)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(questions_app, name="questions")
app.add_typer(stats_app, name="stats")
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
    name: Annotated[
        str | None, typer.Option(help="Your display name (default: your login name).")
    ] = None,
    admin: Annotated[
        bool, typer.Option("--admin/--member", help="Take part as an admin or as a member.")
    ] = False,
) -> None:
    """Use the bot interactively in the terminal, as a member (or admin) of a local team."""
    from bot.chat import run_chat
    from bot.terminal import default_name

    settings = _settings()
    _logging(settings, quiet=True)
    asyncio.run(run_chat(settings, console, name=name or default_name(), admin=admin))


@app.command()
def mock(
    topic: Annotated[
        str | None,
        typer.Option(help="A category, e.g. monitoring; default: your weakest topic, or a mix."),
    ] = None,
    questions: Annotated[
        int | None, typer.Option(min=1, max=6, help="How many questions (default 3).")
    ] = None,
    name: Annotated[
        str | None, typer.Option(help="Your display name (default: your login name).")
    ] = None,
) -> None:
    """A mock interview in the terminal: questions, follow-ups and a scorecard."""
    from bot.mock_chat import run_mock
    from bot.terminal import default_name

    settings = _settings()
    _logging(settings, quiet=True)
    name = name or default_name()
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


@app.command("recap")
def recap(
    channel: Annotated[str, typer.Option(help="The channel's platform id, e.g. C0123 or mlops.")],
    out: Annotated[Path, typer.Option(help="Where to write the PNG.")] = Path("recap.png"),
    week: Annotated[
        str | None, typer.Option(help="Any day of the week to recap, YYYY-MM-DD (default: now).")
    ] = None,
    platform: Annotated[
        str | None, typer.Option(help="slack, discord or console, if the id is not unique.")
    ] = None,
) -> None:
    """Draw a channel's weekly recap (Monday to Sunday) from the database, offline."""
    from datetime import UTC, date, datetime

    from adapters.console.render import render_card
    from bot.domain import Card
    from bot.services.recap import week_recap
    from bot.services.recap_data import RecapData
    from bot.storage import migrate
    from bot.storage.db import make_engine, make_sessionmaker

    settings = _settings()
    _logging(settings, quiet=True)
    try:
        day = date.fromisoformat(week) if week else None
    except ValueError:
        err.print(f"--week takes a date as YYYY-MM-DD, not {(week or '')[:20]!r}.")
        raise typer.Exit(2) from None

    async def _recap() -> tuple[RecapData, Card, bytes] | str:
        engine = make_engine(settings.database_url)
        try:
            await migrate.upgrade(engine)
            sessions = make_sessionmaker(engine)
            return await week_recap(sessions, channel, platform, day, datetime.now(UTC))
        finally:
            await engine.dispose()

    made = asyncio.run(_recap())
    if isinstance(made, str):
        err.print(made)
        raise typer.Exit(1)
    data, card, png = made
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(png)
    except OSError as exc:
        err.print(f"Could not write {out}: {exc.strerror or exc}.")
        raise typer.Exit(1) from None
    console.print(render_card(card, card.names, style="cyan", subtitle="weekly recap"))
    console.print(f"Wrote {out} ({len(png) // 1024} KB, {data.answers} answers).")


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:  # Ctrl-C before a command had its own goodbye ready
        err.print("Interrupted.")
        sys.exit(130)
    except Exception as exc:
        message = _expected(exc)
        if message is None:
            raise
        err.print(f"[red]{escape(message)}[/red]", highlight=False, soft_wrap=True)
        sys.exit(2)


def _expected(exc: Exception) -> str | None:
    """What a person can fix themselves (the database is missing or unreachable), in a line."""
    from bot.cli_errors import explain_database_error

    try:
        url = Settings().database_url
    except ValidationError:
        return None
    return explain_database_error(exc, url)
