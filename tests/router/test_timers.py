"""The timer loop after a Redis outage: a grace before heartbeat lapses are judged.

The decision is pure (`after_call`, `heartbeat_grace_s`); the loop is tested against a real
redis-server that the test stops (SIGSTOP) for longer than the heartbeat timeout.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from pydantic import SecretStr

from router.embedded_redis import RedisServer
from router.engine import Engine
from router.models import Presence
from router.settings import Settings
from router.timers import RedisHealth, after_call, heartbeat_grace_s, run_timers
from tests.router.helpers import agent, handoff, offers_of, status_of


def test_health_remembers_when_an_outage_began() -> None:
    up = RedisHealth()
    down = after_call(up, False, 10.0)
    assert down.down and down.down_since_s == 10.0
    assert after_call(down, False, 12.0).down_since_s == 10.0  # still the same outage
    assert not after_call(down, True, 15.0).down
    assert after_call(up, True, 15.0) == up


@pytest.mark.parametrize("outage_s", [0.2, 5.0, 29.0, 31.0, 3600.0])
def test_any_outage_gives_a_full_heartbeat_timeout(outage_s: float) -> None:
    assert heartbeat_grace_s(outage_s, 30.0) == 30.0


@pytest.fixture
async def engine(own_redis: RedisServer) -> AsyncIterator[Engine]:
    settings = Settings(
        redis_url=SecretStr(own_redis.url),
        key_prefix="timers:",
        heartbeat_timeout_s=2.0,
        offer_timeout_s=30.0,
        redis_timeout_s=1.0,
        redis_connect_timeout_s=1.0,
        tick_s=0.1,
    )
    client = aioredis.from_url(
        own_redis.url, decode_responses=True, socket_timeout=1.0, socket_connect_timeout=1.0
    )
    yield Engine(client, settings)
    await client.aclose()


async def _wait_for(predicate, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not await predicate():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.05)


@pytest.mark.anyio
@pytest.mark.slow
async def test_agents_keep_their_conversations_after_a_redis_outage(
    engine: Engine, own_redis: RedisServer
) -> None:
    await agent(engine, "li")
    await agent(engine, "wang")
    held = {}
    for name in ("li", "wang"):
        created = await engine.create_handoff(handoff(f"conv-{name}"))
        ((offer_id, hid),) = (await offers_of(engine, name)).items()
        await engine.accept(offer_id, name)
        held[name] = created.handoff_id
        assert hid == created.handoff_id
    stop = asyncio.Event()
    timers = asyncio.create_task(run_timers(engine, stop))
    assert own_redis.process is not None
    try:
        await asyncio.sleep(0.3)
        os.kill(own_redis.process.pid, signal.SIGSTOP)
        await asyncio.sleep(3.5)  # longer than the heartbeat timeout (2 s)
        os.kill(own_redis.process.pid, signal.SIGCONT)
        # back: the timer sets the grace, then ticks again; nobody has lapsed
        await _wait_for(lambda: engine.redis.exists(engine.keys.heartbeat_grace()))
        await asyncio.sleep(0.5)
        for name in ("li", "wang"):
            assert (await engine.redis.hget(engine.keys.agent(name), "status")) == "available"
            assert (await status_of(engine, held[name]))["status"] == "assigned"
        await engine.presence("li", Presence.available)  # li is heard again
        # after the grace, lapses are judged again: wang, silent, goes offline and his
        # conversation back to the queue; li, heard, keeps hers
        await _wait_for(lambda: _status_is(engine, "wang", "offline"), timeout=5.0)
        assert (await status_of(engine, held["wang"]))["status"] in ("queued", "offered")
        assert (await engine.redis.hget(engine.keys.agent("li"), "status")) == "available"
        assert (await status_of(engine, held["li"]))["status"] == "assigned"
    finally:
        stop.set()
        await timers


async def _status_is(engine: Engine, agent_id: str, status: str) -> bool:
    return bool(await engine.redis.hget(engine.keys.agent(agent_id), "status") == status)
