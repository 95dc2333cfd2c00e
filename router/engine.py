"""The routing engine: async functions over Redis. Decisions run inside the Lua scripts."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import redis.asyncio as aioredis
from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError

from router import errors, scripts
from router.keys import Keys
from router.lua_lib import script_source
from router.metrics import Metrics
from router.models import HandoffCreate, Presence
from router.settings import Settings

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


@dataclass(frozen=True)
class TickResult:
    expired: int
    offline: int
    reevaluated: int
    swept: int


class _Batch:
    """Script calls made in the same turn of the event loop go to Redis in one pipeline.

    Under concurrency (many requests in one router process, or many callers of the engine) this
    turns N writes and N reads of a socket into one of each, the way auto-pipelining clients do.
    Each call stays one atomic EVALSHA, run in the order it was made; a caller awaits only its
    own reply. A pipeline is not a transaction: nothing else changes.
    """

    def __init__(self, redis: aioredis.Redis) -> None:
        self.redis = redis
        self.pending: list[tuple[AsyncScript, list[Any], asyncio.Future[Any]]] = []

    def call(self, script: AsyncScript, keys_and_args: list[Any]) -> asyncio.Future[Any]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        if not self.pending:
            loop.call_soon(self._flush)
        self.pending.append((script, keys_and_args, future))
        return future

    def _flush(self) -> None:
        batch, self.pending = self.pending, []
        task = asyncio.ensure_future(self._send(batch))
        _inflight.add(task)
        task.add_done_callback(_inflight.discard)

    async def _send(self, batch: list[tuple[AsyncScript, list[Any], asyncio.Future[Any]]]) -> None:
        try:
            if len(batch) == 1:
                script, argv, _ = batch[0]
                replies: list[Any] = [await script(keys=argv[:1], args=argv[1:])]
            else:
                async with self.redis.pipeline(transaction=False) as pipe:
                    for script, argv, _ in batch:
                        pipe.evalsha(script.sha, 1, *argv)
                    replies = await pipe.execute(raise_on_error=False)
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
        argv: list[str | int | float] = [self.clock(), *args]
        reply = await self._batch.call(self.scripts[name], [self.settings.key_prefix, *argv])
        latency = self._latency.get(name)
        if latency is not None:
            latency.observe(time.perf_counter() - started)
        out = [_text(v) for v in cast(Sequence[Any], reply)]
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
            ),
        ]  # fmt: skip
        packed = json.dumps(fields, ensure_ascii=False)  # one argument: cheaper to send
        reply = await self._run("create_handoff", body.conversation_id, sla_ms, packed)
        rank = int(reply[3])
        return Created(reply[1], reply[0] == "created", reply[2], rank if rank >= 0 else None)

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

    async def tick(self, sweep: bool = True) -> TickResult:
        reply = await self._run("tick", self.settings.tick_batch, "1" if sweep else "0")
        return TickResult(*(int(x) for x in reply))

    async def load_script_cache(self) -> None:
        """Load every script into Redis (after a restart of Redis they are reloaded on demand)."""
        for script in self.scripts.values():
            await self.redis.script_load(script.script)
