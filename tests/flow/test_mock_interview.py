"""Mock interviews in direct messages: questions, follow-ups on what an answer missed, the
commands, restarts, idleness, the daily cap, history, and which questions get asked."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.domain import Card, UserRef
from bot.questions.schema import Category, Question
from bot.services.interview_plan import ASPECT_PROBES, point_name
from bot.storage.models import Interview, InterviewTurn, QuestionVersion
from tests.fakes.anthropic_api import FakeAnthropic, status
from tests.flow.harness import Harness, strong_answer

pytestmark = pytest.mark.asyncio
MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.fixture
async def bot(database_url: str) -> AsyncIterator[Harness]:
    harness = await Harness.start(database_url, now=MONDAY)
    yield harness
    await harness.stop()


async def _llm_bot(database_url: str, fake_anthropic: FakeAnthropic, **env: object) -> Harness:
    """The app with Claude (the fake) as its grader."""
    return await Harness.start(
        database_url, now=MONDAY, ANTHROPIC_API_KEY="sk-test-key",
        ANTHROPIC_BASE_URL=fake_anthropic.url, OPSDRILL_GRADER_RETRIES=0, **env,
    )  # fmt: skip


def _ada(bot: Harness) -> UserRef:
    return bot.platform.user("U-ada", "ada")


def _other_ways(q: Question) -> str:
    """Every rubric point again, in other words: what a follow-up answer adds."""
    return " ".join(p.phrasings[1].rstrip(".") + "." for p in q.rubric)


def _partial(q: Question) -> str:
    """One rubric point, said well, leaving out a point the bank has a follow-up for."""
    probed = q.follow_ups[0].point
    return next(p for p in q.rubric if p.id != probed).phrasings[0]


async def _turns(bot: Harness) -> list[tuple[InterviewTurn, str]]:
    async with bot.app.sessions() as session:
        rows = await session.execute(
            select(InterviewTurn, QuestionVersion.slug)
            .join(QuestionVersion, QuestionVersion.id == InterviewTurn.question_id)
            .order_by(InterviewTurn.interview_id, InterviewTurn.position)
        )
        return [(turn, slug) for turn, slug in rows.tuples()]


async def _answer_fully(bot: Harness, user: UserRef) -> list[Card]:
    """Answer the current question strongly, and any follow-up with the rest in other words."""
    q = await bot.mock_question(user)
    sent = await bot.dm(user, strong_answer(q))
    while sent[-1].title.startswith("Follow-up"):
        sent = await bot.dm(user, _other_ways(q))
    return sent


async def test_a_whole_interview_ends_with_a_scorecard_and_a_verdict(bot: Harness) -> None:
    ada = _ada(bot)
    started = await bot.mock(ada)
    assert started.title == "Mock interview started: Mixed topics"
    intro, first = bot.dms(ada)
    assert intro.title == "Mock interview: Mixed topics"
    assert all(word in intro.fields[0].value for word in ("hint", "repeat", "skip", "stop"))
    assert first.title == "Question 1 of 3"
    for number in (2, 3):
        assert (await _answer_fully(bot, ada))[-1].title == f"Question {number} of 3"
    card = (await _answer_fully(bot, ada))[-1]
    assert card.title.startswith("Mock interview scorecard: ")
    assert card.title.endswith(("· Strong hire", "· Hire"))
    fields = {f.label: f.value for f in card.fields}
    per_question = [label for label in fields if label.startswith("Q")]
    assert len(per_question) == 3 and all(label.endswith("/10") for label in per_question)
    assert all("✅" in fields[label] for label in per_question)
    assert "Strongest topic" in fields and "Weakest topic" in fields
    assert len(fields["Next steps"].splitlines()) == 3
    verdict = next(label for label in fields if label.startswith("Verdict: "))
    assert "Average" in fields[verdict] and "rubric points fully covered" in fields[verdict]
    assert not await bot.app.interviews.is_active(ada)


async def test_follow_ups_probe_missed_points_and_their_answers_raise_the_score(
    bot: Harness,
) -> None:
    ada = _ada(bot)
    await bot.mock(ada, "monitoring 1")
    q = await bot.mock_question(ada)
    [probe] = await bot.dm(ada, _partial(q))
    [(turn, _)] = await _turns(bot)
    verdicts = {p["point_id"]: p["verdict"] for p in turn.points or []}
    asked = turn.follow_ups[0]
    assert probe.title == "Follow-up on question 1" and probe.body == asked["probe"]
    assert verdicts[asked["point"]] != "full"
    assert any(f.point == asked["point"] and f.probe == probe.body for f in q.follow_ups)
    first_score = turn.score or 0.0

    await bot.dm(ada, " ".join(q.point(asked["point"]).phrasings[:3]))
    [(turn, _)] = await _turns(bot)
    assert (turn.score or 0.0) > first_score  # graded together with the first answer

    sent = await bot.dm(ada, "I would also keep an eye on the dashboards.")
    while sent[-1].title.startswith("Follow-up"):
        sent = await bot.dm(ada, "Nothing more to add.")
    [(turn, _)] = await _turns(bot)
    assert len(turn.follow_ups) <= 2
    assert sent[-1].title.startswith("Mock interview scorecard")


async def test_design_questions_probe_scale_failure_modes_monitoring_and_mvp(
    bot: Harness,
) -> None:
    ada = _ada(bot)
    await bot.mock(ada, "system-design 1")
    q = await bot.mock_question(ada)
    [probe] = await bot.dm(ada, q.weak_answer.text)
    [(turn, _)] = await _turns(bot)
    point = q.point(turn.follow_ups[0]["point"])
    assert point.aspect is not None
    bank = [f.probe for f in q.follow_ups if f.point == point.id]
    assert probe.body in [*bank, ASPECT_PROBES[point.aspect]]


async def test_skip_scores_the_question_zero_and_moves_on(bot: Harness) -> None:
    ada = _ada(bot)
    await bot.mock(ada, "2")
    skipped = await bot.mock_question(ada)
    note, second = await bot.dm(ada, "skip")
    assert note.title == "Skipped" and second.title == "Question 2 of 2"
    card = (await bot.dm(ada, "skip"))[-1]
    assert card.title == "Mock interview scorecard: 0/10 · No hire"
    labels = [f.label for f in card.fields]
    assert any(skipped.id in label and label.endswith("skipped, 0/10") for label in labels)


async def test_hint_names_an_uncovered_point_but_not_the_answer(bot: Harness) -> None:
    ada = _ada(bot)
    await bot.mock(ada, "deployment 1")
    q = await bot.mock_question(ada)
    [first] = await bot.dm(ada, "hint")
    [second] = await bot.dm(ada, "hint")
    names = [point_name(p.id) for p in q.rubric]
    named_first = [n for n in names if f"*{n}*" in first.body]
    named_second = [n for n in names if f"*{n}*" in second.body]
    assert first.title == second.title == "Hint"
    assert len(named_first) == len(named_second) == 1 and named_first != named_second
    for card in (first, second):
        for p in q.rubric:
            assert p.full_credit not in card.body and p.phrasings[0] not in card.body


async def test_repeat_sends_the_current_question_or_follow_up_again(bot: Harness) -> None:
    ada = _ada(bot)
    await bot.mock(ada, "monitoring 2")
    asked = bot.dms(ada)[-1]
    [again] = await bot.dm(ada, "repeat")
    assert again.title == "Question 1 of 2 (again)" and again.body == asked.body
    q = await bot.mock_question(ada)
    [probe] = await bot.dm(ada, _partial(q))
    [probe_again] = await bot.dm(ada, "Repeat")
    assert probe_again.title == "Follow-up on question 1 (again)"
    assert probe_again.body == probe.body


async def test_stop_ends_early_with_a_partial_scorecard(bot: Harness) -> None:
    ada = _ada(bot)
    await bot.mock(ada)
    await _answer_fully(bot, ada)
    [card] = await bot.dm(ada, "stop")
    assert card.title.startswith("Partial scorecard: ")
    assert "stopped" in card.body
    labels = [f.label for f in card.fields]
    assert sum(label.endswith("not answered") for label in labels) == 2
    reasons = next(f.value for f in card.fields if f.label.startswith("Verdict"))
    assert "Partial: 1 of 3 questions answered" in reasons
    [help_card] = await bot.dm(ada, "and another thing")
    assert "/drill mock" in help_card.body


async def test_a_restart_mid_interview_continues_where_it_stopped(bot: Harness) -> None:
    ada = _ada(bot)
    await bot.mock(ada)
    await _answer_fully(bot, ada)
    second = bot.dms(ada)[-1]
    assert second.title == "Question 2 of 3"

    bot = await bot.restart()
    [again] = await bot.dm(ada, "repeat")
    assert again.title == "Question 2 of 3 (again)" and again.body == second.body
    assert (await _answer_fully(bot, ada))[-1].title == "Question 3 of 3"
    assert (await _answer_fully(bot, ada))[-1].title.startswith("Mock interview scorecard")


async def test_thirty_idle_minutes_end_the_interview_on_the_scheduler_sweep(bot: Harness) -> None:
    ada = _ada(bot)
    await bot.mock(ada)
    await _answer_fully(bot, ada)
    await bot.tick(bot.clock.now() + timedelta(minutes=29))
    assert bot.dms(ada)[-1].title == "Question 2 of 3"
    await bot.tick(bot.clock.now() + timedelta(minutes=2))
    card = bot.dms(ada)[-1]
    assert card.title.startswith("Partial scorecard: ") and "30 minutes" in card.body
    assert not await bot.app.interviews.is_active(ada)


async def test_a_message_after_thirty_idle_minutes_gets_the_partial_scorecard(
    bot: Harness,
) -> None:
    ada = _ada(bot)
    await bot.mock(ada)
    bot.clock.advance(minutes=31)
    [card] = await bot.dm(ada, "Here is my late answer about canaries and rollbacks.")
    assert card.title == "Partial scorecard: no verdict" and "30 minutes" in card.body
    [(turn, _), *_] = await _turns(bot)
    assert turn.status == "unanswered" and turn.answers == []


async def test_llm_graded_interviews_are_capped_per_person_per_day(
    database_url: str, fake_anthropic: FakeAnthropic
) -> None:
    bot = await _llm_bot(database_url, fake_anthropic, OPSDRILL_MOCK_DAILY_CAP=2)
    try:
        ada, bob = _ada(bot), bot.platform.user("U-bob", "bob")
        await bot.mock(ada, "1")
        await bot.dm(ada, "skip")
        await bot.mock(ada, "1")
        await bot.dm(ada, "I would track the metric against its baseline.")
        assert fake_anthropic.requests, "answers are graded by the LLM"
        await bot.mock(ada, "abandon")
        refused = await bot.mock(ada)
        assert refused.title == "That's today's mock interviews"
        assert not await bot.app.interviews.is_active(ada)
        assert (await bot.mock(bob)).title.startswith("Mock interview started")
        async with bot.app.sessions() as session:
            graders = set((await session.scalars(select(Interview.grader))).all())
        assert graders == {"anthropic:claude-sonnet-5-5"}

        bot.clock.advance(days=1)
        assert (await bot.mock(ada)).title.startswith("Mock interview started")
    finally:
        await bot.stop()


async def test_offline_graded_interviews_have_no_daily_cap(bot: Harness) -> None:
    ada = _ada(bot)
    for _ in range(4):
        assert (await bot.mock(ada, "1")).title.startswith("Mock interview started")
        await bot.dm(ada, "stop")


async def test_history_lists_past_interviews_with_their_scores(bot: Harness) -> None:
    ada = _ada(bot)
    assert "None yet" in (await bot.mock(ada, "history")).body
    await bot.mock(ada, "pipelines 1")
    await _answer_fully(bot, ada)
    await bot.mock(ada, "monitoring 2")
    await bot.dm(ada, "skip")
    await bot.dm(ada, "stop")
    card = await bot.mock(ada, "history")
    newest, oldest = card.body.splitlines()
    assert "Monitoring & drift · 1/2 questions · 0/10 · No hire (stopped)" in newest
    assert "Pipelines & retraining · 1/1 questions" in oldest and "(stopped)" not in oldest


async def test_starting_another_offers_to_resume_or_abandon(bot: Harness) -> None:
    ada = _ada(bot)
    await bot.mock(ada, "deployment")
    offer = await bot.mock(ada, "monitoring")
    assert "/drill mock resume" in offer.body and "/drill mock abandon" in offer.body
    assert (await bot.mock(ada, "resume")).title == "Resumed"
    assert bot.dms(ada)[-1].title == "Question 1 of 3 (again)"
    assert (await bot.mock_question(ada)).category is Category.DEPLOYMENT
    assert (await bot.mock(ada, "abandon")).title == "Mock interview abandoned"
    assert (await bot.mock(ada, "monitoring")).title == "Mock interview started: Monitoring & drift"


async def test_unknown_topics_and_lengths_get_a_friendly_card(bot: Harness) -> None:
    ada = _ada(bot)
    assert (await bot.mock(ada, "astrology")).title == "Unknown topic `astrology`"
    assert "choose 1 to 6" in (await bot.mock(ada, "9")).title
    assert not await bot.app.interviews.is_active(ada)


async def test_a_dm_without_an_interview_gets_a_short_help_card(bot: Harness) -> None:
    [card] = await bot.dm(_ada(bot), "hello?")
    assert card.title == "OpsDrill commands" and "`/drill mock`" in card.body


async def test_newcomers_get_a_mix_of_topics(bot: Harness) -> None:
    ada = _ada(bot)
    await bot.mock(ada, "3")
    assert "find your level" in bot.dms(ada)[0].body
    categories = set()
    for _ in range(3):
        categories.add((await bot.mock_question(ada)).category)
        await bot.dm(ada, "skip")
    assert len(categories) == 3


async def test_returning_people_get_their_weakest_topic(bot: Harness) -> None:
    await bot.configure()
    ada = _ada(bot)
    answered = {}
    for day, good in enumerate([True, False, True]):
        await bot.tick(MONDAY + timedelta(days=day))
        q = await bot.question()
        answered[q.id] = q
        await bot.answer(ada, strong_answer(q) if good else q.weak_answer.text)
        await bot.grade_all()
        await bot.tick(MONDAY + timedelta(days=day, hours=8))
    weak = list(answered.values())[1]
    await bot.mock(ada)
    assert bot.dms(ada)[-2].title == f"Mock interview: {weak.category.label}"
    assert "weakest topic" in bot.dms(ada)[-2].body
    for _ in range(3):
        q = await bot.mock_question(ada)
        assert q.category is weak.category and q.id not in answered
        await bot.dm(ada, "skip")


async def test_no_question_seen_in_the_last_30_days_is_asked_again(bot: Harness) -> None:
    ada = _ada(bot)
    await bot.mock(ada, "governance 4")
    for _ in range(4):
        await bot.dm(ada, "skip")
    first = {slug for _, slug in await _turns(bot)}
    bot.clock.advance(days=29)
    await bot.mock(ada, "governance 6")
    for _ in range(6):
        await bot.dm(ada, "skip")
    second = {slug for _, slug in await _turns(bot)} - first
    assert len(second) == 6  # ten governance questions: four seen, six new
    refused = await bot.mock(ada, "governance")
    assert refused.title == "Nothing new to ask"

    bot.clock.advance(days=2)  # the first interview's questions are 31 days old now
    await bot.mock(ada, "governance 4")
    asked = [slug for turn, slug in await _turns(bot) if turn.status == "asked"]
    assert asked and asked[0] in first


async def test_mock_grades_count_toward_topics_but_not_rounds_points_or_leaderboards(
    bot: Harness,
) -> None:
    await bot.configure()
    await bot.tick()
    ada = _ada(bot)
    await bot.mock(ada, "llmops 1")
    await _answer_fully(bot, ada)
    stats = await bot.command("stats", user=ada)
    assert stats is not None
    fields = {f.label: f.value for f in stats.fields}
    assert fields["Rounds answered"] == "0" and fields["Points"] == "0"
    assert "LLMOps" in fields["Strongest topics"]
    board = await bot.command("leaderboard all")
    assert board is not None and "<@U-ada>" not in board.body


async def test_an_interview_answer_graded_during_an_llm_outage_is_regraded_later(
    database_url: str, fake_anthropic: FakeAnthropic
) -> None:
    from tests.fakes.anthropic_api import status

    bot = await _llm_bot(database_url, fake_anthropic, OPSDRILL_REGRADE_AFTER=60)
    try:
        ada = _ada(bot)
        await bot.mock(ada, "1")
        fake_anthropic.fallback = status(529, "overloaded_error")
        question = await bot.mock_question(ada)
        await bot.dm(ada, strong_answer(question))  # graded offline, provisionally
        [(turn, _)] = await _turns(bot)
        assert turn.provisional and turn.grader is not None and turn.grader.startswith("offline")
        fake_anthropic.fallback = None
        bot.clock.advance(seconds=61)
        await bot.settle()
        [(turn, _)] = await _turns(bot)
        assert not turn.provisional and turn.grader == "anthropic:claude-sonnet-5-5"
        [update] = [c for c in bot.dms(ada) if c.title == "Updated grade"]
        assert f"{turn.score:g}/10" in update.body
        bot.clock.advance(hours=5)
        await bot.settle()
        assert len([c for c in bot.dms(ada) if c.title == "Updated grade"]) == 1
    finally:
        await bot.stop()


async def test_the_same_interview_answer_delivered_twice_counts_once(bot: Harness) -> None:
    ada = _ada(bot)
    await bot.mock(ada, "2")
    await bot.platform.dm(ada, "Retrain on a schedule.", message_id="m-1")
    await bot.platform.dm(ada, "Retrain on a schedule.", message_id="m-1")  # a redelivery
    await bot.settle()
    [(turn, _), *_] = await _turns(bot)
    assert turn.answers == ["Retrain on a schedule."]


async def test_with_claude_the_follow_up_is_written_from_the_missed_point_and_the_answer(
    database_url: str, fake_anthropic: FakeAnthropic
) -> None:
    bot = await _llm_bot(database_url, fake_anthropic)
    try:
        ada = _ada(bot)
        await bot.mock(ada, "monitoring 1")
        [probe] = await bot.dm(ada, "I would track the metric against its baseline. Then alert.")
        [(turn, _)] = await _turns(bot)
        asked = turn.follow_ups[0]
        assert probe.title == "Follow-up on question 1"
        assert probe.body == asked["probe"] and asked.get("by") == "llm"
        assert 'You said "I would track the metric against its baseline"' in probe.body
        assert asked["point"] in probe.body  # the fake names the point it was asked about
        request = fake_anthropic.requests[-1].body
        assert request["tools"][0]["name"] == "ask_follow_up"
        assert request["tool_choice"] == {"type": "tool", "name": "ask_follow_up"}
    finally:
        await bot.stop()


async def test_when_claude_cannot_write_a_follow_up_the_banks_is_asked(
    database_url: str, fake_anthropic: FakeAnthropic
) -> None:
    def grades_only(body: dict[str, Any]) -> tuple[int, dict[str, str], dict[str, Any]]:
        if body["tools"][0]["name"] == "ask_follow_up":
            return status(500, "api_error")(body)
        return fake_anthropic.grade_by_keywords(body)

    fake_anthropic.fallback = grades_only
    bot = await _llm_bot(database_url, fake_anthropic)
    try:
        ada = _ada(bot)
        await bot.mock(ada, "monitoring 1")
        q = await bot.mock_question(ada)
        [probe] = await bot.dm(ada, "I would track the metric against its baseline. Then alert.")
        [(turn, _)] = await _turns(bot)
        assert probe.title == "Follow-up on question 1"
        assert any(f.probe == probe.body for f in q.follow_ups)
        assert "by" not in turn.follow_ups[0]
    finally:
        await bot.stop()
