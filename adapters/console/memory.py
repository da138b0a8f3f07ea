"""An in-memory chat platform: it records everything the bot sends and lets code act as people.

It is the base of the terminal mode (`ConsoleAdapter` renders what it records) and the platform
the flow tests drive the whole app through; it talks to no network and no platform SDK."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from datetime import datetime

from bot.domain import (
    AnswerDeleted,
    AnswerEdited,
    AnswerPosted,
    Button,
    Card,
    ChannelRef,
    CommandInvoked,
    DirectMessage,
    MessageRef,
    Reaction,
    UserRef,
    button_command,
)
from bot.ports import EventHandler


@dataclass(frozen=True, slots=True)
class Sent:
    """One thing the bot did on the platform."""

    kind: str  # post, reply, dm, react, upload (a file posted into a channel)
    message: MessageRef | None
    card: Card | None = None
    private_to: UserRef | None = None
    broadcast: bool = False
    reaction: Reaction | None = None
    parent: MessageRef | None = None
    key: str | None = None
    file: tuple[str, bytes] | None = None
    """(name, content) of a file sent with the message."""


@dataclass
class MemoryAdapter:
    platform: str = "memory"
    team_id: str = "T1"
    admins: set[str] = field(default_factory=set)
    sent: list[Sent] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)
    fail_posts: int = 0
    """Make the next N `post` calls fail, as a platform outage would."""
    fail_replies: int = 0
    """Make the next N `reply` calls fail."""
    lose_post_responses: int = 0
    """Make the next N `post` calls go out but fail for the caller, as a lost response would."""

    def __post_init__(self) -> None:
        # Ids stay unique across restarts of the app against the same database.
        self._ids = itertools.count(time.time_ns() // 1000)
        self._on_event: EventHandler | None = None
        self.started = False
        self.authors: dict[str, str] = {}
        """Who wrote each message people sent, by message id."""
        self.threads: dict[str, list[AnswerPosted]] = {}
        """What people wrote in each thread, by thread id, whether the bot saw it or not."""

    # --- ChatAdapter -------------------------------------------------------------------------

    async def start(self, on_event: EventHandler) -> None:
        self._on_event = on_event
        self.started = True

    async def stop(self) -> None:
        self.started = False

    async def post(self, channel: ChannelRef, card: Card, *, key: str | None = None) -> MessageRef:
        if self.fail_posts > 0:
            self.fail_posts -= 1
            raise ConnectionError("the platform is unreachable")
        ref = self._new_message(channel)
        ref = MessageRef(channel, ref.message_id, ref.message_id)
        self._record(Sent("post", ref, card, key=key))
        if self.lose_post_responses > 0:
            self.lose_post_responses -= 1
            raise TimeoutError("the platform took the post, but its response was lost")
        return ref

    async def find_post(
        self, channel: ChannelRef, key: str, *, since: datetime
    ) -> MessageRef | None:
        for sent in self.posts():
            if sent.key == key and sent.message is not None and sent.message.channel == channel:
                return sent.message
        return None

    async def thread_replies(
        self, thread: MessageRef, *, after: str | None = None
    ) -> list[AnswerPosted]:
        said = self.threads.get(thread.thread_id or thread.message_id, [])
        if after is None:
            return list(said)
        return [a for a in said if int(a.message.message_id) > int(after)]

    async def reply(
        self,
        parent: MessageRef,
        card: Card,
        *,
        private_to: UserRef | None = None,
        broadcast: bool = False,
    ) -> MessageRef | None:
        if self.fail_replies > 0:
            self.fail_replies -= 1
            raise ConnectionError("the platform is unreachable")
        ref = MessageRef(
            parent.channel,
            self._new_message(parent.channel).message_id,
            parent.thread_id or parent.message_id,
        )
        self._record(Sent("reply", ref, card, private_to, broadcast, parent=parent))
        return ref

    async def send_dm(self, user: UserRef, card: Card) -> MessageRef | None:
        channel = ChannelRef(self.platform, user.team_id, f"D-{user.user_id}")
        ref = self._new_message(channel)
        self._record(Sent("dm", ref, card, private_to=user))
        return ref

    async def send_file(
        self, user: UserRef, card: Card, filename: str, content: bytes
    ) -> MessageRef | None:
        channel = ChannelRef(self.platform, user.team_id, f"D-{user.user_id}")
        ref = self._new_message(channel)
        self._record(Sent("dm", ref, card, private_to=user, file=(filename, content)))
        return ref

    async def post_file(
        self, channel: ChannelRef, card: Card, filename: str, content: bytes
    ) -> MessageRef | None:
        ref = self._new_message(channel)
        self._record(Sent("upload", ref, card, file=(filename, content)))
        return ref

    async def react(self, message: MessageRef, reaction: Reaction) -> None:
        self._record(Sent("react", message, reaction=reaction))

    async def is_admin(self, user: UserRef, channel: ChannelRef) -> bool:
        return user.user_id in self.admins

    # --- acting as people --------------------------------------------------------------------

    def user(self, user_id: str, name: str | None = None) -> UserRef:
        self.names[user_id] = name or user_id
        return UserRef(self.platform, self.team_id, user_id)

    def channel(self, channel_id: str = "C1") -> ChannelRef:
        return ChannelRef(self.platform, self.team_id, channel_id)

    async def answer(
        self, user: UserRef, thread: MessageRef, text: str, *, event_id: str | None = None
    ) -> tuple[MessageRef, Card | None]:
        """`user` replies in `thread`; returns the new message and any direct response."""
        event = self.write_in_thread(user, thread, text, event_id=event_id)
        return event.message, await self._deliver(event)

    def write_in_thread(
        self, user: UserRef, thread: MessageRef, text: str, *, event_id: str | None = None
    ) -> AnswerPosted:
        """`user` replies in `thread` without the bot hearing of it (it is offline)."""
        message = MessageRef(
            thread.channel, self._new_message(thread.channel).message_id, thread.message_id
        )
        self.authors[message.message_id] = user.user_id
        event = AnswerPosted(
            event_id=event_id,
            message=message,
            thread=thread,
            author=user,
            author_name=self.names.get(user.user_id, user.user_id),
            text=text,
        )
        self.threads.setdefault(thread.thread_id or thread.message_id, []).append(event)
        return event

    async def answer_privately(self, user: UserRef, thread: MessageRef, text: str) -> Card | None:
        message = MessageRef(thread.channel, f"private-{next(self._ids)}", thread.message_id)
        return await self._deliver(
            AnswerPosted(
                message=message,
                thread=thread,
                author=user,
                author_name=self.names.get(user.user_id, user.user_id),
                text=text,
                private=True,
            )
        )

    async def edit(self, user: UserRef, message: MessageRef, text: str) -> Card | None:
        thread = MessageRef(message.channel, message.thread_id or "", message.thread_id)
        return await self._deliver(
            AnswerEdited(message=message, thread=thread, author=user, text=text)
        )

    async def delete(self, message: MessageRef) -> Card | None:
        thread = MessageRef(message.channel, message.thread_id or "", message.thread_id)
        return await self._deliver(AnswerDeleted(message=message, thread=thread))

    async def command(self, user: UserRef, channel: ChannelRef, line: str) -> Card | None:
        """`line` is what follows `/drill`, e.g. `leaderboard month`."""
        name, *args = line.split() or [""]
        return await self._deliver(
            CommandInvoked(
                channel=channel,
                user=user,
                user_name=self.names.get(user.user_id, user.user_id),
                name=name,
                args=tuple(args),
            )
        )

    async def press(self, user: UserRef, channel: ChannelRef, button: Button) -> Card | None:
        """`user` clicks `button` (one that runs a `/drill` command) on a card in `channel`."""
        command = button_command(button.action_id, button.value)
        if command is None:
            raise ValueError(f"{button.action_id} runs no command")
        name, args = command
        return await self.command(user, channel, " ".join((name, *args)))

    async def dm(
        self, user: UserRef, text: str, *, event_id: str | None = None,
        message_id: str | None = None,
    ) -> Card | None:  # fmt: skip
        """`user` writes `text` to the bot in a direct message."""
        return await self._deliver(
            DirectMessage(
                event_id=event_id,
                user=user,
                user_name=self.names.get(user.user_id, user.user_id),
                text=text,
                message_id=message_id or str(next(self._ids)),
            )
        )

    # --- reading what was sent ---------------------------------------------------------------

    def of_kind(self, kind: str) -> list[Sent]:
        return [s for s in self.sent if s.kind == kind]

    def posts(self) -> list[Sent]:
        return self.of_kind("post")

    def private_replies_to(self, user: UserRef) -> list[Sent]:
        return [s for s in self.sent if s.kind == "reply" and s.private_to == user]

    def files_to(self, user: UserRef) -> list[tuple[str, bytes]]:
        """The files the bot sent `user` by direct message, oldest first."""
        return [
            s.file
            for s in self.sent
            if s.file is not None and s.private_to is not None
            and (s.private_to.platform, s.private_to.user_id) == (user.platform, user.user_id)
        ]  # fmt: skip

    def uploads_in(self, channel: ChannelRef) -> list[Sent]:
        """The files the bot posted into `channel`, oldest first."""
        return [s for s in self.of_kind("upload") if s.message and s.message.channel == channel]

    def dms_to(self, user: UserRef) -> list[Card]:
        """The cards the bot sent `user` in direct messages, oldest first."""
        return [
            s.card
            for s in self.sent
            if s.kind == "dm"
            and s.card is not None
            and s.private_to is not None
            and (s.private_to.platform, s.private_to.user_id) == (user.platform, user.user_id)
        ]

    def reactions_on(self, message: MessageRef) -> list[Reaction]:
        return [
            s.reaction
            for s in self.sent
            if s.kind == "react" and s.message == message and s.reaction is not None
        ]

    # --- internals ---------------------------------------------------------------------------

    def _new_message(self, channel: ChannelRef) -> MessageRef:
        return MessageRef(channel, str(next(self._ids)))

    def _record(self, sent: Sent) -> None:
        self.sent.append(sent)

    async def _deliver(
        self, event: AnswerPosted | AnswerEdited | AnswerDeleted | CommandInvoked | DirectMessage
    ) -> Card | None:
        if self._on_event is None:
            raise RuntimeError("the adapter has not been started")
        return await self._on_event(event)
