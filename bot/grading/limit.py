"""How many LLM calls may be in flight at once: a limit that halves when the API says it is
overloaded (429, 529) and grows back by about one per round of successful calls (AIMD), and
that holds every new call back for as long as the API's Retry-After asks."""

from __future__ import annotations

import asyncio
import email.utils
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass

OVERLOADED = frozenset({429, 529})
MAX_PAUSE = 60.0  # seconds; a Retry-After beyond this is not trusted to hold every call back


@dataclass(frozen=True, slots=True)
class Change:
    """The limit moved: when (monotonic seconds), to what, and why."""

    at: float
    limit: int
    reason: str


@dataclass(frozen=True, slots=True)
class Slot:
    """One call's hold on the limit. `round` is the limit's round when the call started: a call
    that started before the last cut reports an overload the cut already answered."""

    round: int


class AdaptiveLimit:
    """At most `current` calls at once, between `floor` and `ceiling`."""

    def __init__(
        self,
        ceiling: int,
        *,
        floor: int = 1,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 1 <= floor <= ceiling:
            raise ValueError(f"need 1 <= floor <= ceiling, got {floor} and {ceiling}")
        self.ceiling = ceiling
        self.floor = floor
        self._monotonic = monotonic
        self._window = float(ceiling)
        self._in_flight = 0
        self._round = 0
        self._resume_at = 0.0
        self._room = asyncio.Event()
        self.changes: list[Change] = []
        """Every move of the limit, oldest first (for logs and the benchmark)."""

    @property
    def current(self) -> int:
        """How many calls may be in flight now."""
        return max(self.floor, int(self._window))

    @property
    def in_flight(self) -> int:
        return self._in_flight

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[Slot]:
        """Wait for room (and for any pause the API asked for), then hold it for one call."""
        slot = await self._acquire()
        try:
            yield slot
        finally:
            self._in_flight -= 1
            self._room.set()

    def overloaded(self, slot: Slot, *, retry_after: float | None = None) -> None:
        """The API refused a call for load: halve the limit once per round of calls, and hold
        every call back for `retry_after` seconds when the API said so."""
        if retry_after is not None and retry_after > 0:
            until = self._monotonic() + min(retry_after, MAX_PAUSE)
            self._resume_at = max(self._resume_at, until)
        if slot.round != self._round:
            return  # started before the last cut, which already answered this overload
        self._round += 1
        before = self.current
        self._window = max(float(self.floor), self._window / 2)
        if self.current != before:
            self._record("overloaded")

    def succeeded(self) -> None:
        """A call went through: grow by 1/limit, so by about one per round of calls."""
        if self._window >= self.ceiling:
            return
        before = self.current
        self._window = min(float(self.ceiling), self._window + 1 / self._window)
        if self.current != before:
            self._record("recovering")
            self._room.set()

    async def _acquire(self) -> Slot:
        while True:
            pause = self._resume_at - self._monotonic()
            if pause > 0:
                await asyncio.sleep(pause)
                continue
            if self._in_flight < self.current:
                self._in_flight += 1
                return Slot(self._round)
            # Every release wakes all waiters; the first to run takes the room, the rest wait.
            self._room.clear()
            await self._room.wait()

    def _record(self, reason: str) -> None:
        self.changes.append(Change(self._monotonic(), self.current, reason))


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds the API asked us to wait: `retry-after-ms`, else `retry-after` (seconds or an
    HTTP date); None when it said nothing usable."""
    for name, scale in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            return float(value) / scale
        except ValueError:
            pass
    when = headers.get("retry-after")
    parsed = email.utils.parsedate_tz(when) if when else None
    if parsed is None:
        return None
    return float(email.utils.mktime_tz(parsed) - time.time())
