"""The event log. Every state change is appended by the Lua scripts (`emit` in
router/lua_lib/core.py) to the stream `events` and, when it concerns an agent, to that agent's own
capped stream.

Event types: agent_created, agent_updated, agent_deleted, token_rotated, presence, created,
offered, accepted, offer_rejected, offer_expired, offer_rescinded, requeued, rescued, transferred,
completed, abandoned, priority. Fields: type, ts (ms), and handoff, agent, offer where they apply;
`created` also carries conversation, customer, channel, skills (JSON), urgency and intent,
`completed` its disposition, `agent_created` / `agent_updated` display_name and skills (JSON), so
the archive (archive/consumer.py, consumer group "archive") needs no lookup.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import redis.asyncio as aioredis

from router import auth
from router.keys import Keys

KEEPALIVE = b": keepalive\n\n"


def sse_frame(entry_id: str, fields: dict[str, str]) -> bytes:
    kind = fields.get("type", "message")
    return f"id: {entry_id}\nevent: {kind}\ndata: {json.dumps(fields)}\n\n".encode()


# after these a stream checks that the token it was opened with still opens it: the agent was
# deleted, its token replaced, or its id given to a new agent
RECHECK = frozenset({"agent_deleted", "token_rotated", "agent_created"})


async def agent_events(
    redis: aioredis.Redis,
    keys: Keys,
    agent_id: str,
    token_hash: str,
    last_event_id: str | None = None,
    block_ms: int = 15_000,
    on_read: Callable[[list[str]], Awaitable[None]] | None = None,
) -> AsyncIterator[bytes]:
    """Server-sent events of one agent: offers, rescinds, and everything else about it.

    Starts after `last_event_id` (the SSE Last-Event-ID header) or at the current end. Ends
    once the token it was opened with (`token_hash`) no longer opens it: checked after each
    event of RECHECK (that event is the last one sent) and at each keep-alive. `on_read` is
    awaited with the conversations whose customer messages this stream is about to deliver for
    the first time (the access audit), before they are sent.
    """
    seen: set[str] = set()
    key = keys.agent_events(agent_id)
    cursor: str = last_event_id or ""
    if not cursor:
        last: Any = await redis.xrevrange(key, count=1)
        cursor = str(last[0][0]) if last else "0-0"
    while True:
        reply: Any = await redis.xread({key: cursor}, block=block_ms, count=100)
        if not reply:
            if not await _still_valid(redis, keys, agent_id, token_hash):
                return
            yield KEEPALIVE
            continue
        for _stream, entries in reply:
            if on_read is not None:
                new = _new_conversations(entries, seen)
                if new:
                    await on_read(new)
                    seen.update(new)
            for entry_id, fields in entries:
                cursor = str(entry_id)
                yield sse_frame(cursor, dict(fields))
                if fields.get("type") in RECHECK and not await _still_valid(
                    redis, keys, agent_id, token_hash
                ):
                    return


def _new_conversations(entries: Any, seen: set[str]) -> list[str]:
    """Conversations of the customer messages among `entries` not in `seen`, in order."""
    out: list[str] = []
    for _entry_id, fields in entries:
        conversation = fields.get("conversation")
        if (
            fields.get("type") == "customer_message"
            and conversation
            and conversation not in seen
            and conversation not in out
        ):
            out.append(str(conversation))
    return out


async def _still_valid(redis: aioredis.Redis, keys: Keys, agent_id: str, token_hash: str) -> bool:
    """The agent's stored token hash is still `token_hash` (read now, past any cache)."""
    stored: Any = await redis.hget(keys.agent(agent_id), "token_hash")
    return auth.hash_matches(token_hash, None if stored is None else str(stored))
