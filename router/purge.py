"""`python -m router purge`: delete conversation text older than the retention, now.

Conversation text lives in Redis in four places, and each expires on its own as well
(ROUTER_RETENTION_S after the last message or the end of the handoff); the purge applies the
retention at once, e.g. after it was shortened, or where a key's expiry was never reached:

- the gateway's conversations (message log, survey comment, rating) whose last message is older
  than the retention (the index `gw:conversations` lists them; one script each, so a
  conversation that just got a message is kept);
- ended handoffs (summary, transcript, customer id) closed before the cutoff, walked by their
  sequence numbers from a low-water mark below which none is left (`purge:handoffs`);
- agents' event streams (masked customer messages): entries older than the cutoff (XTRIM MINID);
- the ratings index: members older than the cutoff.

The access audit is not touched: it has its own retention (ROUTER_AUDIT_RETENTION_S).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis

from router import scripts
from router.embedded_redis import redis_at
from router.keys import Keys
from router.settings import Settings

BATCH = 500


def cutoff_ms(now_ms: int, retention_s: int) -> int:
    """Text last touched at or before this moment is older than the retention."""
    return now_ms - retention_s * 1000


def low_water(start: int, results: list[int]) -> int:
    """The new low-water mark after handoffs start, start+1, … gave `results` (0 gone, 1 kept,
    2 deleted): the first sequence number that is still there."""
    for i, result in enumerate(results):
        if result == 1:
            return start + i
    return start + len(results)


@dataclass
class PurgeReport:
    conversations: int = 0
    handoffs: int = 0
    agent_events: int = 0
    ratings: int = 0

    def summary(self) -> str:
        return (
            f"router.purge conversations={self.conversations} handoffs={self.handoffs} "
            f"agent_events={self.agent_events} ratings={self.ratings}"
        )


async def purge(redis: aioredis.Redis, keys: Keys, now_ms: int, retention_s: int) -> PurgeReport:
    """Delete what is older than `retention_s` at `now_ms`; returns the counts deleted."""
    cutoff = cutoff_ms(now_ms, retention_s)
    report = PurgeReport()
    conversation = redis.register_script(scripts.PURGE_CONVERSATION)
    while True:
        ids: Any = await redis.zrangebyscore(keys.chats(), "-inf", cutoff, 0, BATCH)
        if not ids:
            break
        async with redis.pipeline(transaction=False) as pipe:
            for conversation_id in ids:
                cid = str(conversation_id)
                keys_ = [keys.chats(), keys.chat_log(cid), keys.chat(cid), keys.ratings()]
                await conversation(keys=keys_, args=[cid, cutoff], client=pipe)
            results = await pipe.execute()
        report.conversations += sum(1 for r in results if int(r) == 1)
        if len(ids) < BATCH:
            break
    report.ratings = int(await redis.zremrangebyscore(keys.ratings(), "-inf", cutoff))
    report.handoffs = await _purge_handoffs(redis, keys, cutoff)
    for agent_id in sorted(await redis.smembers(keys.agents())):
        stream = keys.agent_events(str(agent_id))
        report.agent_events += int(
            await redis.xtrim(stream, minid=f"{cutoff}-0", approximate=False)
        )
    return report


async def _purge_handoffs(redis: aioredis.Redis, keys: Keys, cutoff: int) -> int:
    handoff = redis.register_script(scripts.PURGE_HANDOFF)
    last = int(await redis.get(keys.seq_handoff()) or 0)
    start = int(await redis.get(keys.purge_handoffs()) or 1)
    mark, moving, deleted = start, True, 0
    for first in range(start, last + 1, BATCH):
        numbers = range(first, min(first + BATCH, last + 1))
        async with redis.pipeline(transaction=False) as pipe:
            for n in numbers:
                await handoff(keys=[keys.handoff(f"h{n:012d}")], args=[cutoff], client=pipe)
            results = [int(r) for r in await pipe.execute()]
        deleted += results.count(2)
        if moving:
            mark = low_water(first, results)
            moving = mark == first + len(results)
    if mark != start:
        await redis.set(keys.purge_handoffs(), mark)
    return deleted


async def run_purge(settings: Settings, now_ms: int | None = None) -> PurgeReport:
    """Purge the router's Redis (settings.redis_url, else the embedded server of data_dir)."""
    async with redis_at(settings.redis_url, settings.data_dir) as url:
        client = aioredis.from_url(
            url,
            decode_responses=True,
            socket_timeout=settings.redis_timeout_s,
            socket_connect_timeout=settings.redis_connect_timeout_s,
        )
        try:
            now = now_ms if now_ms is not None else time.time_ns() // 1_000_000
            return await purge(client, Keys(settings.key_prefix), now, settings.retention_s)
        finally:
            await client.aclose()
