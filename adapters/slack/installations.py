"""Where a Slack app installed into many workspaces keeps its tokens: slack_sdk's OAuth
installation and state stores, on the bot's database.

The tables are slack_sdk's own; migration 0002 creates them, so the stores' `create_tables` is
never called, and the core's models leave them out (the core imports no Slack code)."""

from __future__ import annotations

from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore
from sqlalchemy.ext.asyncio import AsyncEngine

INSTALLATIONS = "slack_installations"
BOTS = "slack_bots"
STATES = "slack_oauth_states"
STATE_EXPIRY = 600  # seconds an "Add to Slack" click has to come back


def installation_store(client_id: str, engine: AsyncEngine) -> AsyncSQLAlchemyInstallationStore:
    """The store of each workspace's bot token, in the migrated tables."""
    return AsyncSQLAlchemyInstallationStore(
        client_id, engine, bots_table_name=BOTS, installations_table_name=INSTALLATIONS
    )


def state_store(engine: AsyncEngine) -> AsyncSQLAlchemyOAuthStateStore:
    """The store of pending OAuth `state` values, in the migrated table."""
    return AsyncSQLAlchemyOAuthStateStore(STATE_EXPIRY, engine, table_name=STATES)
