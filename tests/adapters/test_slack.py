"""The Slack adapter: real slack-bolt and slack_sdk against the fake Slack, over HTTP."""

from __future__ import annotations

import asyncio
import json

import pytest

from bot.domain import MessageRef
from tests.adapters.slack_harness import ANSWER, CHANNEL, SlackBot, now
from tests.fakes import slack_api
from tests.flow.harness import strong_answer

pytestmark = pytest.mark.asyncio


def _texts(call: slack_api.Call) -> str:
    return json.dumps(call.params.get("blocks", [])) + str(call.params.get("text", ""))


async def test_startup_checks_the_token_with_auth_test(bot: SlackBot) -> None:
    [call] = bot.fake.calls_to("auth.test")
    assert call.token == "xoxb-test-T1"


async def test_an_admin_posts_the_question_with_a_local_deadline_and_a_private_button(
    bot: SlackBot,
) -> None:
    response = await bot.command("post")
    assert response["response_type"] == "ephemeral"
    [post] = bot.fake.calls_to("chat.postMessage")
    assert post.params["channel"] == "C1"
    blocks = post.params["blocks"]
    assert blocks[0]["text"]["text"] == "Today's MLOps question"
    assert "<!date^" in json.dumps(blocks)
    actions = next(b for b in blocks if b["type"] == "actions")
    assert actions["elements"][0]["action_id"] == "answer_privately"


async def test_a_member_may_not_post(bot: SlackBot) -> None:
    response = await bot.command("post", user="U2")
    assert "Admins only" in json.dumps(response)
    assert bot.fake.calls_to("chat.postMessage") == []


async def test_a_thread_answer_gets_reactions_and_private_feedback(bot: SlackBot) -> None:
    thread = await bot.post_question()
    ts = await bot.answer(ANSWER, thread)
    [received] = await bot.fake.wait_for_call("reactions.add")
    p = received.params
    assert (p["channel"], p["timestamp"], p["name"]) == ("C1", ts, "eyes")
    await bot.app.grading.drain()
    graded = bot.fake.calls_to("reactions.add")[-1]
    assert graded.params["name"] == "white_check_mark"
    [feedback] = bot.fake.calls_to("chat.postEphemeral")
    assert feedback.params["user"] == "U1" and feedback.params["thread_ts"] == thread
    assert "Your answer scored" in _texts(feedback)


async def test_the_leaderboard_is_ephemeral_and_mentions_people(bot: SlackBot) -> None:
    thread = await bot.post_question()
    await bot.answer(ANSWER, thread, user="U7")
    await bot.fake.wait_for_call("reactions.add")
    await bot.app.grading.drain()
    response = await bot.command("leaderboard", user="U2")
    assert response["response_type"] == "ephemeral"
    assert "<@U7>" in json.dumps(response["blocks"])


async def test_close_reveals_in_the_thread_and_broadcasts(bot: SlackBot) -> None:
    thread = await bot.post_question()
    await bot.command("close")
    reveal = bot.fake.calls_to("chat.postMessage")[-1]
    assert reveal.params["thread_ts"] == thread and reveal.params["reply_broadcast"] is True
    assert "Round closed" in _texts(reveal)


@pytest.mark.parametrize("tamper", ["signature", "stale"])
async def test_bad_signatures_are_refused_and_nothing_is_stored(bot: SlackBot, tamper: str) -> None:
    thread = await bot.post_question()
    envelope = json.dumps(slack_api.event_callback(
        slack_api.message_event(ANSWER, user="U1", thread_ts=thread)))  # fmt: skip
    if tamper == "signature":
        status = await bot.send(envelope, **{"X-Slack-Signature": "v0=" + "0" * 64})
    else:
        status = await bot.send(envelope, timestamp=now() - 6 * 60)
    assert status == 401
    await bot.settle()
    assert bot.fake.calls_to("reactions.add") == []
    assert await bot.app.grading.drain() == 0


async def test_a_retried_event_is_stored_once(bot: SlackBot) -> None:
    thread = await bot.post_question()
    ts = slack_api.fresh_ts()
    event = slack_api.message_event(ANSWER, user="U1", ts=ts, thread_ts=thread)
    assert await bot.event(event, event_id="Ev42") == 200
    assert await bot.event(event, event_id="Ev42", retry_num=1, retry_reason="http_timeout") == 200
    await bot.settle()
    assert len(bot.fake.calls_to("reactions.add")) == 1
    assert await bot.app.grading.drain() == 1


async def test_an_edit_regrades_and_a_deletion_withdraws(bot: SlackBot) -> None:
    thread = await bot.post_question()
    ts = await bot.answer("no idea, sorry", thread)
    await bot.fake.wait_for_call("reactions.add")
    edited = slack_api.message_changed_event(
        ANSWER, previous_text="no idea, sorry", user="U1", ts=ts, thread_ts=thread
    )
    assert await bot.event(edited) == 200
    await bot.settle()
    await bot.app.grading.drain()  # the first text
    assert await bot.app.grading.drain() == 0  # its edit waits until the edits stop
    bot.app.clock.advance(seconds=61)  # type: ignore[attr-defined]
    assert await bot.app.grading.drain() == 1
    board = await bot.command("leaderboard")
    assert "<@U1>" in json.dumps(board["blocks"])
    deleted = slack_api.message_deleted_event(ts, previous_text=ANSWER, user="U1", thread_ts=thread)
    assert await bot.event(deleted) == 200
    await bot.settle()
    board = await bot.command("leaderboard")
    assert "<@U1>" not in json.dumps(board["blocks"])


async def test_messages_from_bots_and_outside_round_threads_are_ignored(bot: SlackBot) -> None:
    thread = await bot.post_question()
    await bot.event(slack_api.bot_message_event("I am a bot", thread_ts=thread))
    await bot.event(slack_api.bot_message_event("other bot", bot_id="BOTHER", thread_ts=thread))
    await bot.event(slack_api.message_event("just chatting", user="U1"))
    await bot.settle()
    assert bot.fake.calls_to("reactions.add") == []


async def test_a_private_answer_goes_through_the_modal(bot: SlackBot) -> None:
    thread = await bot.post_question()
    click = slack_api.block_action_form(
        "answer_privately", user_id="U5", channel_id="C1", message_ts=thread,
        response_url=bot.fake.response_url(),
    )  # fmt: skip
    assert await bot.send(click) == 200
    [opened] = await bot.fake.wait_for_call("views.open")
    view = opened.params["view"]
    assert view["callback_id"] == "private_answer"
    submit = slack_api.view_submission_form(
        "private_answer", {"answer": {"answer": ANSWER}}, user_id="U5",
        private_metadata=view["private_metadata"], view_id="V77",
    )  # fmt: skip
    assert await bot.send(submit) == 200
    [ack] = await bot.fake.wait_for_call("chat.postEphemeral")
    assert ack.params["user"] == "U5" and "Answer received" in _texts(ack)
    assert bot.fake.calls_to("reactions.add") == []  # nothing public about a private answer
    await bot.app.grading.drain()
    assert "Your answer scored" in _texts(bot.fake.calls_to("chat.postEphemeral")[-1])


async def test_echoed_answer_text_never_pings_the_channel(bot: SlackBot) -> None:
    thread = await bot.post_question()
    await bot.answer("<!channel> " + ANSWER + " <!here> <!subteam^S1|@oncall>", thread)
    await bot.fake.wait_for_call("reactions.add")
    await bot.app.grading.drain()
    for call in bot.fake.calls_to("chat.postEphemeral") + bot.fake.calls_to("chat.postMessage"):
        text = _texts(call)
        assert "<!channel>" not in text and "<!here>" not in text and "<!subteam" not in text


async def test_a_rate_limited_post_is_retried(bot: SlackBot) -> None:
    bot.fake.fail("chat.postMessage", status=429, headers={"Retry-After": "0"})
    await bot.command("post")
    posts = await bot.fake.wait_for_call("chat.postMessage", count=2)
    assert posts[0].failed and not posts[1].failed


@pytest.mark.parametrize(
    "line",
    ["today", "leaderboard week", "leaderboard team all", "stats", "help", "frobnicate",
     "forget-me"],
)  # fmt: skip
async def test_every_member_subcommand_answers_privately(bot: SlackBot, line: str) -> None:
    response = await bot.command(line, user="U2")
    assert response["response_type"] == "ephemeral" and response["blocks"]


@pytest.mark.parametrize(
    "line", ["post", "close", "schedule 10:00 Europe/Berlin", "window 4h", "pause", "resume",
             "categories deployment", "difficulty expert"],
)  # fmt: skip
async def test_admin_subcommands_are_refused_to_members(bot: SlackBot, line: str) -> None:
    response = await bot.command(line, user="U2")
    assert "Admins only" in json.dumps(response)


async def test_admin_subcommands_work_for_workspace_admins(bot: SlackBot) -> None:
    response = await bot.command("schedule 10:30 Europe/Berlin mon-fri")
    assert "Schedule updated" in json.dumps(response)
    channel = await bot.app.channels.find(CHANNEL)
    assert channel is not None and channel.timezone == "Europe/Berlin"


async def test_the_app_home_shows_the_persons_stats(bot: SlackBot) -> None:
    await bot.post_question()
    await bot.event({"type": "app_home_opened", "user": "U3", "channel": "D3", "tab": "home",
                     "event_ts": "1.1"})  # fmt: skip
    [publish] = await bot.fake.wait_for_call("views.publish")
    assert publish.params["user_id"] == "U3"
    view = publish.params["view"]
    assert view["type"] == "home"
    home = json.dumps(view)
    assert "No answers yet" in home  # U3 has not answered anything
    assert "#C1" in home  # today's open question, by channel


async def test_healthz_answers(bot: SlackBot) -> None:
    assert bot.http is not None
    async with bot.http.get(bot.url.replace("/slack/events", "/healthz")) as response:
        assert response.status == 200 and (await response.json()) == {"ok": True}


async def test_a_mock_interview_runs_in_direct_messages(bot: SlackBot) -> None:
    await bot.command("mock deployment 1", user="U9")
    [opened] = await bot.fake.wait_for_call("conversations.open")
    assert opened.params["users"] == "U9"
    first = await bot.fake.wait_for_call("chat.postMessage")
    dm = first[0].params["channel"]
    assert dm.startswith("D") and "Mock interview" in "".join(_texts(c) for c in first)
    before = len(bot.fake.calls_to("chat.postMessage"))
    reply = slack_api.message_event("stop", user="U9", channel=dm) | {"channel_type": "im"}
    assert await bot.event(reply) == 200
    await bot.fake.wait_for_call("chat.postMessage", count=before + 1)
    after = bot.fake.calls_to("chat.postMessage")[before:]
    assert all(c.params["channel"] == dm for c in after)
    assert any("Scorecard" in _texts(c) or "scorecard" in _texts(c).lower() for c in after)


async def test_export_uploads_a_json_file_into_the_persons_dm(bot: SlackBot) -> None:
    thread = await bot.post_question()
    await bot.answer(ANSWER, thread, user="U1")
    await bot.settle()
    await bot.app.grading.drain()
    await bot.command("export", user="U1")
    await bot.fake.wait_for_call("files.completeUploadExternal", timeout=30)  # drawn first
    [upload] = bot.fake.calls_to("files.getUploadURLExternal")
    assert upload.params["filename"] == "opsdrill-my-data.json"
    [file] = bot.fake.files.values()
    data = json.loads(file["content"])
    assert data["user"] == "U1" and data["answers"][0]["text"] == ANSWER
    [opened] = bot.fake.calls_to("conversations.open")
    assert opened.params["users"] == "U1"
    assert file["channel"] == opened.reply["channel"]["id"]  # type: ignore[index]
    assert "Your OpsDrill data" in str(file["comment"])


async def test_settling_waits_for_work_that_follows_the_ack(bot: SlackBot) -> None:
    """What `settle` is for: "nothing happened" holds only once the bot has handled what it
    acked, and a reply the core takes a while over still shows up."""
    bot.delay = 0.5  # longer than any fixed pause a test would take
    url = bot.fake.response_url()
    form = slack_api.slash_command_form("help", user_id="U2", channel_id="C1", response_url=url)
    assert await bot.send(form) == 200
    assert bot.fake.responses_to(url) == []  # acked at once; the answer follows
    await bot.settle()
    assert "OpsDrill commands" in json.dumps(bot.fake.responses_to(url))


async def test_an_admins_recap_is_uploaded_into_the_channel_with_its_summary(
    bot: SlackBot,
) -> None:
    thread = await bot.post_question()
    await bot.answer(ANSWER, thread, user="U1")
    await bot.settle()
    await bot.app.grading.drain()
    response = await bot.command("recap")
    assert "Posting the weekly recap" in json.dumps(response)
    await bot.fake.wait_for_call("files.completeUploadExternal", timeout=30)  # drawn first
    [upload] = bot.fake.calls_to("files.getUploadURLExternal")
    assert upload.params["filename"] == "recap.png"
    [file] = bot.fake.files.values()
    assert file["channel"] == "C1" and bot.fake.calls_to("conversations.open") == []
    assert bytes(file["content"]).startswith(b"\x89PNG")
    comment = str(file["comment"])
    assert comment.startswith("*Weekly recap · #") and "Best answer: <@U1> scored" in comment
    assert "Weakest topic:" in comment and "/drill mock " in comment
    assert str(file["alt_txt"]).startswith("Best answer:")


async def test_a_new_attempt_is_confirmed_with_a_button_on_a_private_prompt(bot: SlackBot) -> None:
    thread = await bot.post_question()
    question = await bot.app.views.question_for_thread(MessageRef(CHANNEL, thread, thread))
    assert question is not None
    await bot.answer(strong_answer(question), thread)
    await bot.fake.wait_for_call("reactions.add")
    await bot.app.grading.drain()
    await bot.answer("We agree, thanks!", thread)  # discussion: no grade, no reaction
    await bot.answer("new answer: " + question.weak_answer.text, thread)
    await bot.fake.wait_for_call("reactions.add", 3)  # 👀 ✅ on the answer, 👀 on the attempt
    await bot.app.grading.drain()
    await bot.settle()
    [prompt] = [c for c in bot.fake.calls_to("chat.postEphemeral") if "Replace your" in _texts(c)]
    assert prompt.params["user"] == "U1" and prompt.params["thread_ts"] == thread
    [actions] = [b for b in prompt.params["blocks"] if b["type"] == "actions"]
    replace, keep = actions["elements"]
    assert replace["action_id"] == "drill_replace" and keep["action_id"] == "drill_keep"
    assert "lower" in replace["text"]["text"], _texts(prompt)  # said before the click

    url = bot.fake.response_url("replace")
    click = slack_api.block_action_form(
        "drill_replace", replace["value"], user_id="U1", channel_id="C1", ephemeral=True,
        response_url=url,
    )  # fmt: skip
    assert await bot.send(click) == 200
    for _ in range(300):
        if bot.fake.responses_to(url):
            break
        await asyncio.sleep(0.01)
    [done] = bot.fake.responses_to(url)
    assert "Your new attempt counts now" in json.dumps(done) and done["replace_original"]
