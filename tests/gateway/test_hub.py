"""router/gateway/hub.py: the live fan-out's loop stops at shutdown even when redis-py swallows
the cancellation in a read (router/cancel.py)."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from router.gateway.hub import Hub
from router.keys import Keys


class SwallowingPubSub:
    """redis-py's PubSub as it behaves when a cancellation lands in its read's timeout: the read
    returns nothing, and the CancelledError never reaches the loop."""

    def __init__(self) -> None:
        self.reads = 0

    async def subscribe(self, *channels: str) -> None:
        pass

    async def get_message(self, timeout: float | None = None) -> dict[str, Any] | None:
        self.reads += 1
        try:
            await asyncio.sleep(timeout or 0)
        except asyncio.CancelledError:
            return None  # swallowed
        return None

    async def aclose(self) -> None:
        pass


class FakeRedis:
    def __init__(self) -> None:
        self.pubsub_ = SwallowingPubSub()

    def pubsub(self) -> SwallowingPubSub:
        return self.pubsub_


def test_the_hub_stops_when_redis_py_swallows_the_cancellation() -> None:
    async def run() -> int:
        redis = FakeRedis()
        hub = Hub(redis, Keys("t:"))  # type: ignore[arg-type]  # the fake stands for redis-py's
        await hub.start()
        await asyncio.sleep(0.05)  # the loop is in a read
        await asyncio.wait_for(hub.stop(), timeout=5)
        return redis.pubsub_.reads

    with ThreadPoolExecutor(1) as thread:  # a loop of its own, whatever runs in this thread
        reads = thread.submit(asyncio.run, run()).result(timeout=30)
    assert reads == 1  # stopped after the read that swallowed it, not one more
