"""Alembic environment: migrates the database OpsDrill's settings point at, on its async driver."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from bot.storage.models import Base

target_metadata = Base.metadata

# Tables that 0002 creates for slack_sdk's OAuth stores (adapters/slack/installations.py). They
# are slack_sdk's schema, not our models, so the core need not import Slack code; autogenerate
# and `alembic check` leave them alone. A Slack adapter test compares them with slack_sdk's own.
SDK_TABLES = frozenset({"slack_installations", "slack_bots", "slack_oauth_states"})


def _ours(name: str | None, type_: str, parent_names: object) -> bool:
    return not (type_ == "table" and name in SDK_TABLES)


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_name=_ours,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_with_own_engine(url: str) -> None:
    from bot.storage.db import make_engine

    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
            await connection.commit()
    finally:
        await engine.dispose()


def _main() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        # Called from `bot.storage.migrate` inside the running app's event loop.
        _run(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        from bot.config import Settings

        url = Settings().database_url
    asyncio.run(_run_with_own_engine(url))


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run `opsdrill db upgrade`")
_main()
