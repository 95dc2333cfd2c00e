"""The timer loop each router process runs: offer expiries, heartbeat lapses, widening, sweeps.

Deadlines live in Redis sorted sets and each due item is taken by exactly one TICK script run,
so any number of processes may run this loop at once, and timers survive restarts.

After a Redis outage no agent could send a heartbeat, so the first tick would take every agent
offline and send every conversation back to its queue. A process whose tick failed therefore
stops ticking and only tries to set the heartbeat grace (`grace:heartbeats`, a key with a PX
expiry); once that succeeds Redis is back, and the TICK script judges no heartbeat lapse until
the key expires: every agent still there has a full heartbeat timeout to be heard again. Only the
grace, never a tick, is sent while Redis is down, so no tick queued during a hang runs late with
agents' heartbeats overdue. `after_tick` decides it; the loop only does the I/O.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from dataclasses import dataclass

from redis.exceptions import RedisError

from router.engine import Engine

log = logging.getLogger(__name__)
# jitter from a generator of its own: drawing from the global one would disturb whatever else in
# the process relies on it (hypothesis replays its examples from the global state in tests)
_jitter = random.Random()


@dataclass(frozen=True)
class RedisHealth:
    """What the loop knows of Redis: the time its first failed call of an outage failed."""

    down_since_s: float | None = None

    @property
    def down(self) -> bool:
        return self.down_since_s is not None


def after_call(health: RedisHealth, ok: bool, now_s: float) -> RedisHealth:
    """The health after a call of the loop (a tick, or setting the grace) succeeded or failed."""
    if ok:
        return RedisHealth()
    return health if health.down else RedisHealth(now_s)


def heartbeat_grace_s(outage_s: float, heartbeat_timeout_s: float) -> float:
    """How long heartbeat lapses are not judged once Redis is back from an outage of `outage_s`.

    A full heartbeat timeout, whatever the outage lasted: a heartbeat sent during it failed,
    so an agent whose deadline fell in it or soon after lapses unless it has the time to send
    the next one, and that takes up to a heartbeat timeout (every agent's client heartbeats
    within it). A longer outage needs no more: the agents who are there answer within it."""
    return heartbeat_timeout_s if outage_s >= 0 else 0.0


async def run_timers(engine: Engine, stop: asyncio.Event) -> None:
    period = engine.settings.tick_s
    loop = asyncio.get_running_loop()
    next_sweep = loop.time()
    health = RedisHealth()
    while not stop.is_set():
        busy = 0
        if health.down:
            assert health.down_since_s is not None
            grace = heartbeat_grace_s(
                loop.time() - health.down_since_s, engine.settings.heartbeat_timeout_s
            )
            try:
                await engine.start_heartbeat_grace(grace)
                log.warning("router.redis.back grace_s=%.1f", grace)
                health = after_call(health, True, loop.time())
            except (RedisError, OSError):
                pass  # still down: try again next period
        else:
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
                health = after_call(health, False, loop.time())
        if busy >= engine.settings.tick_batch:
            continue  # more is due right now
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=period * _jitter.uniform(0.8, 1.2))
