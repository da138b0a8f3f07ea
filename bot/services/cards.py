"""The messages the bot sends, as platform-neutral cards."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from bot.domain import ANSWER_PRIVATELY, Button, Card, CardField
from bot.grading.base import Grade, Verdict
from bot.questions.schema import Question
from bot.services import replies
from bot.services.leaderboard import Period, Standing
from bot.services.stats import PersonalStats, TopicScore

if TYPE_CHECKING:
    from bot.services.round_views import OpenRound
from bot.user_text import clip, neutralize

_VERDICT_MARK = {Verdict.FULL: "✅", Verdict.PARTIAL: "🟡", Verdict.MISSED: "❌"}
_MEDALS = {1: "🥇", 2: "🥈", 3: "🥉"}
BOARD_ROWS = 10  # standings shown on a card; leaderboards fetch no more


def question_card(
    question: Question, *, closes_at: datetime, late: bool = False, joined: bool = False
) -> Card:
    """The day's question; `joined`: where messages are short, say that an answer sent in
    several messages in a row is joined into one."""
    body = question.prompt
    if question.context:
        body = f"{question.context.strip()}\n\n{body}"
    how = replies.RULE + (" " + replies.JOINED if joined else "")
    if late:
        how = "Posted late (OpsDrill could not post at the scheduled time). " + how
    return Card(
        title="Today's MLOps question",
        body=body,
        fields=(
            CardField("Category", question.category.label),
            CardField("Difficulty", question.difficulty.value.capitalize()),
        ),
        buttons=(Button("Answer privately", ANSWER_PRIVATELY),),
        footer=how,
        deadline=closes_at,
    )


def feedback_card(question: Question, grade: Grade, *, update: bool = False) -> Card:
    lines = []
    for p in grade.points:
        lines.append(f"{_VERDICT_MARK[p.verdict]} {p.point} ({p.earned:g}/{p.weight})")
        if p.evidence:
            lines.append(f"    you said: “{clip(neutralize(p.evidence), 160)}”")
    note = " (provisional: a full regrade will follow)" if grade.provisional else ""
    lead = "Updated grade: your answer scored" if update else "Your answer scored"
    return Card(
        title=f"{lead} {grade.score:g}/10{note}",
        body="\n".join(lines),
        fields=(CardField("Feedback", grade.feedback, inline=False),),
        footer=f"Graded by {grade.grader}",
    )


def missed_card(days: list[date]) -> Card:
    """One line for a channel whose rounds were lost while the bot was down."""
    if len(days) == 1:
        what = f"the round of {days[0]:%a %d %b} was skipped"
    else:
        what = f"{len(days)} rounds were skipped ({days[0]:%a %d %b} – {days[-1]:%a %d %b})"
    return Card(
        title="OpsDrill was offline",
        body=f"OpsDrill was offline for a whole answer window, so {what}. "
        "The next question comes on schedule.",
    )


def reveal_card(question: Question, standings: list[Standing]) -> Card:
    rubric = "\n".join(
        f"• {p.point} ({p.weight} {'pt' if p.weight == 1 else 'pts'})" for p in question.rubric
    )
    return Card(
        title="Round closed: the model answer",
        body=question.model_answer.strip(),
        fields=(
            CardField("What the rubric looked for", rubric, inline=False),
            CardField(
                "Today's standings",
                standings_text(standings, empty="Nobody answered."),
                inline=False,
            ),
        ),
        footer=f"Question: {question.id}",
        names=named(standings),
    )


def standings_text(standings: list[Standing], *, empty: str, limit: int = BOARD_ROWS) -> str:
    if not standings:
        return empty
    rows = []
    for s in standings[:limit]:
        mark = _MEDALS.get(s.rank, f"{s.rank}.")
        rounds = f" · {s.rounds} rounds" if s.rounds > 1 else ""
        unit = "pt" if s.points == 1 else "pts"
        who = "someone" if s.hidden else f"<@{s.user_id}>"
        rows.append(f"{mark} {who} {s.points:g} {unit}{rounds}")
    return "\n".join(rows)


def named(standings: list[Standing]) -> dict[str, str]:
    """Display names of the people a board mentions (not of those who opted out)."""
    return {s.user_id: s.name for s in standings if not s.hidden}


def leaderboard_card(scope: str, period: Period, standings: list[Standing]) -> Card:
    return Card(
        title=f"Leaderboard · {scope} · {period.label}",
        body=standings_text(standings, empty="No graded answers in this period yet."),
        footer="Points are the sum of your round scores; ties go to whoever answered first.",
        names=named(standings),
    )


def stats_card(stats: PersonalStats) -> Card:
    if not stats.rounds and not stats.topics:
        return Card(
            title="Your OpsDrill stats",
            body="No answers yet. Reply in today's question thread to get on the board.",
        )

    def topics(items: list[TopicScore]) -> str:
        return ", ".join(f"{t.category.label} ({t.average:g}/10)" for t in items) or "—"

    return Card(
        title="Your OpsDrill stats",
        fields=(
            CardField("Rounds answered", str(stats.rounds)),
            CardField("Points", f"{stats.points:g}"),
            CardField("Average", f"{stats.average:g}/10"),
            CardField("Streak", f"{stats.streak} (best {stats.best_streak})"),
            *(
                [CardField("Mock interview answers", str(stats.mock_answers))]
                if stats.mock_answers
                else []
            ),
            CardField("Strongest topics", topics(stats.strongest), inline=False),
            CardField(
                "Topics to work on",
                topics(stats.weakest)
                if stats.weakest
                else "Answer in more topics to see which need work.",
                inline=False,
            ),
        ),
    )


def team_topics_card(topics: list[TopicScore], weeks: int) -> Card:
    """The team's strongest and weakest topics, in words."""
    title = f"Team topics · last {weeks} weeks"
    if not topics:
        return Card(title=title, body="No graded round answers in this period yet.")
    ranked = PersonalStats(topics=topics)
    lines = [
        f"• {t.category.label}: {t.average:g}/10 over {t.answers} answer"
        f"{'s' if t.answers != 1 else ''}"
        for t in topics
    ]
    weakest = ranked.weakest
    advice = (
        f"Weakest: {weakest[0].category.label}. Practise it with "
        f"`/drill mock {weakest[0].category.value}`."
        if weakest
        else "Answer rounds in more topics to see which need work."
    )
    strongest = ", ".join(t.category.label for t in ranked.strongest)
    return Card(title=title, body="\n".join([f"Strongest: {strongest}.", advice, "", *lines]))


def home_card(stats: PersonalStats, rounds: list[OpenRound]) -> Card:
    """A person's own page: their numbers and the questions open right now."""
    mine = stats_card(stats)
    today = [
        CardField(f"#{r.channel_name or r.channel_id} · {r.question.category.label}",
                  r.question.prompt, inline=False)
        for r in rounds[:5]
    ] or [CardField("Today", "No question is open right now.", inline=False)]  # fmt: skip
    return Card(
        title="OpsDrill",
        body=mine.body,
        fields=(*mine.fields, *today),
        footer="Answer in the question's thread, or privately with its button. `/drill help`",
    )


def notice(title: str, body: str = "", *, refused: bool = False) -> Card:
    return Card(title=title, body=body, refused=refused)


HELP = """\
`/drill today` — today's question and its deadline
`/drill leaderboard [week|month|all]` — this channel's standings (default: week)
`/drill leaderboard team [week|month|all]` — the whole team's standings
`/drill leaderboard squads [week|month|all]` — squads ranked by average points per active
member (a member with a graded answer in the period), participation beside it
`/drill squad` · `squad join <name>` · `squad leave` — the squads; admins: `squad create <name>`,
`squad add <name> @a @b` (one squad per person; without squads, each channel is one)
`/drill leaderboard hide-me` · `show-me` — leave your name off boards and reveals, or put it back
`/drill stats` — your points, streak, strongest and weakest topics
`/drill stats team` — the team's strongest and weakest topics over the last 4 weeks
`/drill recap` — the weekly recap of the last 7 days, privately (the picture comes by DM)
`/drill forget-me` — delete everything OpsDrill keeps about you
`/drill export` — everything OpsDrill keeps about you, as a JSON file by DM
`/drill contest <why>` — ask the admins to look again at your latest grade here
`/drill mock [topic] [1-6]` — a mock interview in your DMs · `mock history|resume|abandon`
`/drill help` — this message
Admins:
`/drill post` — post today's question now · `/drill close` — close the open round
`/drill schedule HH:MM [Area/City] [mon-fri|daily|mon,wed,fri]` — when rounds post
`/drill window 8h` — how long a round stays open
`/drill pause` · `/drill resume` — stop or restart the daily rounds
`/drill categories [all|deployment monitoring …]` · `/drill difficulty [all|foundation …]`
`/drill grade @person|<answer link> <0-10> <reason>` — regrade an answer (the person is told)
`/drill audit [@person|<answer link>]` — grade history, or the open contests
`/drill export channel` — this channel's rounds and scores as a CSV file by DM
`/drill recap` — post the weekly recap in the channel now (once a week)
`/drill recap day <monday…sunday>|off` — the recap's day (default Monday, at the post time)
Answering: reply in the question's thread. Your first reply is your answer; edit it to change
it (it is graded again). Later replies are discussion and are not graded; short ones ("+1",
"thanks") always are. To replace your answer, start a reply with "new answer:": it is graded
and you are asked privately whether it should replace the answer that counts:
`/drill replace` · `/drill keep` — use the new attempt, or keep the answer you had
On Discord, a long answer may take several messages in a row: they are joined and graded once."""


def help_card(prefix: str = "") -> Card:
    return Card(title="OpsDrill commands", body=(prefix + "\n\n" if prefix else "") + HELP)
