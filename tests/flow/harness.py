"""The whole app wired to the in-memory platform, a fake clock and the offline grader, with
one-line helpers for what people and the schedule do."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

from adapters.console.memory import MemoryAdapter, Sent
from bot.app import App
from bot.clock import FakeClock
from bot.config import Settings
from bot.domain import Card, ChannelRef, MessageRef, UserRef
from bot.questions.schema import Question
from tests.conftest import make_settings

ADMIN = "U-admin"


@dataclass
class Harness:
    app: App
    platform: MemoryAdapter
    clock: FakeClock
    channel: ChannelRef
    admin: UserRef

    @classmethod
    async def start(
        cls,
        database_url: str,
        *,
        now: datetime | None = None,
        clock: FakeClock | None = None,
        platform: MemoryAdapter | None = None,
        schedule: bool = False,
        workers: bool = False,
        **settings: Any,
    ) -> Harness:
        platform = platform or MemoryAdapter(admins={ADMIN})
        if clock is None:
            assert now is not None, "give a start time or a clock"
            clock = FakeClock(now)
        return await cls._launch(
            make_settings(database_url, **settings), clock, platform, schedule, workers
        )

    @classmethod
    async def _launch(
        cls,
        settings: Settings,
        clock: FakeClock,
        platform: MemoryAdapter,
        schedule: bool = False,
        workers: bool = False,
    ) -> Harness:
        app = await App.create(settings, adapters=[platform], clock=clock)
        await app.start(schedule=schedule, workers=workers)
        return cls(app, platform, clock, platform.channel("C1"), platform.user(ADMIN, "admin"))

    async def restart(self, *, platform: MemoryAdapter | None = None) -> Harness:
        """Stop this process and start a new one on the same database and clock."""
        await self.app.stop()
        return await Harness._launch(self.app.settings, self.clock, platform or self.platform)

    async def stop(self) -> None:
        await self.app.stop()

    async def configure(
        self, *, at: time = time(9, 0), zone: str = "UTC", weekdays: str = "daily",
        window_minutes: int = 8 * 60,
    ) -> int:  # fmt: skip
        return await self.app.channels.ensure(
            self.channel, name="mlops", post_time=at, timezone=zone, weekdays=weekdays,
            window_minutes=window_minutes,
        )  # fmt: skip

    async def tick(self, when: datetime | None = None) -> None:
        """Move the clock (if told) and run what the scheduler's jobs run, to the end."""
        if when is not None:
            self.clock.set(when)
        await self.app.scheduler.sweep()
        await self.app.background.idle()

    async def settle(self) -> None:
        """Let the work that follows an event finish: grading and what it sends."""
        while True:
            await self.app.background.idle()
            if await self.app.grading.drain() == 0 and not self.app.background.in_flight:
                return

    async def command(self, line: str, user: UserRef | None = None) -> Card | None:
        card = await self.platform.command(user or self.admin, self.channel, line)
        await self.app.background.idle()
        return card

    async def card(self, line: str, user_id: str | None = None) -> Card:
        """`/drill <line>` typed by `user_id` (the admin by default); the card it answered."""
        user = self.platform.user(user_id, user_id.lower()) if user_id else None
        card = await self.command(line, user=user)
        assert card is not None, line
        return card

    def questions(self) -> list[Sent]:
        """The question posts, oldest first (not notices such as a missed round's)."""
        return [p for p in self.platform.posts() if (p.key or "").startswith("round-")]

    def thread(self) -> MessageRef:
        """The thread of the latest question posted."""
        ref = self.questions()[-1].message
        assert ref is not None
        return ref

    async def answer(self, user: UserRef, text: str, **kw: Any) -> MessageRef:
        message, _ = await self.platform.answer(user, self.thread(), text, **kw)
        await self.app.background.idle()
        return message

    async def grade_all(self) -> int:
        return await self.app.grading.drain()

    async def question(self) -> Question:
        q = await self.app.views.question_for_thread(self.thread())
        assert q is not None
        return q

    async def mock(self, user: UserRef, line: str = "") -> Card:
        """`/drill mock <line>` typed by `user`; the card only they see."""
        card = await self.command(f"mock {line}".strip(), user=user)
        assert card is not None
        return card

    async def dm(self, user: UserRef, text: str) -> list[Card]:
        """`user` writes to the bot in a DM; the cards the bot sent back (a reply first)."""
        before = len(self.platform.dms_to(user))
        reply = await self.platform.dm(user, text)
        await self.settle()
        return ([reply] if reply is not None else []) + self.platform.dms_to(user)[before:]

    def dms(self, user: UserRef) -> list[Card]:
        return self.platform.dms_to(user)

    async def mock_question(self, user: UserRef) -> Question:
        """The question `user` is being asked in their mock interview."""
        q = await self.app.interviews.current_question(user)
        assert q is not None, "no mock interview is going"
        return q

    def feedback_for(self, user: UserRef) -> list[Card]:
        return [s.card for s in self.platform.private_replies_to(user) if s.card is not None]


def strong_answer(q: Question) -> str:
    return " ".join(p.phrasings[0].rstrip(".") + "." for p in q.rubric)


def partial_answer(q: Question) -> str:
    """Two of the rubric's points, said the way a candidate might."""
    return " ".join(p.phrasings[0].rstrip(".") + "." for p in q.rubric[:2])
