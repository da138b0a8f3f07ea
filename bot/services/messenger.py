"""Routes outbound messages to the adapter of the platform they belong to."""

from __future__ import annotations

from datetime import datetime

from bot.domain import AnswerPosted, Card, ChannelRef, MessageRef, Reaction, UserRef
from bot.ports import ChatAdapter


class PlatformUnavailable(RuntimeError):
    """No adapter is running for a platform the data belongs to."""


class Messenger:
    def __init__(self, adapters: dict[str, ChatAdapter] | None = None) -> None:
        self._adapters: dict[str, ChatAdapter] = dict(adapters or {})

    def add(self, adapter: ChatAdapter) -> None:
        self._adapters[adapter.platform] = adapter

    @property
    def adapters(self) -> list[ChatAdapter]:
        return list(self._adapters.values())

    def has(self, platform: str) -> bool:
        return platform in self._adapters

    def adapter(self, platform: str) -> ChatAdapter:
        try:
            return self._adapters[platform]
        except KeyError:
            raise PlatformUnavailable(f"no {platform} adapter is running") from None

    async def post(self, channel: ChannelRef, card: Card, *, key: str | None = None) -> MessageRef:
        return await self.adapter(channel.platform).post(channel, card, key=key)

    async def find_post(
        self, channel: ChannelRef, key: str, *, since: datetime
    ) -> MessageRef | None:
        return await self.adapter(channel.platform).find_post(channel, key, since=since)

    async def thread_replies(
        self, thread: MessageRef, *, after: str | None = None
    ) -> list[AnswerPosted]:
        return await self.adapter(thread.channel.platform).thread_replies(thread, after=after)

    async def reply(
        self,
        parent: MessageRef,
        card: Card,
        *,
        private_to: UserRef | None = None,
        broadcast: bool = False,
    ) -> MessageRef | None:
        return await self.adapter(parent.channel.platform).reply(
            parent, card, private_to=private_to, broadcast=broadcast
        )

    async def react(self, message: MessageRef, reaction: Reaction) -> None:
        await self.adapter(message.channel.platform).react(message, reaction)

    async def send_dm(self, user: UserRef, card: Card) -> MessageRef | None:
        return await self.adapter(user.platform).send_dm(user, card)

    async def send_file(
        self, user: UserRef, card: Card, filename: str, content: bytes
    ) -> MessageRef | None:
        return await self.adapter(user.platform).send_file(user, card, filename, content)

    async def post_file(
        self, channel: ChannelRef, card: Card, filename: str, content: bytes
    ) -> MessageRef | None:
        return await self.adapter(channel.platform).post_file(channel, card, filename, content)
