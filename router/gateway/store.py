"""Conversations in Redis: the message log (a stream per conversation), live fan-out (pub/sub),
the gateway's own state (a hash), and read-only looks at the router's handoff state."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis

from router import errors
from router.engine import QueueWait
from router.gateway import replies
from router.gateway.keys import GatewayKeys
from router.gateway.models import ChatMessage, Sender
from router.keys import Keys
from router.wait import estimated_wait_s
from telecom import mask

# KEYS[1] = conversation log stream, KEYS[2] = conversation hash, KEYS[3] = the index of
# conversations by last message; ARGV[1] = pub/sub channel, ARGV[2] = log maxlen, ARGV[3] =
# message JSON, ARGV[4] = retention s, ARGV[5] = the conversation id.
# Appends and publishes "<id> <json>"; returns the log id.
APPEND = r"""
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'm', ARGV[3])
local ms = string.match(id, '^(%d+)')
redis.call('EXPIRE', KEYS[1], ARGV[4])
redis.call('HSET', KEYS[2], 'updated_ms', ms)
redis.call('EXPIRE', KEYS[2], ARGV[4])
redis.call('ZADD', KEYS[3], ms, ARGV[5])
redis.call('PUBLISH', ARGV[1], id .. ' ' .. ARGV[3])
return id
"""


# The customer's turn in one round trip. KEYS[1] = log stream, KEYS[2] = conversation hash,
# KEYS[3] = the router's conv key (active handoff id), KEYS[4] = the index of conversations by
# last message; ARGV[1..4] as APPEND, ARGV[5] = agent
# stream maxlen, ARGV[6] = now ms,
# ARGV[7] = the customer's channel (web, app…), ARGV[8] = the router's handoff key prefix,
# ARGV[9], ARGV[10] = the router's agent events key around the agent id, ARGV[11] = ts,
# ARGV[12] = sender, ARGV[13] = the masked text for the agent, ARGV[14] = the conversation id.
# Creates the conversation hash when new, reads it and the active handoff (status, agent), appends
# the message and, when an agent is assigned, copies it to that agent's event stream.
# Returns {log id, meta as a flat list, handoff id or '', status or '', agent id or ''}.
TURN = r"""
if redis.call('HSETNX', KEYS[2], 'created_ms', ARGV[6]) == 1 then
  redis.call('HSET', KEYS[2], 'channel', ARGV[7])
end
local meta = redis.call('HGETALL', KEYS[2])
local hid = redis.call('GET', KEYS[3])
local status, agent = '', ''
if hid then
  local h = redis.call('HMGET', ARGV[8] .. hid, 'status', 'agent_id')
  status, agent = h[1] or '', h[2] or ''
else
  hid = ''
end
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'm', ARGV[3])
local ms = string.match(id, '^(%d+)')
redis.call('EXPIRE', KEYS[1], ARGV[4])
redis.call('HSET', KEYS[2], 'updated_ms', ms)
redis.call('EXPIRE', KEYS[2], ARGV[4])
redis.call('ZADD', KEYS[4], ms, ARGV[14])
redis.call('PUBLISH', ARGV[1], id .. ' ' .. ARGV[3])
if status == 'assigned' and agent ~= '' then
  redis.call('XADD', ARGV[9] .. agent .. ARGV[10], 'MAXLEN', '~', ARGV[5], '*',
    'seq', id, 'type', 'customer_message', 'ts', ARGV[11], 'handoff', hid, 'agent', agent,
    'conversation', ARGV[14], 'sender', ARGV[12], 'text', ARGV[13])
end
return {id, meta, hid, status, agent}
"""

# The assigned agent's message in one round trip. KEYS[1] = log stream, KEYS[2] = conversation
# hash, KEYS[3] = the router's conv key, KEYS[4] = the agent's hash, KEYS[5] = the index of
# conversations by last message; ARGV[1], ARGV[2], ARGV[4] as APPEND, ARGV[3] = the router's
# handoff key prefix, ARGV[5] = agent id, ARGV[6], ARGV[7] = the message JSON before and after
# its agent_name field, ARGV[8] = SHA-256 of the caller's token ('' when the caller is already
# authenticated), compared in constant time with the agent's, ARGV[9] = the conversation id.
# Returns {3} when the token does not match, {0} without an active handoff, {1} when it is not
# assigned to this agent, else {2, log id}.
AGENT_APPEND = r"""
local agent = redis.call('HMGET', KEYS[4], 'token_hash', 'display_name')
if ARGV[8] ~= '' then
  local stored = agent[1]
  if not stored or #stored ~= #ARGV[8] then return {3} end
  local diff = 0
  for i = 1, #stored do diff = bit.bor(diff, bit.bxor(stored:byte(i), ARGV[8]:byte(i))) end
  if diff ~= 0 then return {3} end
end
local hid = redis.call('GET', KEYS[3])
if not hid then return {0} end
local h = redis.call('HMGET', ARGV[3] .. hid, 'status', 'agent_id')
if not h[1] then return {0} end
if h[1] ~= 'assigned' or h[2] ~= ARGV[5] then return {1} end
local name = agent[2]
local body = ARGV[6] .. ARGV[7]
if name then body = ARGV[6] .. ',"agent_name":' .. cjson.encode(name) .. ARGV[7] end
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'm', body)
local ms = string.match(id, '^(%d+)')
redis.call('EXPIRE', KEYS[1], ARGV[4])
redis.call('HSET', KEYS[2], 'updated_ms', ms)
redis.call('EXPIRE', KEYS[2], ARGV[4])
redis.call('ZADD', KEYS[5], ms, ARGV[9])
redis.call('PUBLISH', ARGV[1], id .. ' ' .. body)
return {2, id}
"""


# The active handoffs of conversations. KEYS = the router's conv keys; ARGV[1] = the router's
# handoff key prefix. Returns, per key, {handoff id, status, agent id} ('' where there is none).
HANDOFFS = r"""
local out = {}
for i = 1, #KEYS do
  local hid = redis.call('GET', KEYS[i])
  local status, agent = '', ''
  if hid then
    local h = redis.call('HMGET', ARGV[1] .. hid, 'status', 'agent_id')
    status, agent = h[1] or '', h[2] or ''
  else
    hid = ''
  end
  out[i] = {hid, status, agent}
end
return out
"""

# What the customer sees about who serves them. KEYS[1] = conversation hash, KEYS[2] = the
# router's conv key; ARGV[1] = the router's handoff key prefix, ARGV[2], ARGV[3] = the router's
# agent key around the agent id. Returns {meta as a flat list, handoff id, status, agent id,
# the agent's display name} ('' where there is none).
STATE = r"""
local meta = redis.call('HGETALL', KEYS[1])
local hid = redis.call('GET', KEYS[2])
local status, agent, name = '', '', ''
if hid then
  local h = redis.call('HMGET', ARGV[1] .. hid, 'status', 'agent_id')
  status, agent = h[1] or '', h[2] or ''
  if status == 'assigned' and agent ~= '' then
    name = redis.call('HGET', ARGV[2] .. agent .. ARGV[3], 'display_name') or ''
  end
else
  hid = ''
end
return {meta, hid, status, agent, name}
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
        queue_wait: Callable[[str], Awaitable[QueueWait]],
        estimate_s_per_position: float,
        max_block_ms: int = 4500,
    ) -> None:
        self.redis = redis
        self.rkeys = router_keys
        self.keys = GatewayKeys(router_keys.prefix)
        self.history_maxlen = history_maxlen
        self.retention_s = retention_s
        self.agent_events_maxlen = agent_events_maxlen
        self.queue_wait = queue_wait  # Engine.queue_wait of this process
        self.estimate_s_per_position = estimate_s_per_position
        # a blocking read's longest BLOCK (Settings.redis_block_ms: within the read timeout)
        self.max_block_ms = max_block_ms
        self._append = redis.register_script(APPEND)
        self._turn = redis.register_script(TURN)
        self._agent_append = redis.register_script(AGENT_APPEND)
        self._handoffs = redis.register_script(HANDOFFS)
        self._state = redis.register_script(STATE)
        self._handoff_prefix = router_keys.handoff("")
        self._agent_events_around = tuple(router_keys.agent_events("\0").split("\0"))
        self._agent_around = tuple(router_keys.agent("\0").split("\0"))

    # -- the log ---------------------------------------------------------------------------
    async def append(self, conversation_id: str, message: ChatMessage) -> str:
        """Store and publish a message (bot, system); customers' and agents' have their own."""
        body = message.model_dump_json(exclude={"seq"}, exclude_none=True)
        seq: str = await self._append(
            keys=[
                self.keys.log(conversation_id),
                self.keys.conv(conversation_id),
                self.keys.conversations(),
            ],
            args=[
                self.keys.channel(conversation_id), self.history_maxlen, body, self.retention_s,
                conversation_id,
            ],
        )  # fmt: skip
        return seq

    async def customer_turn(
        self, conversation_id: str, channel: str, message: ChatMessage
    ) -> tuple[str, dict[str, str], HandoffState | None]:
        """Store and publish a customer's message in one round trip; creates the conversation
        when new and, when an agent is assigned, copies the masked message to their events.
        Returns (seq, the conversation's meta before this message, the active handoff)."""
        body = message.model_dump_json(exclude={"seq"}, exclude_none=True)
        head, tail = self._agent_events_around
        reply: list[Any] = await self._turn(
            keys=[
                self.keys.log(conversation_id),
                self.keys.conv(conversation_id),
                self.rkeys.conv(conversation_id),
                self.keys.conversations(),
            ],
            args=[
                self.keys.channel(conversation_id), self.history_maxlen, body, self.retention_s,
                self.agent_events_maxlen, now_ms(), channel, self._handoff_prefix, head, tail,
                str(message.ts), message.sender.value, mask.text(message.text), conversation_id,
            ],
        )  # fmt: skip
        seq, flat, handoff_id, status, agent_id = reply
        meta = dict(zip(flat[::2], flat[1::2], strict=True))
        handoff = HandoffState(handoff_id, status, agent_id or None) if status else None
        return seq, meta, handoff

    async def agent_append(
        self, conversation_id: str, agent_id: str, message: ChatMessage, token_hash: str = ""
    ) -> str:
        """Store and publish the assigned agent's message (with their current display name) in
        one round trip. With `token_hash` (SHA-256 of the caller's bearer token) the same round
        trip authenticates the agent: Unauthorized when it is not theirs. NotFound without an
        active handoff, Forbidden when it is not assigned to them."""
        body = message.model_dump_json(exclude={"seq", "agent_name"}, exclude_none=True)
        cut = body.rindex(',"ts":')  # agent_name goes where the model has it: just before ts
        reply: list[Any] = await self._agent_append(
            keys=[
                self.keys.log(conversation_id),
                self.keys.conv(conversation_id),
                self.rkeys.conv(conversation_id),
                self.rkeys.agent(agent_id),
                self.keys.conversations(),
            ],
            args=[
                self.keys.channel(conversation_id), self.history_maxlen, self._handoff_prefix,
                self.retention_s, agent_id, body[:cut], body[cut:], token_hash, conversation_id,
            ],
        )  # fmt: skip
        if reply[0] == 3:
            raise errors.Unauthorized()
        if reply[0] == 0:
            raise errors.NotFound("no active handoff")
        if reply[0] == 1:
            raise errors.Forbidden()
        seq: str = reply[1]
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
        """Messages after `after`, waiting up to `block_ms` for one: in blocking reads of at most
        max_block_ms each, so each is answered within the Redis read timeout."""
        key = self.keys.log(conversation_id)
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
        return replies.fields(await self.redis.hgetall(self.keys.conv(conversation_id)))

    async def set_meta(self, conversation_id: str, **fields: str) -> None:
        key = self.keys.conv(conversation_id)
        await self.redis.hset(key, mapping=replies.mapping(fields))
        await self.redis.expire(key, self.retention_s)

    async def clear_meta(self, conversation_id: str, *fields: str) -> None:
        await self.redis.hdel(self.keys.conv(conversation_id), *fields)

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

    async def active_handoffs(
        self, conversation_ids: list[str], chunk: int = 500
    ) -> dict[str, HandoffState | None]:
        """The active handoff of each conversation, in one round trip per `chunk` of them."""
        found: dict[str, HandoffState | None] = {}
        for start in range(0, len(conversation_ids), chunk):
            ids = conversation_ids[start : start + chunk]
            reply: list[list[str]] = await self._handoffs(
                keys=[self.rkeys.conv(c) for c in ids], args=[self._handoff_prefix]
            )
            for conversation_id, (handoff_id, status, agent_id) in zip(ids, reply, strict=True):
                found[conversation_id] = (
                    HandoffState(handoff_id, status, agent_id or None) if status else None
                )
        return found

    async def state_parts(
        self, conversation_id: str
    ) -> tuple[dict[str, str], HandoffState | None, str | None]:
        """(meta, active handoff, the assigned agent's display name) in one round trip."""
        head, tail = self._agent_around
        reply: list[Any] = await self._state(
            keys=[self.keys.conv(conversation_id), self.rkeys.conv(conversation_id)],
            args=[self._handoff_prefix, head, tail],
        )
        flat, handoff_id, status, agent_id, name = reply
        meta = dict(zip(flat[::2], flat[1::2], strict=True))
        handoff = HandoffState(handoff_id, status, agent_id or None) if status else None
        return meta, handoff, name or None

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
        """(1-based position, estimated wait s) of a queued handoff; (0, 0) while offered.
        One call of the router's engine (its rank and the estimate's inputs, router/wait.py)."""
        found = await self.queue_wait(handoff_id)
        if found.status == "offered":
            return 0, 0
        if found.queue_rank is None or found.wait is None:
            return None, None
        position = found.queue_rank + 1
        return position, estimated_wait_s(position, found.wait, self.estimate_s_per_position)


def system_message(text: str, **extra: Any) -> ChatMessage:
    return ChatMessage(sender=Sender.system, text=text, ts=now_ms(), **extra)
