"""Many channels due the same minute: every one gets its question, once, whichever replica
the timer wakes, and each channel's rotation stays its own."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, insert, select

from adapters.console.memory import MemoryAdapter
from bot.domain import Card, ChannelRef, MessageRef
from bot.questions.rotation import next_question
from bot.services.rounds import POST_LEASE
from bot.storage.models import ChannelRotation, QuestionVersion, Round
from tests.flow.harness import ADMIN, Harness

pytestmark = pytest.mark.asyncio

DUE = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # a Monday
ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata"]
CHANNELS = 200


async def _due_at_nine_utc(bot: Harness, count: int) -> list[str]:
    """`count` channels over a few zones, each posting at the local time that is 09:00 UTC."""
    names = [f"C{n:03d}" for n in range(count)]
    for n, name in enumerate(names):
        zone = ZONES[n % len(ZONES)]
        await bot.app.channels.ensure(
            bot.platform.channel(name), name=name.lower(), timezone=zone,
            post_time=DUE.astimezone(ZoneInfo(zone)).time(), weekdays="daily", window_minutes=60,
        )  # fmt: skip
    return names


def _questions_by_channel(platform: MemoryAdapter) -> Counter[str]:
    return Counter(
        p.message.channel.channel_id
        for p in platform.posts()
        if p.message is not None and (p.key or "").startswith("round-")
    )


async def _rotation_rows(bot: Harness) -> list[dict[str, object]]:
    async with bot.app.sessions() as session:
        rows = (await session.scalars(select(ChannelRotation))).all()
    return [
        {c: getattr(row, c) for c in ("channel_id", "round_id", "uses", "last_date",
                                      "last_category")}
        for row in rows
    ]  # fmt: skip


async def _rounds(bot: Harness) -> list[Round]:
    async with bot.app.sessions() as session:
        return list((await session.scalars(select(Round))).all())


async def test_two_hundred_channels_due_the_same_minute_each_get_one_question(
    database_url: str,
) -> None:
    platform = MemoryAdapter(admins={ADMIN}, lose_post_responses=20)
    bot = await Harness.start(database_url, now=DUE - timedelta(minutes=1), platform=platform)
    try:
        names = await _due_at_nine_utc(bot, CHANNELS)
        await bot.app.scheduler.start()
        opening = [j for j in bot.app.scheduler.job_ids() if j.startswith("open ")]
        assert len(opening) == len(ZONES)  # one timer per schedule, not one per channel

        bot.clock.set(DUE)
        await bot.app.scheduler.fire(DUE)
        assert _questions_by_channel(platform) == Counter(names)
        # 20 posts landed with their responses lost: found again once their lease ran out.
        await bot.tick(DUE + POST_LEASE + timedelta(seconds=1))
        assert _questions_by_channel(platform) == Counter(names)
        rounds = await _rounds(bot)
        assert len(rounds) == CHANNELS and {r.status for r in rounds} == {"open"}
        posted = {p.key: p.message.message_id for p in platform.posts() if p.message}
        assert all(posted[f"round-{r.id}"] == r.message_id for r in rounds)
        assert not [p for p in platform.posts() if "late" in (p.card.footer if p.card else "")]
    finally:
        await bot.stop()


async def test_two_replicas_firing_the_same_minute_post_each_question_once(
    database_url: str,
) -> None:
    platform = MemoryAdapter(admins={ADMIN})
    first = await Harness.start(database_url, now=DUE - timedelta(minutes=1), platform=platform)
    second = await Harness.start(database_url, clock=first.clock, platform=platform)
    try:
        names = await _due_at_nine_utc(first, CHANNELS)
        await asyncio.gather(first.app.scheduler.start(), second.app.scheduler.start())
        first.clock.set(DUE)
        await asyncio.gather(first.app.scheduler.fire(DUE), second.app.scheduler.fire(DUE))
        await asyncio.gather(first.tick(), second.tick())  # and their sweeps find nothing left

        assert _questions_by_channel(platform) == Counter(names)
        rounds = await _rounds(first)
        assert len(rounds) == CHANNELS and {r.status for r in rounds} == {"open"}
        async with first.app.sessions() as session:
            rotations = dict(
                (
                    await session.execute(
                        select(ChannelRotation.channel_id, ChannelRotation.round_id)
                    )
                )
                .tuples()
                .all()
            )
        assert rotations == {r.channel_id: r.id for r in rounds}
    finally:
        await first.stop()
        await second.stop()


async def test_a_channels_rotation_holds_whichever_replica_posts_each_day(
    database_url: str,
) -> None:
    first = await Harness.start(database_url, now=DUE - timedelta(minutes=1))
    second = await Harness.start(database_url, clock=first.clock, platform=first.platform)
    try:
        await first.configure(window_minutes=60)
        await first.command("categories monitoring")
        other = first.platform.channel("C2")
        await first.app.channels.ensure(
            other, post_time=DUE.time(), timezone="UTC", weekdays="daily", window_minutes=60
        )
        bank = first.app.bank
        limited = bank.eligible(categories=["monitoring"])
        days = 2 * len(limited) + 2
        kept: list[dict[str, object]] = []
        for day in range(days):
            bot = (first, second)[day % 2]
            if day == 7:  # the kept rotation is lost (or was never kept): rebuilt from rounds
                async with bot.app.sessions.begin() as session:
                    await session.execute(delete(ChannelRotation))
            if day == 12:
                kept = await _rotation_rows(bot)
            if day == 13:  # day 12 went out from a process that keeps no rotation
                async with bot.app.sessions.begin() as session:
                    await session.execute(delete(ChannelRotation))
                    await session.execute(insert(ChannelRotation), kept)
            await bot.tick(DUE + timedelta(days=day))
            await bot.tick(DUE + timedelta(days=day, hours=1))

        async with first.app.sessions() as session:
            rows = (
                await session.execute(
                    select(Round.channel_id, QuestionVersion.slug, QuestionVersion.category)
                    .join(QuestionVersion, QuestionVersion.id == Round.question_id)
                    .order_by(Round.channel_id, Round.local_date)
                )
            ).all()
        plan = {0: "foundation", 4: "system-design"}
        for channel_id in {c for c, _, _ in rows}:
            history = [(slug, cat) for c, slug, cat in rows if c == channel_id]
            assert len(history) == days
            eligible = limited if channel_id == 1 else list(bank)
            for n in range(days):
                expected = next_question(
                    eligible, [s for s, _ in history[:n]], seed=f"channel:{channel_id}",
                    last_category=history[n - 1][1] if n else None,
                    wanted=plan.get((DUE.weekday() + n) % 7),
                )  # fmt: skip
                assert history[n][0] == expected.id, f"channel {channel_id}, day {n}"
        cycle = [slug for c, slug, _ in rows if c == 1][: len(limited)]
        assert sorted(cycle) == sorted(q.id for q in limited)
    finally:
        await first.stop()
        await second.stop()


class _SlowPlatform(MemoryAdapter):
    """A platform that takes a moment per post and notes how many were under way at once."""

    def __init__(self) -> None:
        super().__init__(admins={ADMIN})
        self.in_flight = 0
        self.peak = 0

    async def post(self, channel: ChannelRef, card: Card, *, key: str | None = None) -> MessageRef:
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            await asyncio.sleep(0.01)
            return await super().post(channel, card, key=key)
        finally:
            self.in_flight -= 1


async def test_channels_due_together_post_side_by_side_within_the_limit(
    database_url: str,
) -> None:
    platform = _SlowPlatform()
    bot = await Harness.start(
        database_url, now=DUE - timedelta(minutes=1), platform=platform,
        OPSDRILL_POST_CONCURRENCY=8,
    )  # fmt: skip
    try:
        names = await _due_at_nine_utc(bot, 40)
        await bot.tick(DUE)
        assert _questions_by_channel(platform) == Counter(names)
        assert platform.peak == 8
    finally:
        await bot.stop()


async def test_channels_on_one_schedule_share_a_timer_until_they_move(database_url: str) -> None:
    bot = await Harness.start(database_url, now=DUE - timedelta(minutes=1))
    try:
        names = await _due_at_nine_utc(bot, 8)  # two channels in each of four zones
        await bot.app.scheduler.start()
        week = "mon,tue,wed,thu,fri,sat,sun"
        assert bot.app.scheduler.job_ids() == sorted(
            [f"{kind} {week} {DUE.astimezone(ZoneInfo(z)) + shift:%H:%M} {z}" for z in ZONES
             for kind, shift in (("open", timedelta()), ("close", timedelta(hours=1)))]
            + ["sweep"]
        )  # fmt: skip
        utc = [bot.platform.channel(n) for n in names[:: len(ZONES)]]
        await bot.app.channels.update(utc[0], post_time="10:30")
        assert f"open {week} 10:30 UTC" in bot.app.scheduler.job_ids()
        assert f"open {week} 09:00 UTC" in bot.app.scheduler.job_ids()  # still the other's
        await bot.app.channels.update(utc[1], active=False)
        assert f"open {week} 09:00 UTC" not in bot.app.scheduler.job_ids()

        bot.clock.set(DUE)
        await bot.app.scheduler.fire(DUE)
        assert sorted(_questions_by_channel(bot.platform)) == sorted(set(names) - {"C000", "C004"})
    finally:
        await bot.stop()
