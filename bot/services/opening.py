"""Opening rounds for many channels at once: which slots are due, which question each gets,
and one INSERT that claims them all.

The unique key (channel, local date) still decides who posts: a row this process inserted is
its to post, a row it found taken is not. Rows go in sorted, so two replicas claiming the same
channels wait for each other instead of deadlocking."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain import ChannelRef
from bot.questions.bank import Bank
from bot.questions.rotation import Rotation
from bot.questions.schema import Question
from bot.services.posting import Posting
from bot.storage import repo, rotations
from bot.storage.models import Channel, Round, Team
from bot.timetable import Schedule, Slot, parse_weekdays

log = logging.getLogger(__name__)

POST_LEASE = timedelta(minutes=2)
LOOKBACK = timedelta(days=7)


@lru_cache(maxsize=4096)
def cached_schedule(post_time: str, zone: str, weekdays: str, window_minutes: int) -> Schedule:
    """Channels share a handful of schedules; each is worked out once."""
    return Schedule(
        post_time=time.fromisoformat(post_time),
        zone=ZoneInfo(zone),
        weekdays=parse_weekdays(weekdays),
        window=timedelta(minutes=window_minutes),
    )


@dataclass
class Due:
    """A channel with rounds to claim: `opens` to post now, `missed` windows that passed."""

    channel_id: int
    ref: ChannelRef
    categories: tuple[str, ...] | None
    difficulties: tuple[str, ...] | None
    changed_at: datetime
    opens: list[Slot] = field(default_factory=list)
    missed: list[Slot] = field(default_factory=list)


class RoundOpener:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        bank: Bank,
        question_rows: dict[str, int],
        weekday_plan: dict[int, str],
    ) -> None:
        self._sessions = sessions
        self._bank = bank
        self._question_rows = question_rows
        self._plan = weekday_plan
        self._eligible: dict[tuple[object, object], list[Question]] = {}

    async def open_due(self, channel_ids: Sequence[int], now: datetime) -> list[Posting]:
        """Claim every due slot of the channels (at most a few hundred: they go in one
        statement) and record windows that passed unposted; the rounds this process claimed,
        to post."""
        async with self._sessions() as session:
            due = await self._find_due(session, channel_ids, now)
        if not due:
            return []
        return await self.claim(due, now)

    async def claim(self, due: Sequence[Due], now: datetime) -> list[Posting]:
        """Choose each opening slot's question and insert the rounds; the ones inserted here."""
        opening = [d for d in due if d.opens]
        async with self._sessions.begin() as session:
            stored = await rotations.load(session, [d.channel_id for d in opening])
            current = await self._current_rotations(session, opening, stored)
            chosen: dict[tuple[int, date], Question] = {}
            moved: dict[int, Rotation] = {}
            for d in opening:
                rotation = current[d.channel_id]
                for slot in d.opens:
                    question = rotation.next(
                        self._eligible_for(d),
                        seed=f"channel:{d.channel_id}",
                        wanted=self._plan.get(slot.local_date.weekday()),
                    )
                    chosen[d.channel_id, slot.local_date] = question
                    rotation = rotation.after(question.id, question.category.value, slot.local_date)
                moved[d.channel_id] = rotation
            rows = sorted(
                (self._row(d, slot, chosen.get((d.channel_id, slot.local_date)), now)
                 for d in due for slot in (*d.opens, *d.missed)),
                key=lambda row: (row["channel_id"], row["local_date"]),
            )  # fmt: skip
            inserted = await repo.insert_many_ignoring_conflict(
                session,
                Round,
                rows,
                conflict=["channel_id", "local_date"],
                returning=(Round.id, Round.channel_id, Round.local_date),
            )
            ours = {(channel_id, day): round_id for round_id, channel_id, day in inserted}
            moves, lost = [], []
            for d in opening:
                ids = [ours.get((d.channel_id, s.local_date)) for s in d.opens]
                if all(ids):
                    read = stored.get(d.channel_id)
                    moves.append(
                        rotations.Move(
                            d.channel_id,
                            read.round_id if read is not None else None,
                            moved[d.channel_id],
                            max(i for i in ids if i is not None),
                        )
                    )
                elif any(ids):  # another process took some of its slots: what it chose is unknown
                    lost.append(d.channel_id)
            await rotations.save(session, moves)
            await rotations.forget(session, lost)
        postings = []
        for d in due:
            for slot in d.missed:
                if (d.channel_id, slot.local_date) in ours:
                    log.warning(
                        "channel %s missed its round of %s: the bot was not running between "
                        "%s and %s",
                        d.channel_id, slot.local_date, slot.opens_at, slot.closes_at,
                    )  # fmt: skip
            for slot in d.opens:
                round_id = ours.get((d.channel_id, slot.local_date))
                if round_id is not None:
                    question = chosen[d.channel_id, slot.local_date]
                    postings.append(
                        Posting(round_id, d.ref, question, slot.opens_at, slot.closes_at)
                    )
        return postings

    async def _find_due(
        self, session: AsyncSession, channel_ids: Sequence[int], now: datetime
    ) -> list[Due]:
        """The active channels among `channel_ids` with a slot in the last week that has no
        round yet (a schedule change starts the week afresh)."""
        rows = await session.execute(
            select(
                Channel.id, Team.platform, Team.external_id, Channel.external_id,
                Channel.post_time, Channel.timezone, Channel.weekdays, Channel.window_minutes,
                Channel.categories, Channel.difficulties, Channel.schedule_changed_at,
            )
            .join(Team, Team.id == Channel.team_id)
            .where(Channel.id.in_(channel_ids), Channel.active)
            .order_by(Channel.id)
        )  # fmt: skip
        candidates: list[tuple[Due, list[Slot]]] = []
        for (channel_id, platform, team, external, post_time, zone, weekdays, window,
             categories, difficulties, changed_at) in rows:  # fmt: skip
            try:
                schedule = cached_schedule(post_time, zone, weekdays, window)
                since = max(changed_at, now - LOOKBACK)
                slots = list(schedule.slots_between(since, now))
            except Exception:
                log.exception("channel %s has a schedule that cannot be read", channel_id)
                continue
            if slots:
                ref = ChannelRef(platform, team, external)
                due = Due(channel_id, ref, _key(categories), _key(difficulties), changed_at)
                candidates.append((due, slots))
        if not candidates:
            return []
        earliest = min(slots[0].local_date for _, slots in candidates)
        taken: set[tuple[int, date]] = set(
            (
                await session.execute(
                    select(Round.channel_id, Round.local_date).where(
                        Round.channel_id.in_([d.channel_id for d, _ in candidates]),
                        Round.local_date >= earliest,
                    )
                )
            )
            .tuples()
            .all()
        )
        found = []
        for due, slots in candidates:
            for slot in slots:
                if (due.channel_id, slot.local_date) in taken:
                    continue
                (due.opens if now < slot.closes_at else due.missed).append(slot)
            if due.opens or due.missed:
                found.append(due)
        return found

    async def _current_rotations(
        self, session: AsyncSession, due: Sequence[Due], stored: dict[int, rotations.Stored]
    ) -> dict[int, Rotation]:
        """Each channel's rotation: its stored row, or rebuilt from its rounds when there is no
        row or the row is behind them (a round it has not folded in, say from a process that
        does not keep rows)."""
        current = {c: s.rotation for c, s in stored.items()}
        if not due:
            return current
        behind = [d.channel_id for d in due if d.channel_id not in stored]
        have = [d.channel_id for d in due if d.channel_id in stored]
        if have:
            newest = dict(
                (
                    await session.execute(
                        select(Round.channel_id, Round.local_date)
                        .where(
                            Round.channel_id.in_(have),
                            Round.question_id.is_not(None),
                            Round.local_date
                            >= min(d.opens[0].local_date for d in due)
                            - LOOKBACK
                            - timedelta(days=2),
                        )
                        .order_by(Round.local_date)
                    )
                )
                .tuples()
                .all()
            )
            for channel_id, day in newest.items():
                last = stored[channel_id].rotation.last_date
                if last is None or day > last:
                    behind.append(channel_id)
        if behind:
            # A row that is behind stays the version the move is guarded by: it is replaced.
            current.update(await rotations.rebuild(session, behind))
        return current

    def _eligible_for(self, due: Due) -> list[Question]:
        key = (due.categories, due.difficulties)
        if key not in self._eligible:
            self._eligible[key] = self._bank.eligible(
                categories=due.categories, difficulties=due.difficulties
            ) or list(self._bank)
        return self._eligible[key]

    def _row(
        self, due: Due, slot: Slot, question: Question | None, now: datetime
    ) -> dict[str, object]:
        if question is not None:
            return {
                "channel_id": due.channel_id,
                "question_id": self._question_rows[question.id],
                "local_date": slot.local_date,
                "status": "posting",
                "opens_at": slot.opens_at,
                "closes_at": slot.closes_at,
                "lease_until": now + POST_LEASE,
                "notified_at": None,
            }
        # The channel is told (once) only of windows that lay wholly inside the current
        # schedule: one that a schedule change or a resume cut into was not the bot's to post.
        return {
            "channel_id": due.channel_id,
            "question_id": None,
            "local_date": slot.local_date,
            "status": "missed",
            "opens_at": slot.opens_at,
            "closes_at": slot.closes_at,
            "lease_until": None,
            "notified_at": None if slot.opens_at >= due.changed_at else now,
        }


def _key(values: list[str] | None) -> tuple[str, ...] | None:
    return tuple(values) if values else None
