"""The messages of a mock interview, as platform-neutral cards."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.domain import Card, CardField
from bot.grading.base import Verdict
from bot.questions.schema import Category, Question
from bot.services.interview_plan import point_name
from bot.services.scorecard import Scorecard, TurnResult
from bot.user_text import clip

COMMANDS = (
    "`hint` names a point you have not covered yet · `repeat` sends the question again · "
    "`skip` moves on (the question scores 0) · `stop` ends now with a partial scorecard"
)
USAGE = (
    "`/drill mock [topic] [questions]` starts one (1-6 questions, default 3; topics: "
    + ", ".join(c.value for c in Category)
    + "); `/drill mock history` lists past ones."
)
_MARK = {Verdict.FULL: "✅", Verdict.PARTIAL: "🟡", Verdict.MISSED: "❌"}
_ENDINGS = {
    "stopped": "You stopped the interview; here is how it went so far.",
    "expired": "The interview ended after 30 minutes without a reply; here is how it went.",
}


def topic_label(topic: str | None) -> str:
    return Category(topic).label if topic else "Mixed topics"


def intro_card(topic: Category | None, length: int, reason: str) -> Card:
    return Card(
        title=f"Mock interview: {topic_label(topic)}",
        body=(
            f"{length} question{'s' if length > 1 else ''} ({reason}). Answer each one here as "
            "you would out loud; I may follow up on what your answer leaves out, up to twice "
            "per question. Scores come at the end."
        ),
        fields=(CardField("Commands", COMMANDS, inline=False),),
        footer="30 minutes without a reply ends the interview with a partial scorecard.",
    )


def question_card(question: Question, position: int, length: int, *, again: bool = False) -> Card:
    body = question.prompt
    if question.context:
        body = f"{question.context.strip()}\n\n{body}"
    return Card(
        title=f"Question {position + 1} of {length}" + (" (again)" if again else ""),
        body=body,
        fields=(
            CardField("Category", question.category.label),
            CardField("Difficulty", question.difficulty.value.capitalize()),
        ),
        footer=f"{question.id} · reply with your answer, or hint · repeat · skip · stop",
    )


def follow_up_card(probe: str, position: int, *, again: bool = False) -> Card:
    title = f"Follow-up on question {position + 1}" + (" (again)" if again else "")
    return Card(title=title, body=probe, footer="Reply here; hint · repeat · skip · stop")


def hint_card(question: Question, point_id: str | None) -> Card:
    if point_id is None:
        return Card(title="No more hints", body="You have heard every hint for this question.")
    weight = question.point(point_id).weight
    return Card(
        title="Hint",
        body=f"Think about: *{point_name(point_id)}* (worth {weight} of the 10 points).",
    )


def notice(title: str, body: str = "", *, refused: bool = False) -> Card:
    return Card(title=title, body=body, refused=refused)


def offer_card(topic: str | None, position: int, length: int) -> Card:
    return Card(
        title="You already have a mock interview going",
        body=(
            f"{topic_label(topic)}, question {position + 1} of {length}. "
            "`/drill mock resume` picks it up in your DMs; `/drill mock abandon` ends it so you "
            "can start another."
        ),
    )


def scorecard_card(card: Scorecard, topic: str | None, *, ending: str = "finished") -> Card:
    fields = [_question_field(r) for r in card.results]
    if card.strongest is not None and card.weakest is not None:
        strong = f"{card.strongest[0].label} ({card.strongest[1]:g}/10)"
        weak = f"{card.weakest[0].label} ({card.weakest[1]:g}/10)"
        if card.strongest[0] == card.weakest[0]:  # one topic: nothing to compare it with
            fields.append(CardField("Topic", strong))
        else:
            fields.append(CardField("Strongest topic", strong))
            fields.append(CardField("Weakest topic", weak))
    steps = "\n".join(f"{i}. {s}" for i, s in enumerate(card.next_steps, start=1))
    fields.append(CardField("Next steps", steps, inline=False))
    verdict = card.recommendation.value if card.recommendation else "No verdict"
    fields.append(CardField(f"Verdict: {verdict}", "\n".join(card.reasons), inline=False))
    score = f"{card.average:g}/10 · {verdict}" if card.average is not None else "no verdict"
    lead = "Mock interview scorecard" if card.complete else "Partial scorecard"
    return Card(
        title=f"{lead}: {score}",
        body=_ENDINGS.get(ending, f"{topic_label(topic)}: well done for finishing."),
        fields=tuple(fields),
        footer="Mock answers count toward your topics in `/drill stats`, not the leaderboard.",
    )


def _question_field(r: TurnResult) -> CardField:
    label = f"Q{r.position + 1} · {r.question.id} · {r.question.category.label}"
    if r.status == "skipped":
        return CardField(f"{label} — skipped, 0/10", clip(r.question.prompt, 120), inline=False)
    if not r.counted:
        return CardField(f"{label} — not answered", clip(r.question.prompt, 120), inline=False)
    lines = [
        f"{_MARK[Verdict(p['verdict'])]} {clip(p['point'], 120)} ({p['earned']:g}/{p['weight']})"
        for p in r.points
    ]
    extras = [f"{r.follow_ups} follow-up{'s' if r.follow_ups > 1 else ''}"] if r.follow_ups else []
    extras += [f"{r.hints} hint{'s' if r.hints > 1 else ''}"] if r.hints else []
    if extras:
        lines.append(f"({', '.join(extras)})")
    return CardField(f"{label} — {r.value:g}/10", "\n".join(lines), inline=False)


@dataclass(frozen=True, slots=True)
class PastInterview:
    started_at: datetime
    topic: str | None
    status: str
    length: int
    answered: int
    average: float | None
    verdict: str | None


_STATUS = {"finished": "", "stopped": " (stopped)", "expired": " (timed out)",
           "abandoned": " (abandoned)", "active": " (in progress)"}  # fmt: skip


def history_card(past: list[PastInterview]) -> Card:
    if not past:
        return Card(title="Your mock interviews", body="None yet. " + USAGE)
    lines = []
    for p in past:
        score = f"{p.average:g}/10 · {p.verdict}" if p.average is not None else "no score"
        lines.append(
            f"{p.started_at:%Y-%m-%d} · {topic_label(p.topic)} · {p.answered}/{p.length} "
            f"questions · {score}{_STATUS.get(p.status, '')}"
        )
    return Card(title="Your mock interviews", body="\n".join(lines), footer=USAGE)
