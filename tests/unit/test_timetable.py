from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.timetable import Schedule, parse_duration, parse_weekdays

NY = ZoneInfo("America/New_York")


def _schedule(at: time = time(9, 0), zone: str = "UTC", days: str = "daily",
              window: timedelta = timedelta(hours=8)) -> Schedule:  # fmt: skip
    return Schedule(post_time=at, zone=ZoneInfo(zone), weekdays=parse_weekdays(days), window=window)


@pytest.mark.parametrize(
    ("spec", "days"),
    [("mon-fri", {0, 1, 2, 3, 4}), ("daily", set(range(7))), ("mon,wed,fri", {0, 2, 4}),
     ("fri-mon", {4, 5, 6, 0}), ("weekends", {5, 6})],
)  # fmt: skip
def test_weekday_specs_people_type_are_understood(spec: str, days: set[int]) -> None:
    assert parse_weekdays(spec) == days


@pytest.mark.parametrize("spec", ["", "funday", "mon-xyz"])
def test_bad_weekday_specs_say_what_is_wrong(spec: str) -> None:
    with pytest.raises(ValueError, match="weekday"):
        parse_weekdays(spec)


def test_a_post_time_skipped_by_spring_forward_posts_just_after_the_gap() -> None:
    slot = _schedule(at=time(2, 30), zone="America/New_York").slot(date(2026, 3, 8))
    assert slot.opens_at.astimezone(NY).time() == time(3, 30)


def test_the_window_is_wall_clock_time_even_across_fall_back() -> None:
    # 1 November 2026: New York's clocks go back an hour at 02:00.
    slot = _schedule(at=time(0, 30), zone="America/New_York").slot(date(2026, 11, 1))
    assert slot.closes_at.astimezone(NY).time() == time(8, 30)
    assert slot.closes_at - slot.opens_at == timedelta(hours=9)


def test_a_window_past_midnight_closes_on_the_next_weekday() -> None:
    schedule = _schedule(at=time(20, 0), days="mon-fri", window=timedelta(hours=8))
    trigger = schedule.close_trigger()
    friday_night = datetime(2026, 11, 27, 20, 0, tzinfo=UTC)
    assert trigger.get_next_fire_time(None, friday_night) == datetime(
        2026, 11, 28, 4, 0, tzinfo=UTC
    )


def test_slots_skip_days_off() -> None:
    schedule = _schedule(days="mon-fri")
    start = datetime(2026, 11, 27, 0, 0, tzinfo=UTC)  # Friday
    slots = list(schedule.slots_between(start, start + timedelta(days=4)))
    assert [s.local_date.strftime("%a") for s in slots] == ["Fri", "Mon"]
    assert schedule.next_slot(datetime(2026, 11, 27, 10, 0, tzinfo=UTC)).local_date == date(
        2026, 11, 30
    )


def test_windows_outside_fifteen_minutes_to_a_day_are_refused() -> None:
    with pytest.raises(ValueError, match="between 15 minutes and 24 hours"):
        _schedule(window=timedelta(minutes=5))


@pytest.mark.parametrize(("text", "minutes"), [("8h", 480), ("90m", 90), ("1h30m", 90)])
def test_durations(text: str, minutes: int) -> None:
    assert parse_duration(text) == timedelta(minutes=minutes)
