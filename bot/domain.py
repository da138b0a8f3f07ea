"""Core value types: references to platform objects, inbound events and outbound cards.

Frozen dataclasses with no I/O. Adapters build events from platform payloads and render cards
their own way; nothing here knows Slack or Discord exists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


@dataclass(frozen=True, slots=True)
class ChannelRef:
    platform: str
    team_id: str
    channel_id: str


@dataclass(frozen=True, slots=True)
class UserRef:
    platform: str
    team_id: str
    user_id: str


@dataclass(frozen=True, slots=True)
class MessageRef:
    """A message on a platform; `thread_id` is the thread it sits in, if any."""

    channel: ChannelRef
    message_id: str
    thread_id: str | None = None


# --- inbound events -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """Something a person did. `event_id` is the platform's id, used to drop its retries."""

    event_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AnswerPosted(Event):
    """A message in a round's thread, or a private answer submitted for a round."""

    message: MessageRef
    thread: MessageRef
    author: UserRef
    author_name: str
    text: str
    private: bool = False
    sent_at: datetime | None = None
    """When the person sent it, where the platform says: an answer read back after downtime
    counts if it was written before the deadline."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AnswerEdited(Event):
    message: MessageRef
    thread: MessageRef
    author: UserRef
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AnswerDeleted(Event):
    message: MessageRef
    thread: MessageRef


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandInvoked(Event):
    """`/drill <name> <args...>` typed by `user` in `channel`."""

    channel: ChannelRef
    user: UserRef
    user_name: str
    name: str
    args: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class DirectMessage(Event):
    """A message to the bot in a direct conversation. `message_id` (the platform's id of the
    message) makes a second delivery of the same message change nothing."""

    user: UserRef
    user_name: str
    text: str
    message_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class HomeOpened(Event):
    """The person opened the bot's own page (Slack's App Home)."""

    user: UserRef


@dataclass(frozen=True, slots=True, kw_only=True)
class Reconnected(Event):
    """The adapter connected again after a gap: events sent meanwhile may never arrive, so the
    core reads open rounds' threads back (`ChatAdapter.thread_replies`)."""

    platform: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Deferred(Event):
    """A platform event to store as it came and hand back to its adapter after the ack
    (`DefersEvents.handle_deferred`): the ack waits only for the store. `event_id` is
    required: it is what a platform's retry is recognised by."""

    platform: str
    payload: dict[str, Any]


InboundEvent = (
    AnswerPosted
    | AnswerEdited
    | AnswerDeleted
    | CommandInvoked
    | DirectMessage
    | HomeOpened
    | Reconnected
    | Deferred
)


# --- outbound -------------------------------------------------------------------------------


class Reaction(StrEnum):
    """Marks the bot puts on an answer; each adapter maps them to its own emoji."""

    RECEIVED = "received"
    GRADED = "graded"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class CardField:
    label: str
    value: str
    inline: bool = True


ANSWER_PRIVATELY = "answer_privately"
"""The action id of the question card's "Answer privately" button: adapters open their
platform's form for it."""


@dataclass(frozen=True, slots=True)
class Button:
    label: str
    action_id: str
    value: str = ""


COMMAND_BUTTON = "drill_"
"""A button whose action id starts with this runs the `/drill` command named by the rest, with
the button's value as its arguments: adapters turn the click into a `CommandInvoked`."""


def button_command(action_id: str, value: str) -> tuple[str, tuple[str, ...]] | None:
    """The `/drill` command a clicked button runs, as (name, args); None for other buttons."""
    if not action_id.startswith(COMMAND_BUTTON):
        return None
    return action_id.removeprefix(COMMAND_BUTTON), tuple(value.split())


@dataclass(frozen=True, slots=True)
class Card:
    """A platform-neutral message. Text may mention people as `<@user_id>` (Slack and Discord
    share that form); text people wrote must pass through `bot.user_text.neutralize` first.
    `deadline` is shown in each reader's own time zone where the platform can do that."""

    title: str
    body: str = ""
    fields: tuple[CardField, ...] = ()
    buttons: tuple[Button, ...] = ()
    footer: str = ""
    deadline: datetime | None = None
    names: dict[str, str] = field(default_factory=dict)
    """Display names for mentioned user ids, for adapters that cannot render mentions."""
    refused: bool = False
    """The card turns a request down (a form shows it as an error on the field)."""
