"""The supervisor's live wallboard: what the router's Redis holds now (queues, agents) and today's
headline numbers from the archive, as one snapshot; pushed as server-sent events.

A stream follows the router's event stream `events` (every state change): after a change, and
at least every `refresh_s` (waits grow, today's numbers move), it builds a snapshot and sends it
when it differs from the last one sent, at most one per `min_interval_s`. The page counts the
longest waits up from `oldest_since_ms` by itself between pushes: it never polls.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import redis.asyncio as aioredis

from archive.metrics import bucket_start
from router.keys import Keys
from router.models import QueueStats

KEEPALIVE = b": keepalive\n\n"
STATES = ("available", "busy", "away", "offline")
# the headline numbers of today (archive.reports.summary's names) the wallboard shows, in order
TODAY_METRICS = ("service_level", "asa", "abandonment", "csat_agent", "handoffs", "conversations")


def china_day_start(now_ms: int) -> int:
    """The start (epoch ms) of the China-time day `now_ms` falls in (the archive's buckets)."""
    return bucket_start(now_ms, "day")


def agent_state(status: str, load: int, max_concurrent: int) -> str:
    """available | busy (available but at capacity) | away | offline."""
    if status == "available":
        return "busy" if load >= max_concurrent else "available"
    return status if status in STATES else "offline"


def agent_row(agent_id: str, fields: dict[str, str]) -> dict[str, Any]:
    load = int(fields.get("offers") or 0) + int(fields.get("assigned") or 0)
    max_concurrent = int(fields.get("max_concurrent") or 1)
    return {
        "agent_id": agent_id,
        "display_name": fields.get("display_name", ""),
        "state": agent_state(fields.get("status", "offline"), load, max_concurrent),
        "load": load,
        "max_concurrent": max_concurrent,
        "skills": sorted(json.loads(fields.get("skills") or "{}")),
    }


def tally(agents: Sequence[dict[str, Any]]) -> dict[str, int]:
    counts = Counter(a["state"] for a in agents)
    return {state: counts.get(state, 0) for state in STATES}


def queue_rows(queues: Sequence[QueueStats], now_ms: int) -> list[dict[str, Any]]:
    return [
        {
            "queue": q.skill,
            "depth": q.depth,
            "oldest_wait_s": q.oldest_wait_s,
            # the page counts the wait up from here between pushes
            "oldest_since_ms": now_ms - round(q.oldest_wait_s * 1000) if q.depth else None,
            "agents_available": q.agents_available,
        }
        for q in queues
    ]


def today_numbers(summary: dict[str, Any] | None) -> list[dict[str, Any]]:
    """TODAY_METRICS from archive.reports.summary's answer, in that order (those it has)."""
    if not summary:
        return []
    out = []
    for name in TODAY_METRICS:
        metric = summary.get(name)
        if isinstance(metric, dict):
            out.append({"metric": name, **{k: metric.get(k) for k in _METRIC_FIELDS}})
    return out


_METRIC_FIELDS = ("label", "value", "numerator", "denominator", "unit", "target")


def snapshot(
    queues: Sequence[QueueStats],
    agents: Sequence[dict[str, Any]],
    today: dict[str, Any] | None,
    now_ms: int,
) -> dict[str, Any]:
    """The wallboard as JSON (`generated_ms` apart, equal snapshots mean nothing changed)."""
    return {
        "generated_ms": now_ms,
        "day_start_ms": china_day_start(now_ms),
        "queues": queue_rows(queues, now_ms),
        "agents": {"counts": tally(agents), "list": list(agents)},
        "today": today_numbers(today),
    }


def fingerprint(snap: dict[str, Any]) -> str:
    """What a snapshot says apart from the moment it was taken (the waits go on growing)."""
    queues = [{**q, "oldest_wait_s": 0} for q in snap["queues"]]
    return json.dumps({**snap, "generated_ms": 0, "queues": queues}, sort_keys=True)


async def read_agents(redis: aioredis.Redis, keys: Keys) -> list[dict[str, Any]]:
    """Every agent's row, by id (one pipelined read of their hashes)."""
    ids = sorted(str(i) for i in await redis.smembers(keys.agents()))
    async with redis.pipeline(transaction=False) as pipe:
        for agent_id in ids:
            pipe.hmget(
                keys.agent(agent_id),
                "display_name", "status", "offers", "assigned", "max_concurrent", "skills",
            )  # fmt: skip
        replies = await pipe.execute()
    names = ("display_name", "status", "offers", "assigned", "max_concurrent", "skills")
    rows = []
    for agent_id, values in zip(ids, replies, strict=True):
        if values[0] is None:  # deleted meanwhile
            continue
        fields = {n: str(v) for n, v in zip(names, values, strict=True) if v is not None}
        rows.append(agent_row(agent_id, fields))
    return rows


def sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


async def stream(
    redis: aioredis.Redis,
    events_key: str,
    build: Callable[[], Awaitable[dict[str, Any]]],
    still_allowed: Callable[[], Awaitable[bool]],
    *,
    min_interval_s: float,
    refresh_s: float,
    block_ms: int,
) -> AsyncIterator[bytes]:
    """Snapshots (event `snapshot`) as things change; ends once `still_allowed` says no (a
    supervisor's token revoked or rotated), checked before each push."""
    last: Any = await redis.xrevrange(events_key, count=1)
    cursor = str(last[0][0]) if last else "0-0"
    sent = ""
    wait_ms = max(1, min(block_ms, round(refresh_s * 1000)))
    while True:
        if not await still_allowed():
            return
        current = await build()
        if fingerprint(current) == sent:
            yield KEEPALIVE
        else:
            sent = fingerprint(current)
            yield sse("snapshot", current)
        await asyncio.sleep(min_interval_s)  # changes meanwhile wait in the stream
        reply: Any = await redis.xread({events_key: cursor}, block=wait_ms, count=1000)
        for _stream, entries in reply or ():
            if entries:
                cursor = str(entries[-1][0])
