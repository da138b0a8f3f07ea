from __future__ import annotations

import pytest
from pydantic import ValidationError

from bot.config import Settings
from bot.storage.db import async_url


def test_admins_are_read_from_a_comma_separated_list() -> None:
    settings = Settings(_env_file=None, OPSDRILL_ADMINS="U1, slack:U2 ,U3")  # type: ignore[call-arg]
    assert settings.is_listed_admin("slack", "U1")
    assert settings.is_listed_admin("slack", "U2")
    assert not settings.is_listed_admin("discord", "U2")


def test_an_unknown_time_zone_is_refused_with_its_name() -> None:
    with pytest.raises(ValidationError, match="Mars/Olympus"):
        Settings(_env_file=None, OPSDRILL_TIMEZONE="Mars/Olympus")  # type: ignore[call-arg]


def test_secrets_do_not_show_in_the_settings_repr() -> None:
    settings = Settings(_env_file=None, SLACK_BOT_TOKEN="xoxb-secret-value")  # type: ignore[call-arg]
    assert "xoxb-secret-value" not in repr(settings)


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("sqlite:///./opsdrill.db", "sqlite+aiosqlite:///./opsdrill.db"),
        ("postgresql://u:p@db/x", "postgresql+asyncpg://u:p@db/x"),
        ("postgres://u@db/x", "postgresql+asyncpg://u@db/x"),
    ],
)
def test_database_urls_get_the_async_driver(given: str, used: str) -> None:
    assert async_url(given) == used


def test_an_unsupported_database_is_refused() -> None:
    with pytest.raises(ValueError, match="unsupported database"):
        async_url("mysql://root@localhost/x")


def test_shard_ids_need_the_total_and_must_lie_within_it() -> None:
    ok = Settings(_env_file=None, DISCORD_SHARD_COUNT="4", DISCORD_SHARD_IDS="0, 2")  # type: ignore[call-arg]
    assert ok.discord_shard_ids == [0, 2]
    with pytest.raises(ValidationError, match="needs DISCORD_SHARD_COUNT"):
        Settings(_env_file=None, DISCORD_SHARD_IDS="1")  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match=r"outside 0\.\.3"):
        Settings(_env_file=None, DISCORD_SHARD_COUNT="4", DISCORD_SHARD_IDS="4")  # type: ignore[call-arg]
