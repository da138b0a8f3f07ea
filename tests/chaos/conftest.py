"""Fixtures of the chaos layer: the fake Slack in the test's event loop, a database, and a
`Chaos` harness whose processes are killed at the end of the test, however it ended."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.chaos.harness import ADMIN, Chaos
from tests.fakes.slack_api import FakeSlack


@pytest.fixture
async def fake_slack() -> AsyncIterator[FakeSlack]:
    fake = FakeSlack()
    fake.users[ADMIN] = fake.default_user(ADMIN) | {"is_admin": True}
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
def chaos_database(pg_database_url: str) -> str:
    """The database the replicas share: migrated and empty (a module may override this)."""
    return pg_database_url


@pytest.fixture
async def chaos(fake_slack: FakeSlack, chaos_database: str, tmp_path: Path) -> AsyncIterator[Chaos]:
    harness = Chaos(fake=fake_slack, database_url=chaos_database, tmp_path=tmp_path)
    try:
        yield harness
    finally:
        await harness.close()
        # Captured output is shown only when the test fails.
        print(harness.report())
