"""Background work of each router process: the router's events (one process handles each,
through a consumer group) and the queue positions of the customers connected here."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Sequence

from redis.exceptions import RedisError, ResponseError

from router.cancel import cancelling
from router.gateway import replies
from router.gateway.hub import Hub
from router.gateway.service import Gateway
from router.keys import GATEWAY_GROUP

log = logging.getLogger(__name__)


def consumer_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


async def consume_router_events(gateway: Gateway, stream: str, claim_idle_ms: int = 30_000) -> None:
    redis = gateway.store.redis
    with contextlib.suppress(ResponseError):  # BUSYGROUP: another process made it
        await redis.xgroup_create(stream, GATEWAY_GROUP, id="$", mkstream=True)
    me = consumer_name()
    block_ms = min(2000, gateway.store.max_block_ms)  # answered within the read timeout
    last_claim = 0.0
    loop = asyncio.get_running_loop()
    while True:
        if cancelling():  # a cancellation redis-py swallowed (its reads' asyncio.timeout)
            raise asyncio.CancelledError()
        try:
            entries: Sequence[replies.PendingEntry] = []
            if loop.time() - last_claim > claim_idle_ms / 1000:
                # events a dead process had taken but not handled
                last_claim = loop.time()
                claimed = await redis.xautoclaim(
                    stream, GATEWAY_GROUP, me, claim_idle_ms, count=100
                )
                entries = replies.claimed_entries(claimed)
            if not entries:
                reply = await redis.xreadgroup(
                    GATEWAY_GROUP, me, {stream: ">"}, count=100, block=block_ms
                )
                entries = replies.read_entries(reply)
            for entry_id, fields in entries:
                if fields:
                    try:
                        await gateway.on_router_event(fields)
                    except RedisError:
                        raise
                    except Exception:
                        log.exception(
                            "gateway.event.failed id=%s type=%s", entry_id, fields.get("type")
                        )
                await redis.xack(stream, GATEWAY_GROUP, entry_id)
        except asyncio.CancelledError:
            raise
        except ResponseError as exc:
            if "NOGROUP" in str(exc):
                with contextlib.suppress(ResponseError):
                    await redis.xgroup_create(stream, GATEWAY_GROUP, id="0", mkstream=True)
                continue
            log.warning("gateway.events.error error=%s", type(exc).__name__)
            await asyncio.sleep(0.5)
        except (RedisError, OSError) as exc:
            if cancelling():  # a cancellation redis-py turned into an error: stop
                raise asyncio.CancelledError() from exc
            log.warning("gateway.events.error error=%s", type(exc).__name__)
            await asyncio.sleep(0.5)


async def refresh_queue_positions(gateway: Gateway, hub: Hub, period_s: float) -> None:
    """Tell each waiting customer connected to this process their place when it changes."""
    last: dict[str, tuple[int | None, int | None]] = {}
    while True:
        await asyncio.sleep(period_s)
        if cancelling():  # a cancellation swallowed in the turn before
            raise asyncio.CancelledError()
        try:
            here = hub.local_conversations()
            # one round trip for all of them: most are with the bot or an agent, not waiting
            handoffs = await gateway.store.active_handoffs(here)
            for conversation_id, handoff in handoffs.items():
                if handoff is None or handoff.status not in ("queued", "offered"):
                    last.pop(conversation_id, None)
                    continue
                position = await gateway.store.queue_position(handoff.handoff_id)
                if last.get(conversation_id) != position:
                    last[conversation_id] = position
                    state = await gateway.state(conversation_id)
                    hub.deliver_local(
                        conversation_id, (None, {"type": "state", **state.model_dump()})
                    )
            for gone in set(last) - set(here):
                del last[gone]
        except asyncio.CancelledError:
            raise
        except (RedisError, OSError) as exc:
            if cancelling():
                raise asyncio.CancelledError() from exc
            log.warning("gateway.queue_refresh.error error=%s", type(exc).__name__)
