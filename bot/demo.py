"""`opsdrill demo`: a whole round in the terminal with three simulated teammates."""

from __future__ import annotations

from rich.console import Console
from sqlalchemy import delete
from sqlalchemy.engine import make_url

from adapters.console import ConsoleAdapter
from bot.app import App
from bot.config import Settings
from bot.questions.schema import Question
from bot.storage.models import Team

DEMO_TEAM = "demo-team"
DEMO_CHANNEL = "mlops"


def demo_answers(question: Question) -> list[tuple[str, str, str]]:
    """(user id, name, answer) for a strong, a partial and a weak teammate. The strong and
    partial answers are assembled from how candidates phrase the rubric points."""
    phrasing = [p.phrasings[0].rstrip(".") + "." for p in question.rubric]
    half = max(1, len(phrasing) // 2)
    return [
        ("U-ada", "ada", " ".join(phrasing)),
        ("U-grace", "grace", " ".join(phrasing[:half])),
        ("U-linus", "linus", question.weak_answer.text),
    ]


async def run_demo(settings: Settings, console: Console) -> None:
    adapter = ConsoleAdapter(
        team_id=DEMO_TEAM, console=console, channel_names={DEMO_CHANNEL: DEMO_CHANNEL}
    )
    console.rule("[bold]OpsDrill demo")
    console.print(f"Database: {_safe_url(settings.database_url)} · grader: offline", style="dim")
    app = await App.create(settings, adapters=[adapter])
    try:
        # Each run replays the demo from scratch: drop the previous run's demo team.
        async with app.sessions.begin() as session:
            await session.execute(
                delete(Team).where(Team.platform == adapter.platform, Team.external_id == DEMO_TEAM)
            )
        await app.start(schedule=False, workers=False)
        channel = adapter.channel(DEMO_CHANNEL)
        admin = adapter.user("U-admin", "you")
        adapter.admins.add(admin.user_id)
        await app.channels.ensure(channel, name=DEMO_CHANNEL)

        console.rule("An admin posts today's question in #mlops")
        adapter.show(await adapter.command(admin, channel, "post"))
        thread = adapter.posts()[-1].message
        assert thread is not None
        question = await app.views.question_for_thread(thread)
        assert question is not None

        console.rule("Three teammates answer in the thread")
        for user_id, name, text in demo_answers(question):
            user = adapter.user(user_id, name)
            console.print(f"[bold]@{name}[/bold]: {text}\n")
            await adapter.answer(user, thread, text)
            await app.background.idle()  # its 👀 under the answer, not under the next one

        console.rule("The grader works through the answers")
        await app.grading.drain()

        console.rule("The round closes")
        adapter.show(await adapter.command(admin, channel, "close"))

        console.rule("This week's leaderboard")
        adapter.show(await adapter.command(admin, channel, "leaderboard week"))
        console.rule("[bold green]Demo finished")
        console.print(
            "Try it yourself: [bold]opsdrill chat[/bold] — answer today's question, or type "
            "[bold]/drill help[/bold]."
        )
    finally:
        await app.stop()


def _safe_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)
