"""The routing engine: async functions over Redis. Decisions run inside the Lua scripts.

It owns every script of a router process: the routing ones (router/scripts.py) and the customer
gateway's changes to its conversations (router/chat_scripts.py), each reached through a typed
method below.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import redis.asyncio as aioredis
from redis.commands.core import AsyncScript

from router import chat_scripts, errors, scripts
from router.batch import Batch
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
    "no_active_handoff": errors.NotFound,
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


@dataclass(frozen=True)
class HandoffState:
    """The active handoff of a conversation: its id, status and agent (when it has one)."""

    handoff_id: str
    status: str
    agent_id: str | None


@dataclass(frozen=True)
class Turn:
    """A customer's message stored: its seq, the conversation's hash as it was before it, and
    the conversation's active handoff (None when there is none)."""

    seq: str
    meta: dict[str, str]
    handoff: HandoffState | None


@dataclass(frozen=True)
class ChatState:
    """What the customer sees about who serves them: the conversation's hash, its active
    handoff, and the assigned agent's display name."""

    meta: dict[str, str]
    handoff: HandoffState | None
    agent_name: str | None


def _handoff_state(handoff_id: str, status: str, agent_id: str) -> HandoffState | None:
    return HandoffState(handoff_id, status, agent_id or None) if status else None


def _pairs(flat: Sequence[str]) -> dict[str, str]:
    return dict(zip(flat[::2], flat[1::2], strict=True))


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
            for name, body in (scripts.ALL | chat_scripts.ALL).items()
        }
        self._batch = Batch(redis)
        # one histogram child per routing script, looked up once (labels() takes a lock each call)
        self._latency = (
            {name: metrics.assignment_latency.labels(name) for name in scripts.ALL}
            if metrics is not None
            else {}
        )

    async def _run(self, name: str, *args: str | int | float, now: int | None = None) -> list[str]:
        """Run script `name` at `now` (default: the clock) with ARGV[2..] = `args`."""
        started = time.perf_counter()
        at = self.clock() if now is None else now
        reply = await self._batch.call(self.scripts[name], [self._prefix, at, *args])
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

    # -- the customer gateway's conversations (router/chat_scripts.py) ------------------------
    async def chat_append(self, conversation_id: str, body: str, sender: str, masked: str) -> str:
        """Append a message (its JSON, without seq) to the conversation's log and publish it,
        and to the archive's feed with `sender` and its text masked (`masked`); returns its
        seq."""
        return (await self._run("chat_append", conversation_id, body, sender, masked))[1]

    async def customer_turn(
        self,
        conversation_id: str,
        channel: str,
        body: str,
        ts: int,
        sender: str,
        agent_text: str,
        client: str = "",
    ) -> Turn:
        """Store and publish a customer's message (`body`, its JSON without seq, sent at `ts`);
        creates the conversation's hash when new and, when an agent is assigned, sends them
        `agent_text` (the masked text) on their event stream; the archive's feed gets the
        masked text with the client's pseudonymous key."""
        reply = await self._run(
            "customer_turn", conversation_id, channel, body, sender, agent_text, client, now=ts
        )
        return Turn(reply[1], _pairs(reply[5:]), _handoff_state(*reply[2:5]))

    async def agent_message(
        self, conversation_id: str, agent_id: str, head: str, tail: str, masked: str
    ) -> str:
        """Store and publish the assigned agent's message, its JSON (without seq) cut where its
        agent_name goes (`head` + `tail`; the agent's current display name is put there), and
        its text masked (`masked`) to the archive's feed; returns its seq. The caller has
        checked the agent's token. NotFound without an active handoff, Forbidden when it is not
        assigned to this agent."""
        return (await self._run("agent_message", conversation_id, agent_id, head, tail, masked))[1]

    async def conversation_handoffs(
        self, conversation_ids: Sequence[str]
    ) -> list[HandoffState | None]:
        """The active handoff of each conversation, in their order, in one call."""
        reply = await self._run("conversation_handoffs", *conversation_ids)
        return [_handoff_state(*reply[i : i + 3]) for i in range(1, len(reply), 3)]

    async def conversation_state(self, conversation_id: str) -> ChatState:
        reply = await self._run("conversation_state", conversation_id)
        return ChatState(_pairs(reply[5:]), _handoff_state(*reply[1:4]), reply[4] or None)

    async def claim_awaiting(self, conversation_id: str, expected: str, new: str) -> bool:
        """Compare-and-set of the conversation's survey step (a double click rates once)."""
        return (await self._run("claim_awaiting", conversation_id, expected, new))[1] == "1"

    async def load_script_cache(self) -> None:
        """Load every script into Redis (after a restart of Redis they are reloaded on demand)."""
        for script in self.scripts.values():
            await self.redis.script_load(script.script)
