"""The seams the architecture keeps: adapters translate, and reach the core only through the
port and the domain; the database belongs to the app."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ADAPTERS = Path(__file__).resolve().parents[2] / "adapters"
# What an adapter may import from the core: the port, the domain, settings, the after-ack
# runner and plain text rules. Services, storage and grading are the core's own business.
ALLOWED = {"bot.ports", "bot.domain", "bot.config", "bot.background", "bot.user_text"}
ENGINE_MAKERS = {"make_engine", "create_async_engine", "create_engine"}


def _imports(path: Path) -> list[tuple[str, list[str]]]:
    found: list[tuple[str, list[str]]] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.append((node.module, [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            found.extend((a.name, []) for a in node.names)
    return found


MODULES = sorted(ADAPTERS.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ADAPTERS)))
def test_adapters_reach_the_core_only_through_the_port_and_the_domain(path: Path) -> None:
    for module, _ in _imports(path):
        if module == "bot" or module.startswith("bot."):
            assert module in ALLOWED, f"{path.name} imports {module}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ADAPTERS)))
def test_adapters_never_build_a_database_engine_of_their_own(path: Path) -> None:
    for module, names in _imports(path):
        assert not ENGINE_MAKERS & set(names), f"{path.name} imports {names} from {module}"
