"""A year of a big workspace for bench/leaderboard.py: generated in memory as compact arrays,
then bulk-loaded with COPY into a database the app's own migrations built.

The shape: one team; every channel gets one round per weekday for a year; each member belongs
to a few channels and answers some of their rounds (a heavy tail: a few people answer nearly
every day). About 2% of entries replaced an earlier answer (it stays, superseded), 1% of answers
were edited and graded again, 8% got a provisional grade and then a final one. Every answer is
graded; the newest grade of an answer counts, as in the app."""

from __future__ import annotations

import json
import random
from array import array
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from bot.questions.schema import Category, Difficulty

# A Friday at the end of a month: "this week" and "this month" both hold their most rounds.
TODAY = date(2026, 11, 27)
TEAM = "T0BENCH"
SUPERSEDED = 0.02
EDITED = 0.01
REGRADED = 0.08
QUESTIONS = 150

_TEXT = (
    "We version the training data with the code, pin the feature definitions, and gate the "
    "deploy on a shadow comparison against the current model; drift alerts page the owner. "
)
_TEXTS = [_TEXT * (1 + i % 4) for i in range(8)]
_FEEDBACK = [
    "Good coverage of rollback and monitoring; you did not say how the data would be versioned.",
    "Solid answer. Mention the canary's success metric and who gets paged when it regresses.",
    "Partly there: the pipeline is right but the validation step and its thresholds are missing.",
]
_POINTS = json.dumps(
    [{"point_id": f"p{i}", "verdict": v} for i, v in enumerate(("hit", "partial", "hit", "missed"))]
)


@dataclass(frozen=True, slots=True)
class Shape:
    """How big the data set is; the number of answers sets the rest (capped at the target's
    20,000 members and 200 channels), so a small run keeps a year's shape."""

    answers: int
    members: int
    channels: int
    days: list[date]

    @classmethod
    def for_answers(cls, answers: int) -> Shape:
        first = TODAY - timedelta(days=364)
        days = [first + timedelta(days=i) for i in range(365)]
        return cls(
            answers=answers,
            members=min(20_000, max(50, answers // 50)),
            channels=min(200, max(2, answers // 5_000)),
            days=[d for d in days if d.weekday() < 5],
        )

    def round_id(self, day_index: int, channel: int) -> int:
        """Rounds are numbered in time order, as the scheduler creates them."""
        return day_index * self.channels + channel + 1


@dataclass(slots=True)
class Plan:
    """One row per answer, in id order (rounds in time order, answers by submission)."""

    shape: Shape
    round: array[int]
    member: array[int]
    second: array[int]  # seconds after the round opened
    counted: array[int]  # 1: the entry's answer; 0: superseded by the member's next answer
    revision: array[int]
    grades: array[int]  # 1, or 2 (provisional then final, or a grade per revision)
    score: array[float]  # the final score

    @property
    def entries(self) -> int:
        return sum(self.counted)


def make_plan(shape: Shape, seed: int = 7) -> Plan:
    rng = random.Random(seed)
    # A heavy tail of activity: most people answer now and then, a few nearly every day.
    activity = [min(rng.paretovariate(1.1), 60.0) for _ in range(shape.members)]
    skill = [rng.uniform(3.0, 9.0) for _ in range(shape.members)]
    popularity = [min(rng.paretovariate(1.0), 20.0) for _ in range(shape.channels)]
    in_channel: list[list[int]] = [[] for _ in range(shape.channels)]
    for m in range(shape.members):
        k = 1 + min(4, int(rng.expovariate(0.7)))
        for c in set(rng.choices(range(shape.channels), weights=popularity, k=k)):
            in_channel[c].append(m)
    rate = [sum(activity[m] for m in ms) for ms in in_channel]
    entries = round(shape.answers / (1 + SUPERSEDED))
    per_round = _spread(entries, shape, rate, [len(ms) for ms in in_channel], rng)
    cum = [_cumulative(activity[m] for m in ms) for ms in in_channel]
    replaced = set(rng.sample(range(entries), shape.answers - entries))

    plan = Plan(
        shape, round=array("i"), member=array("i"), second=array("i"), counted=array("i"),
        revision=array("i"), grades=array("i"), score=array("d"),
    )  # fmt: skip
    entry = 0
    for day_index in range(len(shape.days)):
        for c in range(shape.channels):
            k = per_round[day_index * shape.channels + c]
            answers: list[tuple[int, int, int]] = []  # (second, member, counted)
            for m in _distinct(rng, in_channel[c], cum[c], k):
                second = int(rng.expovariate(1 / 3600)) % 27_000
                if entry in replaced:  # an answer, then a better one a few minutes later
                    answers.append((second, m, 0))
                    second += 60 + rng.randrange(1200)
                answers.append((second, m, 1))
                entry += 1
            answers.sort()
            round_id = shape.round_id(day_index, c)
            for second, m, counted in answers:
                edited = rng.random() < EDITED
                plan.round.append(round_id)
                plan.member.append(m + 1)
                plan.second.append(second)
                plan.counted.append(counted)
                plan.revision.append(2 if edited else 1)
                plan.grades.append(2 if edited or rng.random() < REGRADED else 1)
                plan.score.append(round(min(10.0, max(0.0, rng.gauss(skill[m], 1.5))), 1))
    return plan


def _spread(
    total: int, shape: Shape, rate: list[float], room: list[int], rng: random.Random
) -> list[int]:
    """Entries per round: in proportion to the channel's activity, a little noise, never more
    than the channel has members; exactly `total` in all."""
    rounds = len(shape.days) * shape.channels
    weight = [rate[i % shape.channels] * rng.uniform(0.7, 1.3) for i in range(rounds)]
    scale = total / sum(weight)
    counts = [min(room[i % shape.channels], int(w * scale)) for i, w in enumerate(weight)]
    short = total - sum(counts)
    while short > 0:
        i = rng.randrange(rounds)
        if counts[i] < room[i % shape.channels]:
            counts[i] += 1
            short -= 1
    return counts


def _cumulative(weights: Iterable[float]) -> list[float]:
    out: list[float] = []
    acc = 0.0
    for w in weights:
        acc += w
        out.append(acc)
    return out


def _distinct(rng: random.Random, members: list[int], cum: list[float], k: int) -> list[int]:
    """k distinct members, the active ones more likely."""
    chosen: dict[int, None] = {}  # insertion-ordered, so the draw order is the answer order
    for _ in range(8):
        for m in rng.choices(members, cum_weights=cum, k=2 * (k - len(chosen)) + 4):
            if len(chosen) == k:
                return list(chosen)
            chosen.setdefault(m)
    # A small channel where nearly everyone answered: fill up with whoever is left.
    for m in rng.sample(members, len(members)):
        if len(chosen) == k:
            break
        chosen.setdefault(m)
    return list(chosen)


# --- COPY ------------------------------------------------------------------------------------


def _opens(shape: Shape, round_id: int) -> datetime:
    day = shape.days[(round_id - 1) // shape.channels]
    return datetime.combine(day, time(9, 30), tzinfo=UTC)


# Bulk-loads one table: its name, the columns given, and the rows (a backend's COPY).
Copy = Callable[[str, list[str], Iterable[tuple[Any, ...]]], Awaitable[None]]


async def load(bulk: Copy, plan: Plan) -> dict[str, int]:
    """Load the plan into a migrated, empty database; rows per table."""
    shape = plan.shape
    start = datetime.combine(shape.days[0], time(8), tzinfo=UTC) - timedelta(days=30)
    counts: dict[str, int] = {}

    async def copy(table: str, columns: list[str], rows: Iterable[tuple[Any, ...]]) -> None:
        counts[table] = 0

        def counted() -> Iterator[tuple[Any, ...]]:
            for row in rows:
                counts[table] += 1
                yield row

        await bulk(table, columns, counted())

    await copy("teams", ["id", "platform", "external_id", "name", "created_at"],
               [(1, "slack", TEAM, "Bench Corp", start)])  # fmt: skip
    await copy(
        "channels",
        ["id", "team_id", "external_id", "name", "post_time", "timezone", "weekdays",
         "window_minutes", "active", "created_at", "schedule_changed_at"],
        ((c, 1, f"C{c:05d}", f"drill-{c}", "09:30", "UTC", "mon,tue,wed,thu,fri", 480, True,
          start, start) for c in range(1, shape.channels + 1)),
    )  # fmt: skip
    await copy(
        "members",
        ["id", "team_id", "external_id", "display_name", "created_at"],
        ((m, 1, f"U{m:07d}", f"member {m}", start) for m in range(1, shape.members + 1)),
    )
    categories, difficulties = list(Category), list(Difficulty)
    await copy(
        "questions",
        ["id", "slug", "version", "category", "difficulty", "content", "synced_at"],
        ((q, f"q-{q}", "v1", categories[q % len(categories)].value,
          difficulties[q % len(difficulties)].value, json.dumps({"id": f"q-{q}"}), start)
         for q in range(1, QUESTIONS + 1)),
    )  # fmt: skip
    await copy("rounds", _ROUND_COLUMNS, _rounds(shape))
    await copy("answers", _ANSWER_COLUMNS, _answers(plan))
    await copy("entries", _ENTRY_COLUMNS, _entries(plan))
    await copy("grades", _GRADE_COLUMNS, _grades(plan))
    months = _months(plan)
    await copy("team_month_totals", _MONTH_COLUMNS, _month_rows(months))
    await copy("team_totals", _TOTAL_COLUMNS, _total_rows(months))
    await _interviews(copy, shape)
    return counts


_ROUND_COLUMNS = [
    "id",
    "channel_id",
    "question_id",
    "local_date",
    "status",
    "opens_at",
    "closes_at",
    "posted_at",
    "closed_at",
    "revealed_at",
    "message_id",
]


def _rounds(shape: Shape) -> Iterator[tuple[Any, ...]]:
    for day_index, day in enumerate(shape.days):
        for c in range(shape.channels):
            round_id = shape.round_id(day_index, c)
            opens = _opens(shape, round_id)
            closes = opens + timedelta(minutes=480)
            done = day < TODAY
            yield (
                round_id, c + 1, 1 + (day_index * 7 + c) % QUESTIONS, day,
                "closed" if done else "open", opens, closes, opens,
                closes if done else None, closes if done else None, f"{round_id}.000100",
            )  # fmt: skip


_ANSWER_COLUMNS = [
    "id",
    "round_id",
    "member_id",
    "message_id",
    "text",
    "private",
    "status",
    "revision",
    "submitted_at",
    "edited_at",
]


def _answers(plan: Plan) -> Iterator[tuple[Any, ...]]:
    shape = plan.shape
    for i in range(len(plan.round)):
        submitted = _opens(shape, plan.round[i]) + timedelta(seconds=plan.second[i])
        edited = submitted + timedelta(minutes=3) if plan.revision[i] > 1 else None
        yield (
            i + 1, plan.round[i], plan.member[i], f"{plan.round[i]}.{i:07d}", _TEXTS[i % 8],
            i % 50 == 0, "counted" if plan.counted[i] else "superseded", plan.revision[i],
            submitted, edited,
        )  # fmt: skip


_ENTRY_COLUMNS = ["id", "round_id", "member_id", "answer_id", "first_answered_at", "score",
                  "channel_id", "local_date"]  # fmt: skip


def _entries(plan: Plan) -> Iterator[tuple[Any, ...]]:
    shape = plan.shape
    first: dict[tuple[int, int], int] = {}  # a superseded answer's second, until its successor
    entry_id = 0
    for i in range(len(plan.round)):
        key = (plan.round[i], plan.member[i])
        if not plan.counted[i]:
            first[key] = plan.second[i]
            continue
        entry_id += 1
        second = first.pop(key, plan.second[i])
        day_index, channel = divmod(plan.round[i] - 1, shape.channels)
        yield (
            entry_id, plan.round[i], plan.member[i], i + 1,
            _opens(shape, plan.round[i]) + timedelta(seconds=second),
            plan.score[i],  # every answer's newest grade is final and of its latest text
            channel + 1, shape.days[day_index],
        )  # fmt: skip


_MONTH_COLUMNS = ["team_id", "month", "member_id", "points", "rounds", "first_answered_at"]
_TOTAL_COLUMNS = ["team_id", "member_id", "points", "rounds", "first_answered_at"]


def _months(plan: Plan) -> dict[tuple[date, int], list[Any]]:
    """What bot.storage.tally keeps for the one team: each member's totals per month."""
    months: dict[tuple[date, int], list[Any]] = {}
    for _, _, member_id, _, first, score, _, day in _entries(plan):
        kept = months.setdefault((day.replace(day=1), member_id), [0.0, 0, first])
        kept[0] += score
        kept[1] += 1
        kept[2] = min(kept[2], first)
    return months


def _month_rows(months: dict[tuple[date, int], list[Any]]) -> Iterator[tuple[Any, ...]]:
    for (month, member_id), (points, rounds, first) in sorted(months.items()):
        yield 1, month, member_id, points, rounds, first


def _total_rows(months: dict[tuple[date, int], list[Any]]) -> Iterator[tuple[Any, ...]]:
    totals: dict[int, list[Any]] = {}
    for (_, member_id), (points, rounds, first) in sorted(months.items()):
        kept = totals.setdefault(member_id, [0.0, 0, first])
        kept[0] += points
        kept[1] += rounds
        kept[2] = min(kept[2], first)
    for member_id, (points, rounds, first) in sorted(totals.items()):
        yield 1, member_id, points, rounds, first


_GRADE_COLUMNS = [
    "id",
    "answer_id",
    "answer_revision",
    "grader",
    "question_version",
    "score",
    "max_score",
    "points",
    "feedback",
    "provisional",
    "flags",
    "created_at",
]


def _grades(plan: Plan) -> Iterator[tuple[Any, ...]]:
    """A round's first grades in submission order, then its second ones (a regrade comes
    minutes later), so grade ids grow with time as they do in the app."""
    shape = plan.shape
    grade_id = 0
    i, n = 0, len(plan.round)
    while i < n:
        j = i
        while j < n and plan.round[j] == plan.round[i]:
            j += 1
        for second_pass in (False, True):
            for a in range(i, j):
                if second_pass and plan.grades[a] < 2:
                    continue
                grade_id += 1
                final = second_pass or plan.grades[a] == 1
                provisional = not final and plan.revision[a] == 1
                revision = plan.revision[a] if final else 1
                score = plan.score[a] if final else max(0.0, plan.score[a] - 1.0)
                at = _opens(shape, plan.round[a]) + timedelta(seconds=plan.second[a] + 20)
                if second_pass:
                    at += timedelta(minutes=5)
                yield (
                    grade_id, a + 1, revision, "offline-1" if provisional else "anthropic",
                    "v1", score, 10.0, _POINTS, _FEEDBACK[a % 3], provisional, "[]", at,
                )  # fmt: skip
        i = j


async def _interviews(copy: Copy, shape: Shape) -> None:
    """Some mock interviews: they count toward a person's topics in their stats."""
    people = max(1, shape.members // 10)
    started = datetime.combine(TODAY - timedelta(days=100), time(12), tzinfo=UTC)
    await copy(
        "interviews",
        ["id", "member_id", "active_member_id", "status", "topic", "length", "position",
         "grader", "revision", "started_at", "last_active_at", "ended_at"],
        ((i, i * 7 % shape.members + 1, None, "finished", None, 5, 5, "anthropic", 1,
          started + timedelta(hours=i), started + timedelta(hours=i, minutes=40),
          started + timedelta(hours=i, minutes=40)) for i in range(1, people + 1)),
    )  # fmt: skip
    await copy(
        "interview_turns",
        ["id", "interview_id", "position", "question_id", "status", "answers", "follow_ups",
         "hints", "score", "points", "grader", "provisional"],
        (((i - 1) * 5 + p + 1, i, p, 1 + (i + p) % QUESTIONS, "graded", "[]", "[]", "[]",
          float((i + p) % 11), _POINTS, "anthropic", False)
         for i in range(1, people + 1) for p in range(5)),
    )  # fmt: skip
