"""docker-compose.yml runs the bot in Socket Mode by default and over HTTP with a profile."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent.parent


def test_compose_has_a_socket_mode_bot_and_an_http_bot_with_its_port_published() -> None:
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    assert "ports" not in services["bot"] and "profiles" not in services["bot"]
    http = services["bot-http"]
    command = http["command"]
    port = command[command.index("--port") + 1]
    assert command[command.index("--slack-mode") + 1] == "http"
    assert http["profiles"] == ["http"]
    assert any(str(p).endswith(f":{port}") for p in http["ports"])
    assert http["environment"] == services["bot"]["environment"]  # the same database
