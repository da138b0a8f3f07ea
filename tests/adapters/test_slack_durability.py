"""Slack, durably: an answer is in the database before Slack hears "200"; the private-answer
modal refuses in place; a post whose response was lost is found, not sent again; what people
wrote while the bot was away is read back once."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.services.rounds import POST_LEASE
from bot.storage.models import Answer, Round
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


async def test_an_answer_is_stored_before_slack_gets_its_ack(bot: SlackBot) -> None:
    thread = await bot.post_question()
    for n in range(5):
        status = await bot.event(
            slack_api.message_event(ANSWER, user=f"U{n}", ts=slack_api.fresh_ts(),
                                    thread_ts=thread)
        )  # fmt: skip
        assert status == 200
        assert await _answers(bot) == n + 1  # no waiting: the 200 means it is stored


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
async def test_an_answer_that_could_not_be_stored_is_not_acknowledged(
    pg_database_url: str, fake: FakeSlack
) -> None:
    bot = await SlackBot.start(pg_database_url, fake)
    try:
        thread = await bot.post_question()
        # PostgreSQL refuses a message id longer than its column: the store fails.
        event = slack_api.message_event(ANSWER, user="U1", ts="9" * 80, thread_ts=thread)
        assert await bot.event(event, event_id="EvBad") >= 500  # so Slack delivers it again
        assert await _answers(bot) == 0
    finally:
        await bot.stop()
