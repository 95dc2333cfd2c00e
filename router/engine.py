"""The routing engine: async functions over Redis. Decisions run inside the Lua scripts."""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import redis.asyncio as aioredis
from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from router import errors, scripts
from router.keys import Keys
from router.lua_lib import script_source
from router.metrics import Metrics
from router.models import HandoffCreate, Presence
from router.settings import Settings
from router.wait import WaitInputs

log = logging.getLogger(__name__)

Clock = Callable[[], int]


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


_ERRORS: dict[str, type[errors.RouterError]] = {
    "no_agent": errors.NoSuchAgent,
    "no_handoff": errors.NoSuchHandoff,
    "no_offer": errors.NoSuchOffer,
    "forbidden": errors.Forbidden,
    "offer_closed": errors.OfferClosed,
    "wrong_state": errors.WrongState,
}


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


@dataclass(frozen=True)
class Created:
    handoff_id: str
    created: bool
    status: str
    queue_rank: int | None
    wait: WaitInputs | None = None  # what estimating its wait takes, when queued


@dataclass(frozen=True)
class QueueWait:
    """A handoff's status ('' when unknown) and, when queued, its rank and wait inputs."""

    status: str
    queue_rank: int | None = None
    wait: WaitInputs | None = None


@dataclass(frozen=True)
class Deleted:
    """A deleted agent's hash as the deletion left it (offline; no token hash) and the handoffs
    it held or was offered, put back in their queues."""

    fields: dict[str, str]
    returned: list[str]


@dataclass(frozen=True)
class TickResult:
    expired: int
    offline: int
    reevaluated: int
    swept: int


_Call = tuple[AsyncScript, list[Any], "asyncio.Future[Any]"]

# Calls per write to Redis at most. Measured with 32 concurrent callers (bench.router, arrival):
# 16 gave the most assignments per second; 4-8 cost more CPU per call on both sides (more
# socket writes and reads), no cap left the engine and Redis taking turns.
MAX_BATCH = 16


def _pack(script: AsyncScript, keys_and_args: list[Any]) -> bytes:
    """One `EVALSHA sha 1 key args...` in the Redis protocol (arguments: str, int or float)."""
    out = [b"*%d\r\n$7\r\nEVALSHA\r\n$40\r\n%s\r\n$1\r\n1\r\n"
           % (len(keys_and_args) + 3, script.sha.encode())]  # fmt: skip
    for arg in keys_and_args:
        data = arg.encode() if isinstance(arg, str) else str(arg).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


class _Batch:
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


class Engine:
    """Every state change of the router, each one Lua script on the shared Redis."""

    def __init__(
        self,
        redis: aioredis.Redis,
        settings: Settings,
        clock: Clock = wall_clock_ms,
        metrics: Metrics | None = None,
    ) -> None:
        self.redis = redis
        self.settings = settings
        self.keys = Keys(settings.key_prefix)
        self._prefix = settings.key_prefix
        self.clock = clock
        self.metrics = metrics
        config = settings.engine_config()  # written into the scripts' source
        self.scripts: dict[str, AsyncScript] = {
            name: redis.register_script(script_source(body, config))
            for name, body in scripts.ALL.items()
        }
        self._batch = _Batch(redis)
        # one histogram child per script, looked up once (labels() takes a lock each call)
        self._latency = (
            {name: metrics.assignment_latency.labels(name) for name in scripts.ALL}
            if metrics is not None
            else {}
        )

    async def _run(self, name: str, *args: str | int | float) -> list[str]:
        started = time.perf_counter()
        reply = await self._batch.call(self.scripts[name], [self._prefix, self.clock(), *args])
        latency = self._latency.get(name)
        if latency is not None:
            latency.observe(time.perf_counter() - started)
        out = [v if type(v) is str else _text(v) for v in cast(Sequence[Any], reply)]
        error = _ERRORS.get(out[0]) if out else None
        if error is not None:
            raise error(out[1] if len(out) > 1 else out[0])
        return out

    async def upsert_agent(
        self,
        agent_id: str,
        display_name: str,
        skills: dict[str, int],
        languages: list[str],
        max_concurrent: int,
        token_hash: str,
    ) -> bool:
        """Create or update an agent; True when created."""
        reply = await self._run(
            "upsert_agent",
            agent_id,
            display_name,
            json.dumps(skills),
            json.dumps(languages),
            max_concurrent,
            token_hash,
        )
        return reply[0] == "created"

    async def presence(self, agent_id: str, status: Presence) -> None:
        await self._run("presence", agent_id, status.value)

    async def delete_agent(self, agent_id: str) -> Deleted:
        """Take the agent offline (its handoffs back to their queues) and delete it and its
        token; NoSuchAgent when there is none."""
        reply = await self._run("delete_agent", agent_id)
        n = int(reply[1])
        rest = reply[2 + n :]
        return Deleted(dict(zip(rest[::2], rest[1::2], strict=True)), reply[2 : 2 + n])

    async def rotate_token(self, agent_id: str, token_hash: str) -> None:
        """Replace the agent's token hash: the old token stops working; NoSuchAgent when there
        is none."""
        await self._run("rotate_token", agent_id, token_hash)

    async def create_handoff(self, body: HandoffCreate) -> Created:
        sla_ms = round(self.settings.sla_s(body.urgency) * 1000)
        fields: list[str] = [
            "channel", body.channel,
            "language", body.language,
            "intent", body.intent,
            "urgency", body.urgency.value,
            "skills", json.dumps(body.skills),
            "min_level", str(body.min_level or self.settings.default_min_level),
            "customer_id", body.customer.id or "",
            "customer_tier", body.customer.tier,
            "summary", body.summary,
            "transcript", json.dumps(
                [t if isinstance(t, str) else t.model_dump(mode="json") for t in body.transcript]
            ) if body.transcript else "[]",
        ]  # fmt: skip
        packed = json.dumps(fields, ensure_ascii=False)  # one argument: cheaper to send
        reply = await self._run("create_handoff", body.conversation_id, sla_ms, packed)
        rank = int(reply[3])
        if rank < 0:
            return Created(reply[1], reply[0] == "created", reply[2], None)
        wait = WaitInputs.from_reply(reply[4:8])
        return Created(reply[1], reply[0] == "created", reply[2], rank, wait)

    async def accept(self, offer_id: str, agent_id: str) -> str:
        return (await self._run("accept", offer_id, agent_id))[1]

    async def reject(self, offer_id: str, agent_id: str) -> str:
        return (await self._run("reject", offer_id, agent_id))[1]

    async def complete(self, handoff_id: str, agent_id: str, disposition: str) -> list[str]:
        """Complete; returns the ids of the offers its freed capacity made to the agent."""
        return (await self._run("complete", handoff_id, agent_id, disposition))[1:]

    async def transfer(
        self, handoff_id: str, agent_id: str, skills: list[str] | None, target: str | None
    ) -> str:
        skills_json = json.dumps(skills) if skills else ""
        reply = await self._run("transfer", handoff_id, agent_id, skills_json, target or "")
        return reply[1]

    async def abandon(self, handoff_id: str) -> None:
        await self._run("abandon", handoff_id)

    async def raise_priority(self, handoff_id: str, urgency: str, sla_ms: int) -> None:
        await self._run("priority", handoff_id, urgency, sla_ms)

    async def queue_wait(self, handoff_id: str) -> QueueWait:
        """The handoff's status and, when queued, its rank and what estimating its wait takes
        (router/wait.py), in one call."""
        reply = await self._run("queue_wait", handoff_id)
        if len(reply) < 6:
            return QueueWait(reply[0])
        return QueueWait(reply[0], int(reply[1]), WaitInputs.from_reply(reply[2:6]))

    async def tick(self, sweep: bool = True) -> TickResult:
        reply = await self._run("tick", self.settings.tick_batch, "1" if sweep else "0")
        return TickResult(*(int(x) for x in reply))

    async def start_heartbeat_grace(self, grace_s: float) -> None:
        """No heartbeat lapse is judged (by any process's TICK) for the next `grace_s`."""
        if grace_s > 0:
            await self.redis.set(self.keys.heartbeat_grace(), "1", px=max(1, round(grace_s * 1000)))

    async def load_script_cache(self) -> None:
        """Load every script into Redis (after a restart of Redis they are reloaded on demand)."""
        for script in self.scripts.values():
            await self.redis.script_load(script.script)
