"""`opsdrill discord invite-url` and `opsdrill discord sync`."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import typer

from bot.config import Settings

app = typer.Typer(help="Discord setup.", no_args_is_help=True)


def _settings() -> Settings:
    settings = Settings()
    if settings.discord_token is None:
        typer.echo("Set DISCORD_TOKEN (the bot token from the Developer Portal) first.", err=True)
        raise typer.Exit(2)
    return settings


@app.command("invite-url")
def invite(
    application_id: Annotated[
        int | None, typer.Option(help="Defaults to DISCORD_APPLICATION_ID, else asks Discord.")
    ] = None,
) -> None:
    """Print the URL that adds the bot with exactly the scopes and permissions it needs."""
    app_id = application_id or Settings().discord_application_id
    if app_id is None:
        app_id = asyncio.run(_with_bot(_settings(), _application_id))
    from adapters.discord.adapter import invite_url

    typer.echo(invite_url(app_id))


@app.command("sync")
def sync(
    guild: Annotated[
        int | None, typer.Option(help="One server, immediately (for testing).")
    ] = None,
) -> None:
    """Register the /drill commands with Discord (global changes can take a while to show)."""
    from adapters.discord.adapter import sync_commands

    count = asyncio.run(_with_bot(_settings(), lambda bot: sync_commands(bot, guild)))
    where = f"server {guild}" if guild else "every server"
    typer.echo(f"Synced {count} command(s) to {where}.")


async def _application_id(bot: Any) -> int:
    info = await bot.application_info()
    return int(info.id)


async def _with_bot(settings: Settings, action: Any) -> Any:
    from adapters.discord.adapter import DiscordAdapter  # discord.py loads only when used

    adapter = DiscordAdapter(settings)
    bot = adapter.bot
    await bot.login(settings.discord_token.get_secret_value())  # type: ignore[union-attr]
    try:
        return await action(bot)
    finally:
        await bot.close()
