"""Conversations in Redis: the message log (a stream per conversation), live fan-out (pub/sub),
the gateway's own state (a hash), and read-only looks at the router's handoff state."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis

from router.gateway import mask, replies
from router.gateway.keys import GatewayKeys
from router.gateway.models import ChatMessage, Sender
from router.keys import ANY_LANGUAGE, Keys

# KEYS[1] = conversation log stream, KEYS[2] = conversation hash, KEYS[3] = agent events stream
# (optional); ARGV[1] = pub/sub channel, ARGV[2] = log maxlen, ARGV[3] = message JSON,
# ARGV[4] = retention s, ARGV[5] = agent stream maxlen, ARGV[6..] = agent event field pairs.
# Appends, publishes "<id> <json>", copies to the agent's event stream; returns the log id.
APPEND = r"""
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'm', ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[4])
redis.call('HSET', KEYS[2], 'updated_ms', string.match(id, '^(%d+)'))
redis.call('EXPIRE', KEYS[2], ARGV[4])
redis.call('PUBLISH', ARGV[1], id .. ' ' .. ARGV[3])
if #KEYS > 2 then
  local fields = {'seq', id}
  for i = 6, #ARGV do fields[#fields + 1] = ARGV[i] end
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[5], '*', unpack(fields))
end
return id
"""


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def seq_key(seq: str) -> tuple[int, int]:
    ms, _, n = seq.partition("-")
    return int(ms), int(n or 0)


@dataclass(frozen=True)
class HandoffState:
    handoff_id: str
    status: str
    agent_id: str | None


class ConversationStore:
    def __init__(
        self,
        redis: aioredis.Redis,
        router_keys: Keys,
        *,
        history_maxlen: int,
        retention_s: int,
        agent_events_maxlen: int,
        estimate_s_per_position: float,
    ) -> None:
        self.redis = redis
        self.rkeys = router_keys
        self.keys = GatewayKeys(router_keys.prefix)
        self.history_maxlen = history_maxlen
        self.retention_s = retention_s
        self.agent_events_maxlen = agent_events_maxlen
        self.estimate_s_per_position = estimate_s_per_position
        self._append = redis.register_script(APPEND)

    # -- the log ---------------------------------------------------------------------------
    async def append(
        self, conversation_id: str, message: ChatMessage, to_agent: HandoffState | None = None
    ) -> str:
        """Store, publish, and (to_agent) copy a masked customer message to the agent's events."""
        body = message.model_dump_json(exclude={"seq"}, exclude_none=True)
        keys = [self.keys.log(conversation_id), self.keys.conv(conversation_id)]
        args: list[str | int] = [
            self.keys.channel(conversation_id),
            self.history_maxlen,
            body,
            self.retention_s,
            self.agent_events_maxlen,
        ]
        if to_agent is not None and to_agent.agent_id:
            keys.append(self.rkeys.agent_events(to_agent.agent_id))
            args += [
                "type", "customer_message", "ts", str(message.ts),
                "handoff", to_agent.handoff_id, "agent", to_agent.agent_id,
                "conversation", conversation_id, "sender", message.sender.value,
                "text", mask.text(message.text),
            ]  # fmt: skip
        seq: str = await self._append(keys=keys, args=args)
        return seq

    async def publish_event(self, conversation_id: str, event: dict[str, Any]) -> None:
        """A transient event (typing, queue, state): published, not stored."""
        await self.redis.publish(self.keys.channel(conversation_id), "- " + json.dumps(event))

    async def history(
        self, conversation_id: str, after: str | None = None, limit: int = 200
    ) -> list[ChatMessage]:
        """Messages after seq `after` (all when None), at most the last `limit`."""
        key = self.keys.log(conversation_id)
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
        key = self.keys.log(conversation_id)
        cursor = after
        if not cursor:
            last = replies.entries(await self.redis.xrevrange(key, count=1))
            cursor = last[0][0] if last else "0-0"
        reply = await self.redis.xread({key: cursor}, block=block_ms, count=100)
        return [self._decode(i, f) for i, f in replies.read_entries(reply)]

    @staticmethod
    def _decode(entry_id: str, fields: replies.Fields) -> ChatMessage:
        message = ChatMessage.model_validate_json(fields["m"])
        message.seq = entry_id
        return message

    # -- the gateway's state of a conversation ---------------------------------------------
    async def meta(self, conversation_id: str) -> dict[str, str]:
        return replies.fields(await self.redis.hgetall(self.keys.conv(conversation_id)))

    async def ensure(self, conversation_id: str, channel: str) -> dict[str, str]:
        key = self.keys.conv(conversation_id)
        created = await self.redis.hsetnx(key, "created_ms", str(now_ms()))
        if created:
            await self.redis.hset(key, mapping={"channel": channel})
            await self.redis.expire(key, self.retention_s)
        return await self.meta(conversation_id)

    async def set_meta(self, conversation_id: str, **fields: str) -> None:
        key = self.keys.conv(conversation_id)
        await self.redis.hset(key, mapping=replies.mapping(fields))
        await self.redis.expire(key, self.retention_s)

    async def claim_awaiting(self, conversation_id: str, expected: str, new: str) -> bool:
        """Compare-and-set of the survey step, so a double click rates once."""
        script = (
            "if redis.call('HGET', KEYS[1], 'awaiting') == ARGV[1] then "
            "redis.call('HSET', KEYS[1], 'awaiting', ARGV[2]) return 1 end return 0"
        )
        done: int = await self.redis.eval(script, 1, self.keys.conv(conversation_id), expected, new)
        return done == 1

    async def record_rating(self, conversation_id: str, score: int) -> None:
        await self.set_meta(conversation_id, rating=str(score), rated_ms=str(now_ms()))
        await self.redis.zadd(self.keys.ratings(), {conversation_id: now_ms()})

    # -- the router's state (read only) ----------------------------------------------------
    async def active_handoff(self, conversation_id: str) -> HandoffState | None:
        handoff_id = replies.text(await self.redis.get(self.rkeys.conv(conversation_id)))
        if not handoff_id:
            return None
        return await self.handoff_state(handoff_id)

    async def handoff_state(self, handoff_id: str) -> HandoffState | None:
        status, agent_id = replies.texts(
            await self.redis.hmget(self.rkeys.handoff(handoff_id), "status", "agent_id")
        )
        if not status:
            return None
        return HandoffState(handoff_id, status, agent_id or None)

    async def handoff_fields(self, handoff_id: str, *fields: str) -> list[str | None]:
        return replies.texts(await self.redis.hmget(self.rkeys.handoff(handoff_id), *fields))

    async def agent_name(self, agent_id: str) -> str | None:
        return replies.text(await self.redis.hget(self.rkeys.agent(agent_id), "display_name"))

    async def queue_position(self, handoff_id: str) -> tuple[int | None, int | None]:
        """(1-based position, estimated wait s) of a queued handoff; (0, 0) while offered."""
        status, skills, language, relaxed = await self.handoff_fields(
            handoff_id, "status", "skills", "language", "lang_relaxed"
        )
        if status == "offered":
            return 0, 0
        if status != "queued" or not skills:
            return None, None
        queue = self.rkeys.queue_for(json.loads(skills), language or ANY_LANGUAGE, relaxed == "1")
        rank = replies.rank(await self.redis.zrank(queue, handoff_id))
        if rank is None:
            return None, None
        position = int(rank) + 1
        return position, round(position * self.estimate_s_per_position)


def system_message(text: str, **extra: Any) -> ChatMessage:
    return ChatMessage(sender=Sender.system, text=text, ts=now_ms(), **extra)
