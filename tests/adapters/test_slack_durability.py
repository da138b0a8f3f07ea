"""Slack, durably: an answer is in the database (the inbox) before Slack hears "200", and is
handled after it even across a crash; the private-answer
modal refuses in place; a post whose response was lost is found, not sent again; what people
wrote while the bot was away is read back once."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from bot.services.inbox import LEASE, MAX_ATTEMPTS
from bot.services.rounds import POST_LEASE
from bot.storage.models import Answer, InboxEvent, Round
from tests.adapters.slack_harness import ANSWER, CHANNEL, NOW, SlackBot
from tests.fakes import slack_api
from tests.fakes.slack_api import FakeSlack

pytestmark = pytest.mark.asyncio


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    server = FakeSlack(first_ts=NOW.timestamp())  # Slack's clock and the app's agree
    server.users["UADMIN"] = server.default_user("UADMIN") | {"is_admin": True}
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def bot(database_url: str, fake: FakeSlack) -> AsyncIterator[SlackBot]:
    harness = await SlackBot.start(database_url, fake)
    yield harness
    await harness.stop()


async def _answers(bot: SlackBot) -> int:
    async with bot.app.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Answer)) or 0)


async def _stored(bot: SlackBot) -> dict[str, int]:
    """Stored events by status."""
    async with bot.app.sessions() as session:
        rows = await session.execute(
            select(InboxEvent.status, func.count()).group_by(InboxEvent.status)
        )
        return {status: int(count) for status, count in rows.all()}


async def test_an_answer_is_stored_before_slack_gets_its_ack(bot: SlackBot) -> None:
    thread = await bot.post_question()
    for n in range(5):
        event = slack_api.message_event(ANSWER, user=f"U{n}", ts=slack_api.fresh_ts(),
                                        thread_ts=thread)  # fmt: skip
        assert await bot.event(event, handle=False) == 200
        assert await _stored(bot) == {"new": n + 1}  # no waiting: the 200 means it is stored
    await bot.app.inbox.drain()
    assert await _answers(bot) == 5
    assert await _stored(bot) == {"done": 5}


async def test_acknowledged_answers_survive_a_crash_before_they_were_handled(
    database_url: str, fake: FakeSlack
) -> None:
    bot = await SlackBot.start(database_url, fake)
    thread = await bot.post_question()
    for n in range(3):
        event = slack_api.message_event(ANSWER, user=f"U{n}", ts=slack_api.fresh_ts(),
                                        thread_ts=thread)  # fmt: skip
        assert await bot.event(event, handle=False) == 200
    await bot.stop()  # gone before handling any of them, as if killed
    assert fake.calls_to("reactions.add") == []
    bot = await SlackBot.start(database_url, fake)
    try:
        assert await bot.app.inbox.drain() == 3
        await bot.app.grading.drain()
        await bot.app.background.idle()
        assert await _answers(bot) == 3
        feedback = sorted(c.params["user"] for c in fake.calls_to("chat.postEphemeral"))
        assert feedback == ["U0", "U1", "U2"]
    finally:
        await bot.stop()


async def test_a_message_that_could_not_be_stored_is_not_acknowledged(bot: SlackBot) -> None:
    thread = await bot.post_question()
    event = slack_api.message_event(ANSWER, user="U1", ts=slack_api.fresh_ts(), thread_ts=thread)
    async with bot.app.sessions.begin() as session:  # the inbox is out of reach
        await session.execute(text("ALTER TABLE inbox_events RENAME TO inbox_away"))
    assert await bot.event(event, event_id="EvX", handle=False) >= 500  # Slack sends it again
    async with bot.app.sessions.begin() as session:
        await session.execute(text("ALTER TABLE inbox_away RENAME TO inbox_events"))
    assert await bot.event(event, event_id="EvX", retry_num=1, retry_reason="http_error") == 200
    assert await _answers(bot) == 1


async def test_a_retry_of_an_answer_that_was_stored_changes_nothing(bot: SlackBot) -> None:
    thread = await bot.post_question()
    ts = slack_api.fresh_ts()
    event = slack_api.message_event(ANSWER, user="U1", ts=ts, thread_ts=thread)
    assert await bot.event(event, event_id="Ev1") == 200
    assert await bot.event(event, event_id="Ev1", retry_num=1, retry_reason="http_timeout") == 200
    await bot.app.grading.drain()
    await bot.app.background.idle()
    assert await _answers(bot) == 1
    assert len(bot.fake.calls_to("chat.postEphemeral")) == 1


async def _open_modal(bot: SlackBot, thread: str) -> str:
    click = slack_api.block_action_form(
        "answer_privately", user_id="U5", channel_id="C1", message_ts=thread,
        response_url=bot.fake.response_url(),
    )  # fmt: skip
    assert await bot.send(click) == 200
    [opened] = await bot.fake.wait_for_call("views.open")
    return str(opened.params["view"]["private_metadata"])


async def test_a_refused_private_answer_stays_in_the_modal_with_the_reason(bot: SlackBot) -> None:
    thread = await bot.post_question()
    meta = await _open_modal(bot, thread)
    submit = slack_api.view_submission_form(
        "private_answer", {"answer": {"answer": "   "}}, user_id="U5", private_metadata=meta
    )
    status, body = await bot.exchange(submit)
    assert status == 200
    ack = json.loads(body)
    assert ack["response_action"] == "errors" and "empty" in ack["errors"]["answer"]
    assert await _answers(bot) == 0


async def test_an_accepted_private_answer_is_stored_before_the_modal_closes(
    bot: SlackBot,
) -> None:
    thread = await bot.post_question()
    meta = await _open_modal(bot, thread)
    submit = slack_api.view_submission_form(
        "private_answer", {"answer": {"answer": ANSWER}}, user_id="U5", private_metadata=meta
    )
    status, body = await bot.exchange(submit)
    assert status == 200 and "errors" not in body
    assert await _answers(bot) == 1


async def test_a_question_whose_post_response_was_lost_is_posted_once(
    bot: SlackBot, fake: FakeSlack
) -> None:
    await bot.app.channels.ensure(CHANNEL, name="mlops")
    fake.lose_response("chat.postMessage", how="close")
    await bot.command("post")  # Slack took the post; the connection dropped before its reply
    bot.app.clock.advance(POST_LEASE + timedelta(seconds=1))  # type: ignore[attr-defined]
    await bot.app.scheduler.sweep()
    questions = [
        m for m in fake.conversations.messages("C1") if (m.get("metadata") or {}).get("event_type")
    ]
    assert len(questions) == 1
    async with bot.app.sessions() as session:
        rnd = (await session.scalars(select(Round))).one()
    assert rnd.status == "open" and rnd.message_id == questions[0]["ts"]


async def test_answers_written_while_the_bot_was_down_are_graded_after_restart(
    database_url: str, fake: FakeSlack
) -> None:
    bot = await SlackBot.start(database_url, fake)
    thread = await bot.post_question()
    await bot.answer(ANSWER, thread, user="U1")
    await bot.stop()
    fake.conversations.say(ANSWER, user="U2", thread_ts=thread)  # no event: the bot is down
    fake.conversations.say("Answer received", user="UBOT", bot_id="B1", thread_ts=thread)
    bot = await SlackBot.start(database_url, fake)
    try:
        await bot.app.grading.drain()
        await bot.app.background.idle()
        assert await _answers(bot) == 2
        feedback = [c.params["user"] for c in fake.calls_to("chat.postEphemeral")]
        assert sorted(feedback) == ["U1", "U2"]
    finally:
        await bot.stop()


@pytest.mark.postgres
async def test_a_stored_message_that_cannot_be_handled_is_retried_then_given_up(
    pg_database_url: str, fake: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    bot = await SlackBot.start(pg_database_url, fake)
    try:
        thread = await bot.post_question()
        # PostgreSQL refuses a message id longer than its column: handling it fails.
        event = slack_api.message_event(ANSWER, user="U1", ts="9" * 80, thread_ts=thread)
        assert await bot.event(event, event_id="EvBad") == 200  # stored: Slack is done with it
        assert await _stored(bot) == {"working": 1}  # leased: tried again when that runs out
        for _ in range(MAX_ATTEMPTS):
            bot.app.clock.advance(LEASE + timedelta(seconds=1))  # type: ignore[attr-defined]
            await bot.app.inbox.drain()
        assert await _stored(bot) == {"failed": 1}
        assert "giving up on 1 stored event(s)" in caplog.text
        assert await _answers(bot) == 0
    finally:
        await bot.stop()
