"""The one seam between the core and a chat platform."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from bot.domain import AnswerPosted, Card, ChannelRef, InboundEvent, MessageRef, Reaction, UserRef

EventHandler = Callable[[InboundEvent], Awaitable[Card | None]]
"""Handles one inbound event; the card it returns is the private reply to a command."""


@runtime_checkable
class DefersEvents(Protocol):
    """An adapter whose platform wants a quick ack: it hands events over as `Deferred` (stored,
    then acked) and gets each back here, after the ack, to parse and deliver as usual."""

    platform: str

    async def handle_deferred(self, payload: dict[str, Any]) -> None: ...


class ChatAdapter(Protocol):
    """What the core needs from a chat platform. Adapters translate; they decide nothing."""

    platform: str

    async def start(self, on_event: EventHandler) -> None: ...

    async def stop(self) -> None: ...

    async def post(self, channel: ChannelRef, card: Card, *, key: str | None = None) -> MessageRef:
        """Post a new top-level message; its ref is the thread answers go into. `key` tags the
        post (at most 25 characters, e.g. `round-42`) so `find_post` can find it again."""
        ...

    async def find_post(
        self, channel: ChannelRef, key: str, *, since: datetime
    ) -> MessageRef | None:
        """Our own post tagged `key`, sent to `channel` at or after `since`, if the platform has
        it: how a post whose response was lost is found instead of being sent twice."""
        ...

    async def thread_replies(
        self, thread: MessageRef, *, after: str | None = None
    ) -> list[AnswerPosted]:
        """People's messages in `thread` (bots' left out), oldest first, after message `after`
        (all when None): how answers sent while the bot was away are read back."""
        ...

    async def reply(
        self,
        parent: MessageRef,
        card: Card,
        *,
        private_to: UserRef | None = None,
        broadcast: bool = False,
    ) -> MessageRef | None:
        """Reply in `parent`'s thread; only `private_to` sees it when set."""
        ...

    async def send_dm(self, user: UserRef, card: Card) -> MessageRef | None: ...

    async def send_file(
        self, user: UserRef, card: Card, filename: str, content: bytes
    ) -> MessageRef | None:
        """A file for `user` alone, by direct message, with `card` as its message."""
        ...

    async def post_file(
        self, channel: ChannelRef, card: Card, filename: str, content: bytes
    ) -> MessageRef | None:
        """A file for everyone in `channel` (an image shown as such), with `card` as its
        message."""
        ...

    async def react(self, message: MessageRef, reaction: Reaction) -> None: ...

    async def is_admin(self, user: UserRef, channel: ChannelRef) -> bool:
        """Whether the platform itself makes `user` an admin of `channel`'s team."""
        ...
