"""The Slack adapter reading Slack back (real slack_sdk against the fake): a post whose response
was lost is found by its key, and answers written while the bot was away are read back."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from adapters.slack import history
from bot.domain import AnswerPosted, Card, MessageRef, UserRef
from tests.adapters.slack_harness import CHANNEL, SlackBot

pytestmark = pytest.mark.asyncio
QUESTION = Card("Today's MLOps question", "When do you retrain a model?")
TAG = {"event_type": "opsdrill_post", "event_payload": {"key": "round-7"}}
LONG_AGO = datetime(2023, 1, 1, tzinfo=UTC)  # before any ts the fake hands out


@pytest.fixture
def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two messages a page, so a handful of messages spans several pages."""
    monkeypatch.setattr(history, "PAGE_SIZE", 2)


def moment(ts: str) -> datetime:
    """The instant a Slack ts stands for."""
    seconds, _, micros = ts.partition(".")
    return datetime.fromtimestamp(int(seconds), UTC) + timedelta(microseconds=int(micros))


async def test_a_keyed_post_carries_its_key_in_the_message_metadata(bot: SlackBot) -> None:
    ref = await bot.adapter.post(CHANNEL, QUESTION, key="round-7")
    [call] = bot.fake.calls_to("chat.postMessage")
    assert call.params["metadata"] == TAG
    [stored] = bot.fake.conversations.messages("C1")
    assert (stored["ts"], stored["metadata"]) == (ref.message_id, TAG)


async def test_a_post_without_a_key_carries_no_metadata(bot: SlackBot) -> None:
    await bot.adapter.post(CHANNEL, QUESTION)
    [call] = bot.fake.calls_to("chat.postMessage")
    assert "metadata" not in call.params


async def test_a_post_whose_response_was_lost_is_found_by_its_key(
    bot: SlackBot, small_pages: None
) -> None:
    bot.fake.lose_response("chat.postMessage")
    (await bot.adapter.client_for("T1")).timeout = 1  # the client the adapter posts with
    started = asyncio.get_running_loop().time()
    with pytest.raises(TimeoutError):
        await bot.adapter.post(CHANNEL, QUESTION, key="round-7")
    # It gave up after the client's timeout, not the shared HTTP session's (30 s or more).
    assert asyncio.get_running_loop().time() - started < 15
    [lost] = bot.fake.conversations.messages("C1")  # Slack has it all the same
    for n in range(3):  # people talk on, so the post is pages back
        bot.fake.conversations.say(f"morning {n}", user=f"U{n}")
    found = await bot.adapter.find_post(CHANNEL, "round-7", since=LONG_AGO)
    assert found == MessageRef(CHANNEL, lost["ts"], lost["ts"])
    assert len(bot.fake.calls_to("conversations.history")) > 1
    assert await bot.adapter.find_post(CHANNEL, "round-8", since=LONG_AGO) is None


async def test_find_post_ignores_another_apps_post_and_posts_before_since(
    bot: SlackBot,
) -> None:
    ours = await bot.adapter.post(CHANNEL, QUESTION, key="round-7")
    # Another app tags its message the same way, later than ours.
    bot.fake.conversations.say("copycat", user="UOTHER", bot_id="BOTHER", metadata=TAG)
    assert await bot.adapter.find_post(CHANNEL, "round-7", since=LONG_AGO) == ours
    posted_at = moment(ours.message_id)
    assert await bot.adapter.find_post(CHANNEL, "round-7", since=posted_at) == ours
    later = posted_at + timedelta(microseconds=1)
    assert await bot.adapter.find_post(CHANNEL, "round-7", since=later) is None


async def test_thread_replies_reads_back_what_people_wrote_while_the_bot_was_away(
    bot: SlackBot, small_pages: None
) -> None:
    thread = await bot.adapter.post(CHANNEL, QUESTION, key="round-7")
    say = bot.fake.conversations.say
    in_thread = {"thread_ts": thread.message_id}
    heard = say("answered while the bot listened", user="U1", **in_thread)
    first = say("PSI on features, then retrain", user="U2", **in_thread)
    say("Answer received", user="UBOT", bot_id="BBOT", **in_thread)  # the bot's own reply
    say("another app chiming in", user="UOTHER", bot_id="BOTHER", **in_thread)
    say("legacy integration", user="", subtype="bot_message", bot_id="BHOOK", **in_thread)
    say("has joined the channel", user="U9", subtype="channel_join", **in_thread)
    say("lunch?", user="U4")  # in the channel, not the thread
    second = say("precision on fresh labels", user="U3", **in_thread)

    answers = await bot.adapter.thread_replies(thread, after=heard)

    round_thread = MessageRef(CHANNEL, thread.message_id, thread.message_id)
    assert answers == [
        AnswerPosted(
            message=MessageRef(CHANNEL, ts, thread.message_id),
            thread=round_thread,
            author=UserRef("slack", "T1", user),
            author_name="",
            text=text,
            sent_at=datetime.fromtimestamp(float(ts), UTC),  # counts against the deadline
        )
        for ts, user, text in [
            (first, "U2", "PSI on features, then retrain"),
            (second, "U3", "precision on fresh labels"),
        ]
    ]
    assert len(bot.fake.calls_to("conversations.replies")) > 1
    everything = await bot.adapter.thread_replies(thread)
    assert [a.message.message_id for a in everything] == [heard, first, second]


async def test_thread_replies_of_a_deleted_question_are_none(bot: SlackBot) -> None:
    gone = MessageRef(CHANNEL, "1700000000.999999", "1700000000.999999")
    assert await bot.adapter.thread_replies(gone) == []
