"""Schedule maths: when a channel's rounds open and close, in the channel's own time zone.

Pure functions over a `Schedule`; stored times are UTC, wall times are the channel's.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_PRESETS = {"daily": WEEKDAYS, "weekdays": WEEKDAYS[:5], "weekends": WEEKDAYS[5:]}


def parse_weekdays(spec: str) -> frozenset[int]:
    """`mon-fri`, `daily`, `mon,wed,fri`, `sat-sun` → weekday numbers (Monday is 0)."""
    spec = spec.strip().lower()
    if spec in _PRESETS:
        return frozenset(WEEKDAYS.index(d) for d in _PRESETS[spec])
    days: set[int] = set()
    for part in filter(None, re.split(r"[,\s]+", spec)):
        start, _, end = part.partition("-")
        if start not in WEEKDAYS or (end and end not in WEEKDAYS):
            raise ValueError(f"unknown weekday in {spec!r}; use e.g. mon-fri, daily or mon,wed,fri")
        first, last = WEEKDAYS.index(start), WEEKDAYS.index(end or start)
        span = range(first, last + 1) if first <= last else [*range(first, 7), *range(last + 1)]
        days.update(span)
    if not days:
        raise ValueError("a schedule needs at least one weekday")
    return frozenset(days)


def format_weekdays(days: frozenset[int]) -> str:
    return ",".join(WEEKDAYS[d] for d in sorted(days))


@dataclass(frozen=True, slots=True)
class Slot:
    """One scheduled round: the channel's local date and when it opens and closes (UTC)."""

    local_date: date
    opens_at: datetime
    closes_at: datetime


@dataclass(frozen=True, slots=True)
class Schedule:
    post_time: time
    zone: ZoneInfo
    weekdays: frozenset[int]
    window: timedelta

    def __post_init__(self) -> None:
        if not timedelta(minutes=15) <= self.window <= timedelta(hours=24):
            raise ValueError("the answer window must be between 15 minutes and 24 hours")

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.zone)

    def slot(self, local_date: date) -> Slot:
        """The round for `local_date`, whether or not that date is a scheduled weekday."""
        wall_open = datetime.combine(local_date, self.post_time)
        return Slot(
            local_date=local_date,
            opens_at=_wall_to_utc(wall_open, self.zone),
            closes_at=_wall_to_utc(wall_open + self.window, self.zone),
        )

    def slots_between(self, start: datetime, end: datetime) -> Iterator[Slot]:
        """Scheduled slots whose opening falls in [start, end], oldest first."""
        day = self.local(start).date() - timedelta(days=1)
        last = self.local(end).date()
        while day <= last:
            if day.weekday() in self.weekdays:
                slot = self.slot(day)
                if start <= slot.opens_at <= end:
                    yield slot
            day += timedelta(days=1)

    def next_slot(self, after: datetime) -> Slot:
        day = self.local(after).date()
        for offset in range(8):
            candidate = day + timedelta(days=offset)
            if candidate.weekday() in self.weekdays and self.slot(candidate).opens_at > after:
                return self.slot(candidate)
        raise AssertionError("a schedule with a weekday always has a next slot")

    def open_trigger(self) -> CronTrigger:
        """Fires when a round opens, on the wall clock of the channel's zone (DST-correct)."""
        return CronTrigger(
            day_of_week=format_weekdays(self.weekdays),
            hour=self.post_time.hour,
            minute=self.post_time.minute,
            timezone=self.zone,
        )

    def close_trigger(self) -> CronTrigger:
        """Fires when a round's answer window ends; a window past midnight shifts the days."""
        wall_close = datetime.combine(date(2000, 1, 3), self.post_time) + self.window
        shift = (wall_close.date() - date(2000, 1, 3)).days
        days = frozenset((d + shift) % 7 for d in self.weekdays)
        return CronTrigger(
            day_of_week=format_weekdays(days),
            hour=wall_close.hour,
            minute=wall_close.minute,
            timezone=self.zone,
        )


def _wall_to_utc(wall: datetime, zone: ZoneInfo) -> datetime:
    """A wall time in `zone` as UTC. With fold=0 a time skipped by a spring-forward gap lands
    after the gap (02:30 becomes 03:30), and a repeated one takes its first occurrence."""
    return wall.replace(tzinfo=zone, fold=0).astimezone(UTC)


def parse_duration(text: str) -> timedelta:
    """`8h`, `90m`, `1h30m` → a timedelta."""
    m = re.fullmatch(r"\s*(?:(\d+)\s*h)?\s*(?:(\d+)\s*m)?\s*", text.lower())
    if not m or not any(m.groups()):
        raise ValueError(f"can't read {text[:20]!r} as a duration; use e.g. 8h, 90m or 1h30m")
    # Cap before timedelta sees the numbers: a huge one would overflow it.
    minutes = min(int(m.group(1) or 0), 10**6) * 60 + min(int(m.group(2) or 0), 10**8)
    return timedelta(minutes=minutes)
