"""Mock interviews in direct messages: a state machine kept in the database and driven by the
person's messages, so a restart mid-interview continues where it stopped.

Each question is asked in turn. An answer is stored, then graded together with the earlier
answers to the same question; while rubric points are missing (and fewer than two follow-ups
were asked) a follow-up probes one of them, else the next question comes. The last question,
`stop`, or 30 idle minutes bring the scorecard."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from bot.background import Background
from bot.clock import Clock
from bot.domain import Card, CommandInvoked, DirectMessage, UserRef
from bot.grading.base import Grade, Grader
from bot.questions.bank import Bank
from bot.questions.schema import Category, Question
from bot.services import interview_cards as cards
from bot.services import interview_store as store
from bot.services import scorecard
from bot.services.grading import Delivery, GradingService, enqueue
from bot.services.interview_plan import (
    choose,
    hint_for,
    next_probe,
    parse_request,
    seen_recently,
)
from bot.services.messenger import Messenger
from bot.services.stats import StatsService
from bot.storage import repo
from bot.storage.models import Interview, InterviewTurn, QuestionVersion
from bot.user_text import MAX_ANSWER_CHARS, scrub

log = logging.getLogger(__name__)

MAX_FOLLOW_UPS = 2
DM_COMMANDS = frozenset({"skip", "hint", "repeat", "stop"})


class InterviewService:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        bank: Bank,
        question_rows: dict[str, int],
        grader: Grader,
        grading: GradingService,
        messenger: Messenger,
        background: Background,
        stats: StatsService,
        daily_cap: int,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._bank = bank
        self._question_rows = question_rows
        self._grader = grader
        self._grading = grading
        self._messenger = messenger
        self._background = background
        self._stats = stats
        self._daily_cap = daily_cap

    # --- `/drill mock …` ---------------------------------------------------------------------

    async def command(self, event: CommandInvoked) -> Card:
        """`mock [topic] [questions]`, `mock history`, `mock resume` or `mock abandon`."""
        args = tuple(a.strip().lower() for a in event.args if a.strip())
        match args[0] if args else "":
            case "history":
                async with self._sessions() as session:
                    return cards.history_card(await store.recent(session, event.user))
            case "resume":
                return await self.resume(event.user)
            case "abandon":
                return await self.abandon(event.user)
        return await self.start(event.user, event.user_name, args)

    async def start(self, user: UserRef, name: str, args: tuple[str, ...]) -> Card:
        """Start an interview in the person's DMs, unless one is already going."""
        parsed = parse_request(args)
        if isinstance(parsed, str):
            return cards.notice(parsed, cards.USAGE)
        topic, length, mix = parsed
        profile = [] if topic or mix else (await self._stats.for_user(user)).topics
        now = self._clock.now()
        out: list[Card] = []
        async with self._sessions.begin() as session:
            live = await store.live_for(session, user)
            if live is not None and not live.idle(now):
                i = live.interview
                return cards.offer_card(i.topic, i.position, live.length)
            if live is not None:
                out += await self._end(session, live, "expired", now)
                await session.flush()
            member = await repo.member_for(session, user, name, now)
            refusal = await self._over_cap(session, member.id, now)
            if refusal is not None:
                return refusal
            plan = choose(
                self._bank, length=length, topic=topic, mix=mix, profile=profile,
                seen=await seen_recently(session, member.id, now),
                seed=f"{member.id}:{await store.started(session, member.id)}",
            )  # fmt: skip
            if plan is None:
                where = topic.label if topic else "the bank"
                return cards.notice(
                    "Nothing new to ask",
                    f"You have seen every question of {where} in the last 30 days. {cards.USAGE}",
                )
            interview_id = await repo.insert_ignoring_conflict(
                session,
                Interview,
                {
                    "member_id": member.id, "active_member_id": member.id,
                    "status": store.ACTIVE, "topic": plan.topic.value if plan.topic else None,
                    "length": len(plan.questions), "position": 0, "grader": self._grader.id,
                    "revision": 1, "started_at": now, "last_active_at": now,
                },
                conflict=["active_member_id"],
            )  # fmt: skip
            if interview_id is None:  # another message started one a moment ago
                return cards.notice("You already have a mock interview going", cards.USAGE)
            for position, question in enumerate(plan.questions):
                first = position == 0
                session.add(
                    InterviewTurn(
                        interview_id=interview_id, position=position,
                        question_id=self._question_rows[question.id],
                        status="asked" if first else "pending", answers=[], follow_ups=[],
                        hints=[], provisional=False, asked_at=now if first else None,
                    )
                )  # fmt: skip
        n = len(plan.questions)
        out += [
            cards.intro_card(plan.topic, n, plan.reason),
            cards.question_card(plan.questions[0], 0, n),
        ]
        if not await self._send(user, out):
            return cards.notice(
                "I couldn't send you a direct message",
                "Your interview is ready: allow direct messages from the bot, then run "
                "`/drill mock resume`.",
            )
        label = cards.topic_label(plan.topic.value if plan.topic else None)
        return cards.notice(
            f"Mock interview started: {label}",
            f"{n} question{'s' if n > 1 else ''}; the first is in your direct messages.",
        )

    async def resume(self, user: UserRef) -> Card:
        """Send the current question (or follow-up) again."""
        now = self._clock.now()
        async with self._sessions.begin() as session:
            live = await store.live_for(session, user)
            if live is None:
                return cards.notice("No mock interview in progress", cards.USAGE)
            if live.idle(now):
                out = await self._end(session, live, "expired", now)
                reply = cards.notice(
                    "Your mock interview had timed out",
                    f"Its partial scorecard is in your DMs. {cards.USAGE}",
                )
            else:
                live.interview.last_active_at = now
                out = [self._prompt(live, again=True)]
                reply = cards.notice("Resumed", "The current question is in your DMs.")
        await self._send(user, out)
        return reply

    async def abandon(self, user: UserRef) -> Card:
        """End the active interview without a scorecard."""
        async with self._sessions.begin() as session:
            live = await store.live_for(session, user)
            if live is None:
                return cards.notice("No mock interview in progress", cards.USAGE)
            live.close("abandoned", self._clock.now())
        return cards.notice(
            "Mock interview abandoned",
            "Answers graded so far still count toward your topics. `/drill mock` starts another.",
        )

    # --- direct messages ---------------------------------------------------------------------

    async def is_active(self, user: UserRef) -> bool:
        return await self.current_question(user) is not None

    async def current_question(self, user: UserRef) -> Question | None:
        """The question the person is being asked right now, if any."""
        async with self._sessions() as session:
            live = await store.live_for(session, user)
        return None if live is None else live.question

    async def on_message(self, event: DirectMessage) -> bool:
        """Take a DM as an answer or a command; False when the person has no active interview.
        An answer is stored with its grading job in one transaction (keyed by the message id,
        so a second delivery changes nothing); the grading worker answers it."""
        now = self._clock.now()
        text = scrub(event.text)
        word = text.strip().lower().strip("/!.? ")
        out: list[Card] = []
        queued = False
        async with self._sessions.begin() as session:
            live = await store.live_for(session, event.user)
            if live is None:
                return False
            key = event.message_id or event.event_id
            if key is not None and not await repo.first_delivery(
                session, event.user.platform, f"dm:{event.user.team_id}:{key}", now
            ):
                return True
            if live.idle(now):
                out = await self._end(session, live, "expired", now)
            elif word in DM_COMMANDS:
                out = await self._dm_command(session, live, word, now)
            elif problem := _check(text):
                out = [cards.notice("Answer not accepted", problem, refused=True)]
            else:
                live.turn.answers = [*live.turn.answers, text.strip()]
                live.interview.last_active_at = now
                await session.flush()
                if not await store.grading_queued(session, live.turn.id):
                    await enqueue(session, now, turn_id=live.turn.id)
                queued = True
        if queued:
            self._grading.wake()
        self._send_later(event.user, out)
        return True

    # --- grading, on the durable queue (bot.services.grading) ---------------------------------

    async def turn_work(self, turn_id: int) -> tuple[Question, str] | None:
        async with self._sessions() as session:
            turn = await session.get(InterviewTurn, turn_id)
            if turn is None or not turn.answers or turn.status in ("pending", "skipped"):
                return None
            row = await session.get_one(QuestionVersion, turn.question_id)
        return Question.model_validate(row.content), "\n\n".join(turn.answers)

    async def plan_probe(self, turn_id: int, grade: Grade) -> dict[str, str] | None:
        async with self._sessions() as session:
            turn = await session.get(InterviewTurn, turn_id)
            if turn is None or len(turn.follow_ups) >= MAX_FOLLOW_UPS:
                return None
            row = await session.get_one(QuestionVersion, turn.question_id)
        return next_probe(Question.model_validate(row.content), grade.points, turn.follow_ups)

    async def apply_turn_grade(
        self,
        session: AsyncSession,
        turn_id: int,
        text: str,
        grade: Grade,
        *,
        regrade: bool,
        probe: dict[str, str] | None = None,
    ) -> Delivery | None:
        now = self._clock.now()
        turn = await session.get(InterviewTurn, turn_id)
        if turn is None or "\n\n".join(turn.answers) != text:
            return None  # more was written meanwhile: the job queued with it grades it all
        interview = await session.get_one(Interview, turn.interview_id)
        user = await store.user_of(session, interview.member_id)
        if regrade:
            if not turn.provisional or grade.provisional:
                return None
            turn.score, turn.points = grade.score, grade.points_json()
            turn.grader, turn.provisional, turn.graded_at = grade.grader, False, now
            update = cards.notice(
                "Updated grade",
                f"Question {turn.position + 1} of your mock interview now scores "
                f"{grade.score:g}/{grade.max_score:g} (graded again once the AI grader was back).",
            )
            return Delivery(user, (update,))
        live = await store.load(session, interview.id)
        if live is None or live.turn.id != turn_id or turn.status not in ("asked", "probing"):
            return None  # the person moved on (skip, stop) before the grade came
        turn.score, turn.points = grade.score, grade.points_json()
        turn.grader, turn.provisional, turn.graded_at = grade.grader, grade.provisional, now
        interview.last_active_at = now
        planned = None
        if len(turn.follow_ups) < MAX_FOLLOW_UPS:
            planned = next_probe(live.question, grade.points, turn.follow_ups)
        written = probe is not None and planned is not None and probe["point"] == planned["point"]
        probe = probe if written else planned
        if probe is not None:
            turn.status = "probing"
            turn.follow_ups = [*turn.follow_ups, probe]
            return Delivery(user, (cards.follow_up_card(probe["probe"], interview.position),))
        turn.status = "graded"
        return Delivery(user, tuple(await self._advance(session, live, now)))

    async def deliver(self, delivery: Delivery) -> None:
        await self._send(delivery.user, list(delivery.cards))

    async def _dm_command(
        self, session: AsyncSession, live: store.Live, word: str, now: datetime
    ) -> list[Card]:
        live.interview.last_active_at = now
        turn = live.turn
        if word == "repeat":
            return [self._prompt(live, again=True)]
        if word == "hint":
            point_id = hint_for(live.question, store.point_grades(turn.points), set(turn.hints))
            if point_id is not None:
                turn.hints = [*turn.hints, point_id]
            return [cards.hint_card(live.question, point_id)]
        if word == "stop":
            return await self._end(session, live, "stopped", now)
        number = live.interview.position + 1
        if turn.status == "probing":  # skipping a follow-up keeps what the answer earned
            turn.status = "graded"
            note = cards.notice("Moving on", f"Question {number} keeps the score of your answer.")
        else:
            turn.status, turn.score, turn.graded_at = "skipped", 0.0, now
            note = cards.notice("Skipped", f"Question {number} scores 0.")
        return [note, *await self._advance(session, live, now)]

    # --- the scheduler -----------------------------------------------------------------------

    async def expire_idle(self) -> int:
        """End interviews idle for 30 minutes with a partial scorecard; how many ended."""
        now = self._clock.now()
        async with self._sessions() as session:
            due = await store.idle_ids(session, now)
        ended = 0
        for interview_id in due:
            try:
                async with self._sessions.begin() as session:
                    live = await store.load(session, interview_id)
                    if live is None or not live.idle(now):
                        continue
                    out = await self._end(session, live, "expired", now)
                    user = await store.user_of(session, live.interview.member_id)
            except StaleDataError:
                continue  # the person's own message got there first
            await self._send(user, out)
            ended += 1
        return ended

    # --- the state machine -------------------------------------------------------------------

    async def _advance(self, session: AsyncSession, live: store.Live, now: datetime) -> list[Card]:
        if live.interview.position + 1 >= live.length:
            return await self._end(session, live, "finished", now)
        live.interview.position += 1
        live.interview.last_active_at = now
        live.turn.status, live.turn.asked_at = "asked", now
        return [cards.question_card(live.question, live.interview.position, live.length)]

    async def _end(
        self, session: AsyncSession, live: store.Live, status: str, now: datetime
    ) -> list[Card]:
        """Close the interview and write its scorecard, suggesting unseen questions from the
        topic that went worst."""
        live.close(status, now)
        results = live.results()
        counted = [r for r in results if r.counted]
        topic = min(counted, key=lambda r: r.value).question.category if counted else None
        if topic is None and live.interview.topic:
            topic = Category(live.interview.topic)
        seen = await seen_recently(session, live.interview.member_id, now)
        practice = [q for q in self._bank if q.id not in seen and topic in (None, q.category)]
        card = scorecard.build(results, complete=status == "finished", practice=practice[:3])
        return [cards.scorecard_card(card, live.interview.topic, ending=status)]

    def _prompt(self, live: store.Live, *, again: bool = False) -> Card:
        position = live.interview.position
        if live.turn.status == "probing":
            return cards.follow_up_card(live.turn.follow_ups[-1]["probe"], position, again=again)
        return cards.question_card(live.question, position, live.length, again=again)

    async def _over_cap(self, session: AsyncSession, member_id: int, now: datetime) -> Card | None:
        """The friendly refusal once the person had today's LLM-graded interviews."""
        if self._grader.id.startswith("offline:"):
            return None
        if self._daily_cap == 0:
            return cards.notice(
                "Mock interviews are switched off here",
                "This bot allows no AI-graded mock interviews; ask its operator.",
            )
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
        if await store.llm_graded_since(session, member_id, midnight) < self._daily_cap:
            return None
        return cards.notice(
            "That's today's mock interviews",
            f"You have had {self._daily_cap} AI-graded mock interviews today, the daily limit "
            "here. A new day starts at 00:00 UTC; meanwhile `/drill today` has the daily "
            "question and `/drill stats` shows your topics.",
        )

    def _send_later(self, user: UserRef, out: list[Card]) -> None:
        if out:
            self._background.spawn(self._send(user, out), what="a mock interview message")

    async def _send(self, user: UserRef, out: list[Card]) -> bool:
        for card in out:
            try:
                await self._messenger.send_dm(user, card)
            except Exception:
                log.exception("could not send a mock interview message to %s", user)
                return False
        return True


def _check(text: str) -> str | None:
    stripped = text.strip()
    if not stripped:
        return "Your message is empty: reply with your answer as text."
    if len(stripped) > MAX_ANSWER_CHARS:
        return (
            f"Your answer is {len(stripped):,} characters; the limit is {MAX_ANSWER_CHARS:,}. "
            "Trim it and send it again."
        )
    return None
