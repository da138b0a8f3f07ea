"""The schedule holds across DST, restarts, outages and a second process."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from adapters.console.memory import MemoryAdapter
from bot.storage.models import Grade, Round
from tests.flow.harness import ADMIN, Harness, strong_answer

pytestmark = pytest.mark.asyncio
BERLIN = ZoneInfo("Europe/Berlin")


async def _rounds(bot: Harness) -> list[Round]:
    async with bot.app.sessions() as session:
        return list((await session.scalars(select(Round).order_by(Round.local_date))).all())


async def test_round_posts_at_local_time_on_both_sides_of_a_dst_change(database_url: str) -> None:
    # Berlin moves its clocks forward on Sunday 29 March 2026.
    bot = await Harness.start(database_url, now=datetime(2026, 3, 27, 0, 0, tzinfo=UTC))
    try:
        await bot.configure(at=time(9, 0), zone="Europe/Berlin", weekdays="daily")
        for day in (27, 28, 29, 30):
            nine = datetime(2026, 3, day, 9, 0, tzinfo=BERLIN)
            await bot.tick(nine - timedelta(minutes=1))
            assert len(bot.platform.posts()) == day - 27, f"posted early on 3/{day}"
            await bot.tick(nine)
            assert len(bot.platform.posts()) == day - 26, f"not posted at 09:00 on 3/{day}"
        opened = [r.opens_at.astimezone(BERLIN).time() for r in await _rounds(bot)]
        assert opened == [time(9, 0)] * 4
        utc_hours = [r.opens_at.hour for r in await _rounds(bot)]
        assert utc_hours == [8, 8, 7, 7]
    finally:
        await bot.stop()


async def test_the_cron_triggers_fire_at_local_nine_across_dst(database_url: str) -> None:
    bot = await Harness.start(database_url, now=datetime(2026, 3, 27, 0, 0, tzinfo=UTC))
    try:
        channel_id = await bot.configure(at=time(9, 0), zone="Europe/Berlin", weekdays="daily")
        await bot.app.scheduler.start()
        week = "mon,tue,wed,thu,fri,sat,sun"
        jobs = [f"close {week} 17:00 Europe/Berlin", f"open {week} 09:00 Europe/Berlin"]
        assert bot.app.scheduler.job_ids_of(channel_id) == jobs
        assert {*jobs, "sweep"} <= set(bot.app.scheduler.job_ids())
        async with bot.app.sessions() as session:
            from bot.services.rounds import schedule_of
            from bot.storage.models import Channel

            schedule = schedule_of(await session.get_one(Channel, channel_id))
        trigger, fire = schedule.open_trigger(), None
        fires = []
        now = datetime(2026, 3, 27, 12, 0, tzinfo=UTC)
        for _ in range(4):
            fire = trigger.get_next_fire_time(fire, now)
            fires.append(fire)
            now = fire + timedelta(seconds=1)
        assert [f.astimezone(BERLIN).strftime("%d %H:%M") for f in fires] == [
            "28 09:00", "29 09:00", "30 09:00", "31 09:00",
        ]  # fmt: skip
    finally:
        await bot.stop()


async def test_a_restart_mid_round_neither_reposts_nor_loses_answers_or_grades(
    database_url: str,
) -> None:
    bot = await Harness.start(database_url, now=datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
    await bot.configure()
    await bot.tick()
    question = await bot.question()
    ada, bob = bot.platform.user("U-ada", "ada"), bot.platform.user("U-bob", "bob")
    await bot.answer(ada, strong_answer(question))
    await bot.grade_all()  # ada is graded before the restart; bob's job is still pending
    await bot.answer(bob, strong_answer(question))

    bot.clock.advance(minutes=30)
    bot = await bot.restart()
    try:
        await bot.app.scheduler.start()  # catch-up runs on start
        assert len(bot.platform.posts()) == 1
        assert await bot.grade_all() == 1  # bob's job resumed
        await bot.tick(datetime(2026, 11, 23, 17, 0, tzinfo=UTC))
        [reveal] = [s for s in bot.platform.of_kind("reply") if s.broadcast]
        assert reveal.card is not None
        standings = reveal.card.fields[1].value
        assert "<@U-ada> 10 pts" in standings and "<@U-bob> 10 pts" in standings
    finally:
        await bot.stop()


async def test_a_round_missed_while_down_posts_late_if_its_window_is_open(
    database_url: str,
) -> None:
    bot = await Harness.start(database_url, now=datetime(2026, 11, 23, 8, 0, tzinfo=UTC))
    await bot.configure()
    bot.clock.set(datetime(2026, 11, 23, 13, 0, tzinfo=UTC))  # down from 08:00 to 13:00
    bot = await bot.restart()
    try:
        await bot.app.scheduler.start()
        [post] = bot.platform.posts()
        assert post.card is not None and "Posted late" in post.card.footer
        assert post.card.deadline == datetime(2026, 11, 23, 17, 0, tzinfo=UTC)
    finally:
        await bot.stop()


async def test_a_round_missed_while_down_is_told_to_the_channel_once_when_back(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    bot = await Harness.start(database_url, now=datetime(2026, 11, 23, 8, 0, tzinfo=UTC))
    await bot.configure()
    bot.clock.set(datetime(2026, 11, 24, 8, 0, tzinfo=UTC))  # all of Monday's window passed
    bot = await bot.restart()
    try:
        await bot.app.scheduler.start()
        await bot.app.background.idle()
        [notice] = bot.platform.posts()
        assert notice.card is not None and "offline" in notice.card.body
        assert "Mon 23 Nov" in notice.card.body and "\n" not in notice.card.body
        [missed] = await _rounds(bot)
        assert (missed.local_date, missed.status) == (date(2026, 11, 23), "missed")
        assert "missed its round of 2026-11-23" in caplog.text
        await bot.tick()  # the next sweep, and another restart, say nothing more
        bot = await bot.restart()
        await bot.tick()
        assert len(bot.platform.posts()) == 1
        await bot.tick(datetime(2026, 11, 24, 9, 0, tzinfo=UTC))
        assert len(bot.platform.posts()) == 2  # Tuesday goes ahead as usual
        assert bot.platform.posts()[-1].card.title == "Today's MLOps question"  # type: ignore[union-attr]
    finally:
        await bot.stop()


async def test_today_says_when_todays_round_was_missed(database_url: str) -> None:
    bot = await Harness.start(database_url, now=datetime(2026, 11, 23, 8, 0, tzinfo=UTC))
    await bot.configure(window_minutes=60)
    bot.clock.set(datetime(2026, 11, 23, 12, 0, tzinfo=UTC))  # Monday's window passed
    bot = await bot.restart()
    try:
        await bot.tick()
        card = await bot.command("today")
        assert card is not None and card.title == "Today's round was missed"
        assert "Tuesday 24 November at 09:00" in card.body
    finally:
        await bot.stop()


async def test_a_failed_post_is_retried_and_posted_once(database_url: str) -> None:
    platform = MemoryAdapter(admins={ADMIN}, fail_posts=1)
    bot = await Harness.start(
        database_url, now=datetime(2026, 11, 23, 9, 0, tzinfo=UTC), platform=platform
    )
    try:
        await bot.configure()
        await bot.tick()
        assert bot.platform.posts() == []
        await bot.tick(bot.clock.now() + timedelta(minutes=3))  # the posting lease ran out
        assert len(bot.platform.posts()) == 1
        await bot.tick(bot.clock.now() + timedelta(minutes=3))
        assert len(bot.platform.posts()) == 1
    finally:
        await bot.stop()


@pytest.mark.postgres
async def test_two_instances_on_one_database_post_one_question_per_channel_per_day(
    pg_database_url: str,
) -> None:
    now = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    first = await Harness.start(pg_database_url, now=now)
    second = await Harness.start(pg_database_url, clock=first.clock)
    try:
        await first.configure()
        for _ in range(3):
            await asyncio.gather(first.tick(), second.tick())
        assert len(first.platform.posts()) + len(second.platform.posts()) == 1
        assert len(await _rounds(first)) == 1

        # Both processes' workers then share the grading queue without grading twice.
        poster = first if first.platform.posts() else second
        question = await poster.question()
        for n in range(6):
            await poster.answer(poster.platform.user(f"U-{n}", f"p{n}"), strong_answer(question))
        done = await asyncio.gather(first.grade_all(), second.grade_all())
        assert sum(done) == 6
        async with first.app.sessions() as session:
            grades = (await session.scalars(select(Grade.answer_id))).all()
        assert sorted(grades) == sorted(set(grades)) and len(grades) == 6
    finally:
        await first.stop()
        await second.stop()
