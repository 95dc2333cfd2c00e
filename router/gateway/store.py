"""Conversations in Redis: the message log (a stream per conversation), live fan-out (pub/sub),
the gateway's own state (a hash), and what the router says of their handoffs.

Every change that touches more than one key, or the router's data, is a script of the engine
(router/chat_scripts.py, through Engine's typed methods); the router's hashes are read through
its Store. This module reads and writes only the gateway's own keys (router/keys.py, "gw:…"),
on the gateway's connection pool: blocking reads, publishing, single-key updates.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import redis.asyncio as aioredis
from redis.typing import EncodableT, FieldT

from router.engine import ChatState, Engine, HandoffState, Turn
from router.gateway import replies
from router.gateway.models import ChatMessage, Sender
from router.store import Store
from router.wait import estimated_wait_s
from telecom import mask


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def seq_key(seq: str) -> tuple[int, int]:
    ms, _, n = seq.partition("-")
    return int(ms), int(n or 0)


class ConversationStore:
    def __init__(self, redis: aioredis.Redis, engine: Engine, router_store: Store) -> None:
        self.redis = redis  # the gateway's own pool
        self.engine = engine
        self.router_store = router_store
        self.keys = engine.keys
        settings = engine.settings
        self.retention_s = settings.retention_s
        self.archive_maxlen = settings.gateway.archive_maxlen
        self.estimate_s_per_position = settings.estimate_s_per_position
        # a blocking read's longest BLOCK (within the read timeout)
        self.max_block_ms = settings.redis_block_ms(60_000)

    # -- the log ---------------------------------------------------------------------------
    async def append(self, conversation_id: str, message: ChatMessage) -> str:
        """Store and publish a message (bot, system); customers' and agents' have their own.
        The archive's feed gets it, masked, in the same call."""
        body = message.model_dump_json(exclude={"seq"}, exclude_none=True)
        return await self.engine.chat_append(
            conversation_id, body, message.sender.value, mask.text(message.text)
        )

    async def customer_turn(
        self, conversation_id: str, channel: str, message: ChatMessage, client: str = ""
    ) -> Turn:
        """Store and publish a customer's message in one round trip; creates the conversation
        when new and, when an agent is assigned, copies the masked message to their events;
        the archive's feed gets it masked, with `client` (the client's pseudonymous key).
        Returns its seq, the conversation's meta before this message and the active handoff."""
        body = message.model_dump_json(exclude={"seq"}, exclude_none=True)
        return await self.engine.customer_turn(
            conversation_id, channel, body, message.ts, message.sender.value,
            mask.text(message.text), client,
        )  # fmt: skip

    async def agent_append(self, conversation_id: str, agent_id: str, message: ChatMessage) -> str:
        """Store and publish the assigned agent's message (with their current display name) in
        one round trip; the caller has checked their token. NotFound without an active handoff,
        Forbidden when it is not assigned to them."""
        body = message.model_dump_json(exclude={"seq", "agent_name"}, exclude_none=True)
        cut = body.rindex(',"ts":')  # agent_name goes where the model has it: just before ts
        return await self.engine.agent_message(
            conversation_id, agent_id, body[:cut], body[cut:], mask.text(message.text)
        )

    # -- the archive's feed (gw:archive; archive/consumer.py) ------------------------------
    async def feed(self, kind: str, conversation_id: str, ts: int, **fields: str) -> None:
        """One fact for the archive that is not a message of the log (a reading, rating,
        comment, disposition, end, ticket): one entry, on one key. Text in `fields` must be
        masked already."""
        entry: dict[FieldT, EncodableT] = {"kind": kind, "conversation": conversation_id}
        entry["ts"] = str(ts)
        entry.update(fields.items())
        await self.redis.xadd(
            self.keys.archive(),
            entry,
            maxlen=self.archive_maxlen,
            approximate=True,
        )

    async def publish_event(self, conversation_id: str, event: dict[str, Any]) -> None:
        """A transient event (typing, queue, state): published, not stored."""
        await self.redis.publish(self.keys.chat_live(conversation_id), "- " + json.dumps(event))

    async def history(
        self, conversation_id: str, after: str | None = None, limit: int = 200
    ) -> list[ChatMessage]:
        """Messages after seq `after` (all when None), at most the last `limit`."""
        key = self.keys.chat_log(conversation_id)
        if after:
            entries = replies.entries(
                await self.redis.xrange(key, min="(" + after, max="+", count=limit)
            )
        else:
            entries = list(reversed(replies.entries(await self.redis.xrevrange(key, count=limit))))
        return [self._decode(entry_id, fields) for entry_id, fields in entries]

    async def wait_for_messages(
        self, conversation_id: str, after: str | None, block_ms: int
    ) -> list[ChatMessage]:
        """Messages after `after`, waiting up to `block_ms` for one: in blocking reads of at most
        max_block_ms each, so each is answered within the Redis read timeout."""
        key = self.keys.chat_log(conversation_id)
        cursor = after
        if not cursor:
            last = replies.entries(await self.redis.xrevrange(key, count=1))
            cursor = last[0][0] if last else "0-0"
        loop = asyncio.get_running_loop()
        deadline = loop.time() + block_ms / 1000
        while True:
            wait_ms = min(self.max_block_ms, max(1, round((deadline - loop.time()) * 1000)))
            reply = await self.redis.xread({key: cursor}, block=wait_ms, count=100)
            found = [self._decode(i, f) for i, f in replies.read_entries(reply)]
            if found or loop.time() >= deadline:
                return found

    @staticmethod
    def _decode(entry_id: str, fields: replies.Fields) -> ChatMessage:
        message = ChatMessage.model_validate_json(fields["m"])
        message.seq = entry_id
        return message

    # -- the gateway's state of a conversation ---------------------------------------------
    async def meta(self, conversation_id: str) -> dict[str, str]:
        return replies.fields(await self.redis.hgetall(self.keys.chat(conversation_id)))

    async def set_meta(self, conversation_id: str, **fields: str) -> None:
        key = self.keys.chat(conversation_id)
        await self.redis.hset(key, mapping=replies.mapping(fields))
        await self.redis.expire(key, self.retention_s)

    async def clear_meta(self, conversation_id: str, *fields: str) -> None:
        await self.redis.hdel(self.keys.chat(conversation_id), *fields)

    async def claim_awaiting(self, conversation_id: str, expected: str, new: str) -> bool:
        """Compare-and-set of the survey step, so a double click rates once."""
        return await self.engine.claim_awaiting(conversation_id, expected, new)

    async def record_rating(self, conversation_id: str, score: int) -> None:
        await self.set_meta(conversation_id, rating=str(score), rated_ms=str(now_ms()))
        await self.redis.zadd(self.keys.ratings(), {conversation_id: now_ms()})

    # -- the router's state (read only) ----------------------------------------------------
    async def active_handoff(self, conversation_id: str) -> HandoffState | None:
        (found,) = await self.engine.conversation_handoffs([conversation_id])
        return found

    async def active_handoffs(
        self, conversation_ids: list[str], chunk: int = 500
    ) -> dict[str, HandoffState | None]:
        """The active handoff of each conversation, in one round trip per `chunk` of them."""
        found: dict[str, HandoffState | None] = {}
        for start in range(0, len(conversation_ids), chunk):
            ids = conversation_ids[start : start + chunk]
            handoffs = await self.engine.conversation_handoffs(ids)
            found.update(zip(ids, handoffs, strict=True))
        return found

    async def state_parts(self, conversation_id: str) -> ChatState:
        """(meta, active handoff, the assigned agent's display name) in one round trip."""
        return await self.engine.conversation_state(conversation_id)

    async def handoff_fields(self, handoff_id: str, *fields: str) -> list[str | None]:
        return await self.router_store.handoff_fields(handoff_id, *fields)

    async def agent_name(self, agent_id: str) -> str | None:
        return await self.router_store.agent_name(agent_id)

    async def queue_position(self, handoff_id: str) -> tuple[int | None, int | None]:
        """(1-based position, estimated wait s) of a queued handoff; (0, 0) while offered.
        One call of the router's engine (its rank and the estimate's inputs, router/wait.py)."""
        found = await self.engine.queue_wait(handoff_id)
        if found.status == "offered":
            return 0, 0
        if found.queue_rank is None or found.wait is None:
            return None, None
        position = found.queue_rank + 1
        return position, estimated_wait_s(position, found.wait, self.estimate_s_per_position)


def system_message(text: str, **extra: Any) -> ChatMessage:
    return ChatMessage(sender=Sender.system, text=text, ts=now_ms(), **extra)
