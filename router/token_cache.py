"""Agent token hashes cached in one router process, and the revocations that evict them.

Every request of an agent checks its token against the hash stored in its agent hash; a process
keeps the hashes it has read for a while, so an agent's requests need not read it again. A hash
changes when the token is rotated and disappears when the agent is deleted: those scripts publish
the agent id on the revocation channel (router/keys.py, `token_revocations`), and every process
follows that channel and forgets its copy.

A cached hash is used only while the process is sure it has heard every revocation: its
subscription answers a PING every `PING_EVERY_S`, and replies come in order on that connection,
so a PONG means every revocation published before the PING has been applied. Without a PONG for
`LEASE_S` (a broken connection, a stalled loop) the cache is not used until one comes; after a
(re)subscription it starts empty, since what was published meanwhile is unknown.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

import redis.asyncio as aioredis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from router.cancel import cancelling

log = logging.getLogger(__name__)

TTL_S = 60.0  # how long a process keeps a hash it has read
MAX_ENTRIES = 100_000
PING_EVERY_S = 1.0
LEASE_S = 3.0  # a PONG makes the cache usable this long
RETRY_S = 0.5  # pause before subscribing again after an error


class TokenCache:
    """agent id -> token hash, trusted only while the revocation channel is heard."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._entries: dict[str, tuple[str, float]] = {}  # agent id -> (hash, expiry)
        self._trusted_until = 0.0
        # bumped by every revocation: a hash read before one is not kept (it may be the revoked one)
        self.generation = 0

    def get(self, agent_id: str) -> str | None:
        now = self._clock()
        if now >= self._trusted_until:
            return None
        entry = self._entries.get(agent_id)
        return entry[0] if entry is not None and entry[1] > now else None

    def put(self, agent_id: str, token_hash: str, generation: int) -> None:
        """Keep a hash read from Redis when `generation` was current (read before the read)."""
        now = self._clock()
        if generation != self.generation or now >= self._trusted_until:
            return
        if len(self._entries) >= MAX_ENTRIES:
            self._entries.clear()
        self._entries[agent_id] = (token_hash, now + TTL_S)

    def forget(self, agent_id: str) -> None:
        """The agent's token was revoked."""
        self._entries.pop(agent_id, None)
        self.generation += 1

    def heard(self) -> None:
        """Every revocation published until a moment ago has been applied."""
        self._trusted_until = self._clock() + LEASE_S

    def reset(self) -> None:
        """Revocations may have been missed: forget everything, trust nothing until heard."""
        self._entries.clear()
        self.generation += 1
        self._trusted_until = 0.0


async def follow_revocations(redis: aioredis.Redis, channel: str, cache: TokenCache) -> None:
    """Apply every revocation published on `channel` to `cache`, until cancelled."""
    while True:
        pubsub = redis.pubsub()
        try:
            await pubsub.subscribe(channel)
            await _listen(pubsub, cache)
        except (RedisError, OSError) as exc:
            if cancelling():  # a cancellation redis-py turned into an error
                raise asyncio.CancelledError() from exc
            log.warning("router.tokens.unsubscribed error=%s", type(exc).__name__)
        finally:
            cache.reset()
            with contextlib.suppress(RedisError, OSError):
                await _close(pubsub)
        await asyncio.sleep(RETRY_S)


async def _listen(pubsub: PubSub, cache: TokenCache) -> None:
    loop = asyncio.get_running_loop()
    last_heard = next_ping = loop.time()
    while True:
        if cancelling():  # a cancellation redis-py swallowed (Python 3.11's asyncio.timeout(0))
            raise asyncio.CancelledError()
        now = loop.time()
        if now >= next_ping:
            await pubsub.ping()
            next_ping = now + PING_EVERY_S
        message = await pubsub.get_message(timeout=max(0.0, next_ping - now))
        if message is None:  # nothing pending (after a stalled loop, the PONGs are read first)
            if loop.time() - last_heard > LEASE_S:
                raise ConnectionError("no reply on the revocation channel")
            continue
        kind = message["type"]
        if kind == "subscribe":  # (re)subscribed: what was published before is unknown
            cache.reset()
        elif kind == "message":
            cache.forget(str(message["data"]))
            continue
        elif kind != "pong":
            continue
        last_heard = loop.time()
        cache.heard()


async def _close(pubsub: PubSub) -> None:
    # redis-py leaves PubSub.aclose unannotated; it returns None
    aclose: Callable[[], Awaitable[None]] = pubsub.aclose
    await aclose()
