"""Script calls made together go to Redis in one write, a few at a time (router/engine.py's)."""

from __future__ import annotations

import asyncio
import math
from typing import Any

import redis.asyncio as aioredis
from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

_Call = tuple[AsyncScript, list[Any], "asyncio.Future[Any]"]

# Calls per write to Redis at most: the size that gave the most assignments per second in
# bench.router (arrival, 32 concurrent callers); smaller batches cost more CPU per call on both
# sides, no cap left the engine and Redis taking turns (docs/benchmarks.md).
MAX_BATCH = 16


def _pack(script: AsyncScript, keys_and_args: list[Any]) -> bytes:
    """One `EVALSHA sha 1 key args...` in the Redis protocol (arguments: str, int or float)."""
    out = [b"*%d\r\n$7\r\nEVALSHA\r\n$40\r\n%s\r\n$1\r\n1\r\n"
           % (len(keys_and_args) + 3, script.sha.encode())]  # fmt: skip
    for arg in keys_and_args:
        data = arg.encode() if isinstance(arg, str) else str(arg).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


class Batch:
    """Script calls made together go to Redis in one write, a few at a time.

    Under concurrency (many requests in one router process, or many callers of the engine) this
    turns N writes and N reads of a socket into one of each, the way auto-pipelining clients do.
    Calls made in the same turn of the event loop are sent together, at most `max_size` per
    write: a full batch leaves at once on a connection of its own, so that Redis runs one batch
    while this process prepares the next (batches that alternate between the two processes leave
    each idle half the time). Each call stays one atomic EVALSHA, the calls of a batch run in the
    order they were made, and a caller awaits only its own reply; an error reply goes to its
    caller alone. A batch is not a transaction: nothing else changes.
    """

    def __init__(self, redis: aioredis.Redis, max_size: int = MAX_BATCH) -> None:
        self.redis = redis
        self.max_size = max_size
        self.pending: list[_Call] = []
        self._scheduled = False  # a _flush is due at the end of this turn of the loop

    def call(self, script: AsyncScript, keys_and_args: list[Any]) -> asyncio.Future[Any]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self.pending.append((script, keys_and_args, future))
        if len(self.pending) >= self.max_size:
            self._start()
        elif not self._scheduled:
            self._scheduled = True
            loop.call_soon(self._flush)
        return future

    def _flush(self) -> None:
        self._scheduled = False
        if self.pending:
            self._start()

    def _start(self) -> None:
        batch, self.pending = self.pending, []
        task = asyncio.ensure_future(self._send(batch))
        _inflight.add(task)
        task.add_done_callback(_inflight.discard)

    async def _send(self, batch: list[_Call]) -> None:
        try:
            replies = await self._exchange(batch)
            for i, reply in enumerate(replies):
                if isinstance(reply, NoScriptError):  # Redis restarted: load, run again
                    script, argv, _ = batch[i]
                    try:
                        replies[i] = await script(keys=argv[:1], args=argv[1:])
                    except Exception as exc:  # handed to its caller
                        replies[i] = exc
        except Exception as exc:
            for _, _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        except BaseException:  # cancelled (shutdown): so are the calls waiting on it
            for _, _, future in batch:
                future.cancel()
            raise
        for (_, _, future), reply in zip(batch, replies, strict=True):
            if future.done():  # its caller went away (cancelled)
                continue
            if isinstance(reply, Exception):
                future.set_exception(reply)
            else:
                future.set_result(reply)

    async def _exchange(self, batch: list[_Call]) -> list[Any]:
        """The batch's EVALSHAs in one write on a connection of the pool; their replies, in
        order (an error reply as its exception). Packed here: redis-py's pipeline machinery cost
        more CPU per call than the packing itself."""
        pool = self.redis.connection_pool
        conn = await pool.get_connection()  # type: ignore[no-untyped-call]  # untyped in redis-py
        try:
            data = b"".join([_pack(script, argv) for script, argv, _ in batch])
            await conn.send_packed_command(data, check_health=False)
            replies: list[Any] = []
            try:
                # the connection's socket timeout once for the batch, not a timer per reply
                async with asyncio.timeout(conn.socket_timeout):
                    for _ in batch:
                        try:
                            replies.append(await conn.read_response(timeout=math.inf))
                        except ResponseError as exc:  # its caller's (NoScript: run again)
                            replies.append(exc)
            except TimeoutError:  # the read was cancelled: the connection is closed
                raise RedisTimeoutError("Timeout reading from Redis") from None
            return replies
        finally:
            await pool.release(conn)


_inflight: set[asyncio.Future[None]] = set()  # strong references to the flushes under way
