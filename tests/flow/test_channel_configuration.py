"""Admins configure their channel from chat: schedule, window, pause, topics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from bot.config import SHIPPED_QUESTIONS
from bot.questions.bank import load_bank
from bot.storage.models import Grade, QuestionVersion
from tests.flow.harness import Harness, strong_answer

pytestmark = pytest.mark.asyncio
MONDAY = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)


@pytest.fixture
async def bot(database_url: str):  # type: ignore[no-untyped-def]
    harness = await Harness.start(database_url, now=MONDAY)
    await harness.configure()
    yield harness
    await harness.stop()


async def test_a_new_schedule_posts_at_the_new_local_time(bot: Harness) -> None:
    card = await bot.command("schedule 10:30 Europe/Berlin mon-fri")
    assert card is not None and card.title == "Schedule updated"
    assert "10:30 Europe/Berlin on mon,tue,wed,thu,fri" in card.body
    await bot.tick(datetime(2026, 11, 23, 9, 29, tzinfo=UTC))  # 10:29 in Berlin
    assert bot.questions() == []
    await bot.tick(datetime(2026, 11, 23, 9, 30, tzinfo=UTC))
    assert len(bot.questions()) == 1


@pytest.mark.parametrize(
    ("line", "title"),
    [
        ("schedule 25:00", "`25:00` is not a time"),
        ("schedule 09:00 Mars/Olympus", "`Mars/Olympus` is not a time zone I know"),
        ("schedule 09:00 UTC someday", "Those days don't parse"),
        ("window 5m", "Window not changed"),
        ("window forever", "Window not changed"),
        ("categories astrology", "Unknown categories: astrology"),
        ("difficulty impossible", "Unknown difficulties: impossible"),
    ],
)
async def test_bad_settings_are_explained_and_change_nothing(
    bot: Harness, line: str, title: str
) -> None:
    card = await bot.command(line)
    assert card is not None and card.title == title
    channel = await bot.app.channels.find(bot.channel)
    assert channel is not None
    assert (channel.post_time, channel.timezone, channel.window_minutes) == ("09:00", "UTC", 480)
    assert channel.categories is None and channel.difficulties is None


async def test_a_paused_channel_gets_no_rounds_until_resumed(bot: Harness) -> None:
    await bot.command("pause")
    await bot.tick(MONDAY + timedelta(hours=3))
    assert bot.questions() == []
    card = await bot.command("resume")
    assert card is not None and card.title == "Resumed"
    await bot.tick(MONDAY + timedelta(days=1, hours=3))
    assert len(bot.questions()) == 1


async def test_the_window_decides_when_the_round_closes(bot: Harness) -> None:
    await bot.command("window 2h")
    await bot.tick(MONDAY + timedelta(hours=3))
    [post] = bot.questions()
    assert post.card is not None and post.card.deadline == MONDAY + timedelta(hours=5)


async def test_a_channel_limited_to_categories_only_gets_those(bot: Harness) -> None:
    card = await bot.command("categories deployment monitoring")
    assert card is not None and "deployment, monitoring" in card.title
    for day in range(4):
        await bot.tick(MONDAY + timedelta(days=day, hours=3))
        question = await bot.question()
        assert question.category.value in {"deployment", "monitoring"}
        await bot.tick(MONDAY + timedelta(days=day, hours=12))


async def test_members_cannot_change_the_configuration(bot: Harness) -> None:
    member = bot.platform.user("U-member", "member")
    for line in ("schedule 10:00", "window 2h", "pause", "categories llmops"):
        card = await bot.command(line, user=member)
        assert card is not None and card.title == "Admins only"


async def test_an_edited_question_gets_a_new_version_and_old_grades_keep_theirs(
    database_url: str, tmp_path: Path
) -> None:
    team_bank = tmp_path / "bank"
    team_bank.mkdir()
    bot = await Harness.start(database_url, now=MONDAY, OPSDRILL_QUESTIONS_DIR=str(team_bank))
    try:
        await bot.configure()
        await bot.tick(MONDAY + timedelta(hours=3))
        question = await bot.question()
        await bot.answer(bot.platform.user("U-ada", "ada"), strong_answer(question))
        await bot.grade_all()
        old_version = question.version

        edited = question.model_dump(mode="json", exclude_none=True)
        edited["prompt"] = question.prompt + " Give an example from your own work."
        (team_bank / "override.yaml").write_text(yaml.safe_dump({"questions": [edited]}))
        bot = await bot.restart()

        async with bot.app.sessions() as session:
            versions = (
                await session.scalars(
                    select(QuestionVersion.version).where(QuestionVersion.slug == question.id)
                )
            ).all()
            graded = (await session.scalars(select(Grade.question_version))).all()
        assert len(set(versions)) == 2 and old_version in versions
        assert graded == [old_version]
        assert load_bank([SHIPPED_QUESTIONS, team_bank]).get(question.id).version != old_version  # type: ignore[union-attr]
    finally:
        await bot.stop()
