"""Live fan-out inside one router process: one Redis pub/sub connection, a channel per
conversation that has a listener here, and an asyncio queue per listener (socket, SSE, poll)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from router.cancel import cancelling
from router.keys import Keys

log = logging.getLogger(__name__)

# (seq or None for a transient event, payload)
Item = tuple[str | None, dict[str, Any]]


class Hub:
    def __init__(self, redis: aioredis.Redis, keys: Keys, queue_size: int = 1000) -> None:
        self.redis = redis
        self.keys = keys
        self.queue_size = queue_size
        self._listeners: dict[str, set[asyncio.Queue[Item]]] = {}
        self._confirmed: dict[str, asyncio.Event] = {}
        self._pubsub = redis.pubsub()
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        # a channel of its own keeps the connection subscribed while no customer is here
        await self._pubsub.subscribe(self.keys.chat_hub())
        self._task = asyncio.create_task(self._run(), name="gateway-hub")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        with contextlib.suppress(RedisError, OSError):
            await _close(self._pubsub)

    def local_conversations(self) -> list[str]:
        return list(self._listeners)

    def deliver_local(self, conversation_id: str, item: Item) -> None:
        for queue in self._listeners.get(conversation_id, ()):
            _offer(queue, item)

    @contextlib.asynccontextmanager
    async def listen(self, conversation_id: str) -> AsyncIterator[asyncio.Queue[Item]]:
        """A queue of the conversation's live items, subscribed before it is handed out."""
        queue: asyncio.Queue[Item] = asyncio.Queue(self.queue_size)
        channel = self.keys.chat_live(conversation_id)
        async with self._lock:
            first = conversation_id not in self._listeners
            self._listeners.setdefault(conversation_id, set()).add(queue)
            if first:
                confirmed = self._confirmed[channel] = asyncio.Event()
                await self._pubsub.subscribe(channel)
            else:
                confirmed = self._confirmed.get(channel) or asyncio.Event()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(confirmed.wait(), timeout=5)
        try:
            yield queue
        finally:
            async with self._lock:
                listeners = self._listeners.get(conversation_id)
                if listeners is not None:
                    listeners.discard(queue)
                    if not listeners:
                        del self._listeners[conversation_id]
                        self._confirmed.pop(channel, None)
                        with contextlib.suppress(RedisError, OSError):
                            await self._pubsub.unsubscribe(channel)

    async def _run(self) -> None:
        prefix = self.keys.chat_live("")
        while True:
            if cancelling():  # a cancellation redis-py swallowed (router/cancel.py)
                raise asyncio.CancelledError()
            try:
                message = await self._pubsub.get_message(timeout=1.0)
            except (RedisError, OSError) as exc:
                if cancelling():  # a cancellation redis-py turned into an error: stop
                    raise asyncio.CancelledError() from exc
                log.warning("gateway.hub.error error=%s", type(exc).__name__)
                await asyncio.sleep(0.5)
                continue
            if message is None:
                continue
            channel = message.get("channel") or ""
            if message["type"] == "subscribe":
                event = self._confirmed.get(channel)
                if event is not None:
                    event.set()
                continue
            if message["type"] != "message" or not channel.startswith(prefix):
                continue
            conversation_id = channel[len(prefix) :]
            seq, _, body = str(message["data"]).partition(" ")
            try:
                payload = json.loads(body)
            except ValueError:
                continue
            self.deliver_local(conversation_id, (None if seq == "-" else seq, payload))


async def _close(pubsub: PubSub) -> None:
    # redis-py leaves PubSub.aclose unannotated; it returns None
    aclose: Callable[[], Awaitable[None]] = pubsub.aclose
    await aclose()


def _offer(queue: asyncio.Queue[Item], item: Item) -> None:
    try:
        queue.put_nowait(item)
    except asyncio.QueueFull:  # a stalled listener: it resumes from the log on reconnect
        log.warning("gateway.hub.listener_full")
