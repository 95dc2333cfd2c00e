"""The token hash cache of a router process: when it may be used, and the revocations that
reach it through Redis pub/sub (a real server)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable

import pytest
import redis.asyncio as aioredis

from router import token_cache
from router.embedded_redis import RedisServer
from router.token_cache import TokenCache, follow_revocations

pytestmark = pytest.mark.anyio


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_used_only_while_revocations_are_heard() -> None:
    clock = Clock()
    cache = TokenCache(clock)
    cache.put("a", "h1", cache.generation)  # not heard yet: not kept
    cache.heard()
    assert cache.get("a") is None
    cache.put("a", "h1", cache.generation)
    assert cache.get("a") == "h1"
    clock.now += token_cache.LEASE_S  # no PONG since: not used, not kept
    assert cache.get("a") is None
    cache.put("b", "h2", cache.generation)
    cache.heard()
    assert (cache.get("a"), cache.get("b")) == ("h1", None)


def test_entries_expire_and_revocations_evict() -> None:
    clock = Clock()
    cache = TokenCache(clock)
    cache.heard()
    cache.put("a", "h1", cache.generation)
    cache.put("b", "h2", cache.generation)
    cache.forget("a")
    assert (cache.get("a"), cache.get("b")) == (None, "h2")
    clock.now += token_cache.TTL_S
    cache.heard()
    assert cache.get("b") is None  # read TTL_S ago: read again
    cache.put("b", "h2", cache.generation)
    cache.reset()  # a lost subscription
    cache.heard()
    assert cache.get("b") is None


def test_a_hash_read_across_a_revocation_is_not_kept() -> None:
    cache = TokenCache(Clock())
    cache.heard()
    generation = cache.generation  # a read starts ...
    cache.forget("a")  # ... the token is rotated and the revocation arrives ...
    cache.put("a", "old", generation)  # ... the read returns the old hash
    assert cache.get("a") is None


@contextlib.asynccontextmanager
async def _follower(url: str, channel: str) -> AsyncIterator[TokenCache]:
    client = aioredis.from_url(url, decode_responses=True, client_name="revocations-test")
    cache = TokenCache()
    task = asyncio.create_task(follow_revocations(client, channel, cache))
    try:
        yield cache
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await client.aclose()


async def _until(condition: Callable[[], bool], timeout_s: float = 5.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not condition():
            await asyncio.sleep(0.01)


def _kept(cache: TokenCache, agent_id: str, token_hash: str) -> bool:
    """Keeps the hash if the cache is in use now; whether it holds it."""
    cache.put(agent_id, token_hash, cache.generation)
    return cache.get(agent_id) == token_hash


async def test_revocations_published_in_redis_evict_and_a_lost_subscription_empties_it(
    redis_server: RedisServer,
) -> None:
    channel = f"t{uuid.uuid4().hex}:tokens:revoked"
    r = aioredis.from_url(redis_server.url, decode_responses=True)
    try:
        async with _follower(redis_server.url, channel) as cache:
            await _until(lambda: _kept(cache, "a", "h1"))
            cache.put("b", "h2", cache.generation)
            await r.publish(channel, "a")
            await _until(lambda: cache.get("a") is None)
            assert cache.get("b") == "h2"

            # the server drops the subscription: whatever it held is forgotten
            clients = await r.client_list(_type="pubsub")
            mine = [c["id"] for c in clients if c.get("name") == "revocations-test"]
            assert len(mine) == 1
            await r.client_kill_filter(_id=mine[0])
            await _until(lambda: cache.get("b") is None)
            await _until(lambda: _kept(cache, "c", "h3"))  # subscribed again
            assert cache.get("b") is None  # in use again, and "b" is gone
            await r.publish(channel, "c")
            await _until(lambda: cache.get("c") is None)
    finally:
        await r.aclose()
