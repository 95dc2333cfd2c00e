"""router/batch.py: script calls made together go to Redis in writes of at most max_size calls,
each caller gets its own reply (or its own error), NoScript is reloaded, timeouts and
cancellations stay with their calls."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from router.batch import Batch
from router.embedded_redis import RedisServer

pytestmark = pytest.mark.anyio

# KEYS[1], ARGV[1]: echoed back; ARGV[1] == 'bad': an error reply
ECHO = """
if ARGV[1] == 'bad' then return redis.error_reply('bad call') end
redis.call('RPUSH', KEYS[1], ARGV[1])
return {KEYS[1], ARGV[1]}
"""
# busy for ARGV[1] ms (Redis runs nothing else meanwhile)
BUSY = """
local t = redis.call('TIME')
local until_us = t[1] * 1000000 + t[2] + tonumber(ARGV[1]) * 1000
repeat t = redis.call('TIME') until t[1] * 1000000 + t[2] >= until_us
return {'done'}
"""


@pytest.fixture
async def client(redis_server: RedisServer) -> AsyncIterator[aioredis.Redis]:
    r = aioredis.from_url(redis_server.url, decode_responses=True)
    yield r
    await r.aclose()


class Spy(Batch):
    """A Batch that records the size of each write."""

    def __init__(self, redis: aioredis.Redis, max_size: int) -> None:
        super().__init__(redis, max_size)
        self.sizes: list[int] = []

    async def _exchange(self, batch: list[Any]) -> list[Any]:
        self.sizes.append(len(batch))
        return await super()._exchange(batch)


async def test_calls_over_the_cap_go_out_in_several_writes_each_caller_its_reply(
    client: aioredis.Redis,
) -> None:
    batch = Spy(client, max_size=3)
    echo = client.register_script(ECHO)
    await client.script_load(ECHO)
    key = "batch-test:cap"
    await client.delete(key)
    replies = await asyncio.gather(*(batch.call(echo, [key, f"v{i}"]) for i in range(7)))
    assert replies == [[key, f"v{i}"] for i in range(7)]
    assert batch.sizes == [3, 3, 1]  # two full writes at once, the rest at the end of the turn
    assert sorted(await client.lrange(key, 0, -1)) == [f"v{i}" for i in range(7)]
    # calls in later turns make batches of their own
    assert await batch.call(echo, [key, "alone"]) == [key, "alone"]
    assert batch.sizes == [3, 3, 1, 1]


async def test_calls_of_one_write_run_in_the_order_they_were_made(
    client: aioredis.Redis,
) -> None:
    batch = Spy(client, max_size=16)
    echo = client.register_script(ECHO)
    key = "batch-test:order"
    await client.delete(key)
    await asyncio.gather(*(batch.call(echo, [key, str(i)]) for i in range(10)))
    assert batch.sizes == [10]
    assert await client.lrange(key, 0, -1) == [str(i) for i in range(10)]


async def test_an_error_reply_goes_to_its_caller_alone(client: aioredis.Redis) -> None:
    batch = Spy(client, max_size=4)
    echo = client.register_script(ECHO)
    key = "batch-test:error"
    args = ["a", "bad", "b", "c", "bad", "d"]
    results = await asyncio.gather(
        *(batch.call(echo, [key, a]) for a in args), return_exceptions=True
    )
    assert batch.sizes == [4, 2]
    for arg, result in zip(args, results, strict=True):
        if arg == "bad":
            assert isinstance(result, ResponseError) and "bad call" in str(result)
        else:
            assert result == [key, arg]


async def test_scripts_unknown_to_redis_are_loaded_and_run_again(
    client: aioredis.Redis,
) -> None:
    batch = Spy(client, max_size=2)
    echo = client.register_script(ECHO)
    key = "batch-test:noscript"
    await client.script_flush()  # as after a restart of Redis
    replies = await asyncio.gather(*(batch.call(echo, [key, f"v{i}"]) for i in range(3)))
    assert replies == [[key, f"v{i}"] for i in range(3)]
    assert sorted(await client.lrange(key, 0, -1)) == ["v0", "v1", "v2"]


async def test_a_cancelled_caller_leaves_the_others_their_replies(
    client: aioredis.Redis,
) -> None:
    batch = Spy(client, max_size=8)
    echo = client.register_script(ECHO)
    key = "batch-test:cancel"

    async def caller(arg: str) -> Any:
        return await batch.call(echo, [key, arg])

    tasks = [asyncio.create_task(caller(a)) for a in ("x", "y", "z")]
    await asyncio.sleep(0)  # the three calls are made, their write not yet sent
    tasks[1].cancel()
    done = await asyncio.gather(*tasks, return_exceptions=True)
    assert done[0] == [key, "x"] and done[2] == [key, "z"]
    assert isinstance(done[1], asyncio.CancelledError)
    assert await batch.call(echo, [key, "after"]) == [key, "after"]  # the connection is fine


async def test_a_reply_later_than_the_socket_timeout_fails_its_batch_alone(
    redis_server: RedisServer,
) -> None:
    slow = aioredis.from_url(redis_server.url, decode_responses=True, socket_timeout=0.2)
    try:
        batch = Spy(slow, max_size=8)
        busy = slow.register_script(BUSY)
        await slow.script_load(BUSY)
        with pytest.raises(RedisTimeoutError):
            await batch.call(busy, ["batch-test:busy", "400"])
        await asyncio.sleep(0.4)  # Redis is busy with the first call until then
        # that connection was closed (its reply never read); the next call gets its own reply
        assert await batch.call(busy, ["batch-test:busy", "1"]) == ["done"]
    finally:
        await slow.aclose()
