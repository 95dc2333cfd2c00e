"""The timer loop each router process runs: offer expiries, heartbeat lapses, widening, sweeps.

Deadlines live in Redis sorted sets and each due item is taken by exactly one TICK script run,
so any number of processes may run this loop at once, and timers survive restarts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random

from redis.exceptions import RedisError

from router.engine import Engine

log = logging.getLogger(__name__)
# jitter from a generator of its own: drawing from the global one would disturb whatever else in
# the process relies on it (hypothesis replays its examples from the global state in tests)
_jitter = random.Random()


async def run_timers(engine: Engine, stop: asyncio.Event) -> None:
    period = engine.settings.tick_s
    loop = asyncio.get_running_loop()
    next_sweep = loop.time()
    while not stop.is_set():
        sweep = loop.time() >= next_sweep
        if sweep:
            next_sweep = loop.time() + engine.settings.sweep_every_s
        try:
            result = await engine.tick(sweep=sweep)
            busy = result.expired + result.offline + result.reevaluated
            if result.offline:
                log.info("router.agent.heartbeat_lapsed count=%d", result.offline)
            if result.expired:
                log.info("router.offer.expired count=%d", result.expired)
        except (RedisError, OSError) as exc:
            log.warning("router.timer.failed error=%s", type(exc).__name__)
            busy = 0
        if busy >= engine.settings.tick_batch:
            continue  # more is due right now
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=period * _jitter.uniform(0.8, 1.2))
