"""A Slack app installed into many workspaces keeps each workspace's token in tables our
migrations create and slack_sdk's stores read: the two must agree column for column."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from slack_sdk.oauth.installation_store import Installation
from sqlalchemy import MetaData
from sqlalchemy.engine import Connection

from adapters.slack import installations
from bot.storage.db import make_engine


async def test_an_installation_is_kept_in_the_migrated_tables_slack_sdk_expects(
    database_url: str,
) -> None:
    engine = make_engine(database_url)
    try:
        store = installations.installation_store("client-1", engine)
        states = installations.state_store(engine)
        expected = MetaData()
        for table in [*store.metadata.tables.values(), *states.metadata.tables.values()]:
            table.to_metadata(expected)

        def differences(connection: Connection) -> list[Any]:
            def theirs(name: str | None, type_: str, parent_names: object) -> bool:
                return type_ != "table" or name in expected.tables

            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "include_name": theirs}
            )
            return compare_metadata(context, expected)

        async with engine.connect() as connection:
            assert await connection.run_sync(differences) == []

        await store.async_save(
            Installation(app_id="A1", team_id="T1", user_id="U1", bot_token="xoxb-one")
        )
        bot = await store.async_find_bot(enterprise_id=None, team_id="T1")
        assert bot is not None and bot.bot_token == "xoxb-one"
        assert await states.async_consume(await states.async_issue())
    finally:
        await engine.dispose()
