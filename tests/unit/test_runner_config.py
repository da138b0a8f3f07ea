from __future__ import annotations

import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.runner import NoPlatformConfigured, platform_adapters
from tests.conftest import make_settings


@pytest.mark.parametrize(
    ("env", "mode", "message"),
    [
        ({}, None, "No chat platform is configured"),
        ({"SLACK_BOT_TOKEN": "xoxb-1"}, "socket", "needs SLACK_APP_TOKEN"),
        ({"SLACK_BOT_TOKEN": "xoxb-1"}, "http", "needs SLACK_SIGNING_SECRET"),
        ({"SLACK_CLIENT_ID": "1.2", "SLACK_CLIENT_SECRET": "s", "SLACK_APP_TOKEN": "xapp-1"},
         "socket", "needs HTTP mode"),
    ],
)  # fmt: skip
def test_run_explains_what_a_platform_still_needs(
    env: dict[str, str], mode: str | None, message: str
) -> None:
    settings = make_settings("sqlite:///:memory:", **env)
    with pytest.raises(NoPlatformConfigured, match=message):
        platform_adapters(settings, slack_mode=mode)


def test_an_app_token_means_socket_mode_by_default() -> None:
    settings = make_settings(
        "sqlite:///:memory:", SLACK_BOT_TOKEN="xoxb-1", SLACK_APP_TOKEN="xapp-1"
    )
    [adapter] = platform_adapters(settings)
    assert adapter.platform == "slack" and adapter._mode == "socket"  # type: ignore[attr-defined]


def test_slack_and_discord_run_side_by_side_when_both_are_configured() -> None:
    settings = make_settings(
        "sqlite:///:memory:", SLACK_BOT_TOKEN="xoxb-1", SLACK_APP_TOKEN="xapp-1",
        DISCORD_TOKEN="discord-token",
    )  # fmt: skip
    assert [a.platform for a in platform_adapters(settings)] == ["slack", "discord"]


def test_an_unknown_slack_mode_is_refused_with_the_modes_that_work() -> None:
    result = CliRunner().invoke(app, ["run", "--slack-mode", "websocket"])
    assert result.exit_code == 2
    assert "'socket'" in result.output and "'http'" in result.output
