"""Which replies in a round's thread are answers, and the cards that say so.

The rule, the same on every platform: a person's first reply is their answer (an edit changes
it and it is graded again); later replies are discussion and are not graded, unless they start
with a marker such as "new answer:", which makes them a new attempt. A new attempt never
replaces the answer by itself: it is stored, graded, and the person is asked, privately,
whether it should replace the answer that counts. Very short replies ("+1", "thanks") are
always discussion. Where messages are short (Discord), consecutive parts from the same person
within a short window are joined into one answer and graded once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.domain import COMMAND_BUTTON, Button, Card, CardField

# Statuses of a stored thread reply (`Answer.status`).
COUNTED = "counted"  # the member's answer that counts in the round
SUPERSEDED = "superseded"  # counted once, replaced by a new attempt
WITHDRAWN = "withdrawn"  # its message was deleted
DISCUSSION = "discussion"  # a later reply: kept, never graded
CANDIDATE = "candidate"  # a new attempt, graded, waiting for "replace" or "keep"
DECLINED = "declined"  # a new attempt the person chose not to use (or a newer one took over)
PART = "part"  # a further message of an answer sent in parts (`Answer.part_of`)

SHORT_WORDS = 3
"""Replies of fewer words than this ("+1", "thanks!", "great question") are discussion."""
SHORT_CHARS = 60
SMALL_TALK_WORDS = 6
"""Replies up to this long that are small talk ("great question, thanks", "+1 agreed") are
discussion too."""
PART_SEPARATOR = "\n\n"

REPLACE = COMMAND_BUTTON + "replace"
KEEP = COMMAND_BUTTON + "keep"

_MARKER = re.compile(
    r"^\s*(?:new\s+(?:answer|attempt)|replace(?:ment)?)\s*[:\-–—]\s*", re.IGNORECASE
)

RULE = (
    "Your first reply in this thread is your answer; edit it to change it. Further replies are "
    "discussion and are not graded. To replace your answer, start a reply with “new answer:”."
)
JOINED = (
    "A long answer may take several messages in a row: sent in quick succession, they are "
    "joined into one answer and graded once."
)


def new_attempt(text: str) -> str | None:
    """The text of an explicit new attempt ("new answer: …", "replace: …"), else None."""
    match = _MARKER.match(text)
    return text[match.end() :] if match else None


_SMALL_TALK = re.compile(
    r"\+1|👍|🙏|💯|\b(?:thanks|thank\s+you|thx|ty|agreed?|same\s+here|lol|haha"
    r"|(?:great|good|nice|interesting)\s+(?:question|one|point|answer))\b",
    re.IGNORECASE,
)


def is_short(text: str) -> bool:
    """Too short to be an answer: a word or two, or a few words of small talk."""
    if len(text.strip()) > SHORT_CHARS:
        return False
    words = len(text.split())
    return words < SHORT_WORDS or (words <= SMALL_TALK_WORDS and bool(_SMALL_TALK.search(text)))


@dataclass(frozen=True, slots=True)
class Attempt:
    """A new attempt's grade next to the score that counts now (None: not graded yet)."""

    answer_id: int
    new: float
    current: float | None


def replace_prompt(attempt: Attempt, feedback: str) -> Card:
    """The private question after a new attempt is graded: replace the counted answer?"""
    new, current = attempt.new, attempt.current
    value = str(attempt.answer_id)
    if current is None:
        title = "Replace your answer with this one?"
        verdict = f"Your new attempt scored {new:g}/10; your answer is not graded yet."
        keep = "Keep my answer"
    else:
        title = f"Replace your {current:g}/10 answer with this one?"
        keep = f"Keep my {current:g}/10 answer"
        if new < current:
            verdict = (
                f"⚠️ Lower score: your new attempt scored {new:g}/10. Replacing would bring "
                f"your score for this round down from {current:g}/10 to {new:g}/10."
            )
        elif new > current:
            verdict = f"Your new attempt scored {new:g}/10, up from {current:g}/10."
        else:
            verdict = f"Your new attempt scored {new:g}/10, the same as your answer."
    lower = current is not None and new < current
    return Card(
        title=title,
        body=verdict,
        fields=(CardField("Feedback on the new attempt", feedback, inline=False),),
        buttons=(
            Button(f"Replace (lower: {new:g}/10)" if lower else "Replace", REPLACE, value),
            Button(keep, KEEP, value),
        ),
        footer="Or type `/drill replace` or `/drill keep`. Until you choose, your answer "
        "counts as it is.",
    )


def discussion_hint(*, answered: bool) -> Card:
    """Said once per person per round, privately, when a reply is taken as discussion."""
    if answered:
        return Card(
            title="Only your first reply is graded",
            body="This reply is discussion and does not change your answer. To replace your "
            "answer, start a reply with “new answer:”; you will be asked before it counts.",
        )
    return Card(
        title="Taken as discussion",
        body="Very short replies such as this one (a word or two, “+1”, “thanks”) are "
        "discussion, not your answer. Your first real reply is your answer.",
    )
