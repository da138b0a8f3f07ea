"""The flow tests' usual bot: started on Monday 23 November 2026 at 09:00 UTC, with one channel
configured and that day's round open. A test module defines its own `bot` where it needs
another start."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from tests.flow.harness import Harness

MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.fixture
async def bot(database_url: str) -> AsyncIterator[Harness]:
    harness = await Harness.start(database_url, now=MONDAY)
    await harness.configure()
    await harness.tick(MONDAY)
    yield harness
    await harness.stop()
