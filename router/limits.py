"""Limits: request bodies over the limit get 413 before any route sees them (ASGI middleware);
rate limits per client and per conversation (on Redis); concurrent streams per client."""

from __future__ import annotations

import contextlib
import json
import math
import time
from collections.abc import Iterator, Mapping
from typing import Any

import redis.asyncio as aioredis
from limits import parse_many
from limits.aio.storage import RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from router import errors


class BodyLimit:
    """The limit is `max_body_bytes` of the running app's settings (see router/runtime.py)."""

    def __init__(self, app: ASGIApp, default_max_bytes: int = 256 * 1024) -> None:
        self.app = app
        self.default_max_bytes = default_max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        runtime = getattr(scope["app"].state, "runtime", None) if "app" in scope else None
        max_bytes = runtime.settings.max_body_bytes if runtime else self.default_max_bytes
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    too_big = int(value) > max_bytes
                except ValueError:
                    too_big = False
                if too_big:
                    await self._reject(send)
                    return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > max_bytes:
                await self._reject(send)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    @staticmethod
    async def _reject(send: Send) -> None:
        payload = json.dumps({"error": "body_too_large"}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(payload)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})


class RateLimits:
    """Named rate limits on the shared Redis (the `limits` library's moving window), counted per
    identifier: a client's pseudonymous key, a conversation id.

    `rules` maps a name to a rate in the library's notation ("30/minute;500/hour"). The keys live
    under `key_prefix` (router/keys.py, `rate_limits`), on the caller's connection pool."""

    def __init__(
        self, pool: aioredis.ConnectionPool, key_prefix: str, rules: Mapping[str, str]
    ) -> None:
        # the library's stubs type its pass-through options as scalars; a pool is what it wants
        shared: Any = pool
        storage = RedisStorage(
            "async+redis://",
            implementation="redispy",
            key_prefix=key_prefix,
            connection_pool=shared,
        )
        self._limiter = MovingWindowRateLimiter(storage)
        self._rules = {name: parse_many(rate) for name, rate in rules.items()}

    async def hit(self, rule: str, identifier: str) -> None:
        """Count one request; RateLimited (with the seconds until one is allowed again) when the
        rule's limit is reached."""
        for item in self._rules[rule]:
            if not await self._limiter.hit(item, rule, identifier):
                stats = await self._limiter.get_window_stats(item, rule, identifier)
                raise errors.RateLimited(math.ceil(stats.reset_time - time.time()))


class StreamSlots:
    """Concurrent streams (long-polls, SSE, sockets) per client in this process, and long-polls
    in all: each long-poll holds one connection of this process's Redis pool while it waits.

    In-process on purpose: what they exhaust, the pool, is this process's own; counting them in
    Redis would cost round trips and leave counts behind when a process dies."""

    def __init__(self, per_client: int, long_polls: int, retry_after_s: int = 5) -> None:
        self.per_client = per_client
        self.long_polls = long_polls
        self.retry_after_s = retry_after_s
        self._held: dict[str, int] = {}
        self._polls = 0

    def held(self, client: str) -> int:
        return self._held.get(client, 0)

    @contextlib.contextmanager
    def hold(self, client: str, *, long_poll: bool = False) -> Iterator[None]:
        """A slot for one stream of `client` while the block runs; RateLimited when none is free."""
        if self.held(client) >= self.per_client or (long_poll and self._polls >= self.long_polls):
            raise errors.RateLimited(self.retry_after_s)
        self._held[client] = self.held(client) + 1
        self._polls += long_poll
        try:
            yield
        finally:
            self._polls -= long_poll
            left = self._held[client] - 1
            if left:
                self._held[client] = left
            else:
                del self._held[client]
