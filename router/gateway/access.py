"""Who may act as a customer, and how much: server-issued conversations with a resume token,
rate limits and stream slots per client. The decisions are router/gateway/edge.py's; this module
reads and writes Redis for them."""

from __future__ import annotations

from dataclasses import dataclass

import redis.asyncio as aioredis

from router import errors
from router.gateway import edge, replies
from router.gateway.models import ConversationOpened
from router.gateway.settings import GatewaySettings
from router.gateway.store import now_ms
from router.keys import Keys
from router.limits import RateLimits, StreamSlots


@dataclass(frozen=True)
class Client:
    """A customer's client: its address (never logged or stored) and its pseudonymous key."""

    address: str
    key: str


@dataclass(frozen=True)
class Customer:
    """A request that proved it holds the conversation's resume token."""

    conversation_id: str
    channel: str
    client: Client


class CustomerAccess:
    def __init__(
        self,
        redis: aioredis.Redis,
        keys: Keys,
        settings: GatewaySettings,
        pseudonym_secret: bytes,
        retention_s: int,
    ) -> None:
        self.redis = redis
        self.keys = keys
        self.settings = settings
        self.retention_s = retention_s  # of a conversation's hash (the router's ROUTER_RETENTION_S)
        self._secret = pseudonym_secret
        self._proxies = settings.proxies()
        self.limits = RateLimits(
            redis.connection_pool,
            keys.rate_limits(),
            {
                "conversations": settings.rate_conversations,
                "messages": settings.rate_messages,
                "conversation_messages": settings.rate_conversation_messages,
            },
        )
        self.streams = StreamSlots(settings.max_streams_per_client, settings.max_long_polls)

    def client(self, peer: str | None, forwarded_for: str | None) -> Client:
        address = edge.client_address(peer, forwarded_for, self._proxies)
        return Client(address, edge.client_key(self._secret, address))

    async def open(self, channel: str, client: Client) -> ConversationOpened:
        """A new conversation: its id and resume token (only the token's hash is stored)."""
        await self.limits.hit("conversations", client.key)
        conversation_id, token = edge.new_conversation_id(), edge.new_resume_token()
        key = self.keys.chat(conversation_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            fields = {
                "resume": edge.token_hash(token),
                "channel": channel,
                "created_ms": str(now_ms()),
            }
            pipe.hset(key, mapping=replies.mapping(fields))
            pipe.expire(key, self.retention_s)
            await pipe.execute()
        return ConversationOpened(conversation_id=conversation_id, resume_token=token)

    async def check(self, conversation_id: str, token: str | None, client: Client) -> Customer:
        """The customer of `conversation_id` when `token` is its resume token; Unauthorized
        otherwise — the same whether the conversation exists or not."""
        stored, channel = replies.texts(
            await self.redis.hmget(self.keys.chat(conversation_id), "resume", "channel")
        )
        if not edge.token_matches(stored, token):
            raise errors.Unauthorized()
        return Customer(conversation_id, channel or "web", client)

    async def count_message(self, customer: Customer) -> None:
        """RateLimited when the client or the conversation sends too fast."""
        await self.limits.hit("messages", customer.client.key)
        await self.limits.hit("conversation_messages", customer.conversation_id)
