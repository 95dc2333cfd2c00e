"""Read side: turn Redis hashes into public models. Reads need no script (single keys)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import redis.asyncio as aioredis

from router import errors
from router.keys import ANY_LANGUAGE, Keys
from router.metrics import Snapshot
from router.models import (
    AgentPublic,
    Customer,
    HandoffPublic,
    HandoffStatus,
    OfferPublic,
    Presence,
    QueueStats,
    TranscriptTurn,
    Urgency,
)
from router.token_cache import TokenCache


def from_ms(value: str | None) -> datetime | None:
    if not value or value == "0":
        return None
    return datetime.fromtimestamp(int(float(value)) / 1000, tz=UTC)


def _decode(raw: dict[Any, Any]) -> dict[str, str]:
    return {
        (k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
        for k, v in raw.items()
    }


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def agent_public(agent_id: str, h: dict[str, str]) -> AgentPublic:
    offers, assigned = int(h.get("offers", 0)), int(h.get("assigned", 0))
    return AgentPublic(
        agent_id=agent_id,
        display_name=h["display_name"],
        skills=json.loads(h["skills"]),
        languages=json.loads(h["languages"]),
        max_concurrent=int(h["max_concurrent"]),
        status=Presence(h["status"]),
        load=offers + assigned,
        pending_offers=offers,
        assigned=assigned,
        missed_offers=int(h.get("misses", 0)),
        heartbeat_expires_at=from_ms(h.get("hb_until")),
    )


def handoff_public(h: dict[str, str]) -> HandoffPublic:
    transcript: list[TranscriptTurn | str] = [
        t if isinstance(t, str) else TranscriptTurn.model_validate(t)
        for t in json.loads(h.get("transcript") or "[]")
    ]
    created = from_ms(h["created_ms"])
    deadline = from_ms(h["deadline_ms"])
    assert created is not None and deadline is not None
    return HandoffPublic(
        handoff_id=h["id"],
        conversation_id=h["conversation_id"],
        channel=h.get("channel", ""),
        language=h.get("language", ""),
        intent=h.get("intent", ""),
        urgency=Urgency(h.get("urgency", "normal")),
        skills=json.loads(h["skills"]),
        customer=Customer(id=h.get("customer_id") or None, tier=h.get("customer_tier", "regular")),
        summary=h.get("summary", ""),
        transcript=transcript,
        status=HandoffStatus(h["status"]),
        agent_id=h.get("agent_id") or None,
        offered_to=h.get("offered_to") or None,
        created_at=created,
        sla_deadline=deadline,
        answered_at=from_ms(h.get("answered_ms")),
        rescued=h.get("rescued") == "1",
        disposition=h.get("disposition") or None,
    )


class Store:
    def __init__(self, redis: aioredis.Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys
        # agent token hashes this process has read; used only while it follows their
        # revocations (router/token_cache.py, started by the app), else every check reads Redis
        self.tokens = TokenCache()

    async def _hash(self, key: str) -> dict[str, str]:
        return _decode(await self.redis.hgetall(key))

    async def agent(self, agent_id: str) -> AgentPublic:
        h = await self._hash(self.keys.agent(agent_id))
        if not h:
            raise errors.NoSuchAgent()
        return agent_public(agent_id, h)

    async def agent_token_hash(self, agent_id: str) -> str | None:
        cached = self.tokens.get(agent_id)
        if cached is not None:
            return cached
        generation = self.tokens.generation  # a revocation during the read: the hash not kept
        value = await self.redis.hget(self.keys.agent(agent_id), "token_hash")
        if value is None:
            return None  # unknown agents are not remembered: one may be created any moment
        found = str(value.decode() if isinstance(value, bytes) else value)
        self.tokens.put(agent_id, found, generation)
        return found

    async def handoff(self, handoff_id: str) -> HandoffPublic:
        h = await self._hash(self.keys.handoff(handoff_id))
        if not h:
            raise errors.NoSuchHandoff()
        return handoff_public(h)

    async def handoff_fields(self, handoff_id: str, *fields: str) -> list[str | None]:
        """Fields of a handoff's hash (None where absent, every one when there is no such
        handoff)."""
        values = await self.redis.hmget(self.keys.handoff(handoff_id), *fields)
        return [None if v is None else _text(v) for v in values]

    async def agent_name(self, agent_id: str) -> str | None:
        """An agent's display name; None when there is no such agent."""
        value = await self.redis.hget(self.keys.agent(agent_id), "display_name")
        return None if value is None else _text(value)

    async def offers(self, agent_id: str) -> list[OfferPublic]:
        ids = sorted(await self.redis.smembers(self.keys.agent_offers(agent_id)))
        out: list[OfferPublic] = []
        for raw_id in ids:
            offer_id = raw_id.decode() if isinstance(raw_id, bytes) else str(raw_id)
            o = await self._hash(self.keys.offer(offer_id))
            if not o or o.get("status") != "pending":
                continue
            h = await self._hash(self.keys.handoff(o["handoff_id"]))
            created, expires = from_ms(o["created_ms"]), from_ms(o["expires_ms"])
            if not h or created is None or expires is None:
                continue
            out.append(
                OfferPublic(
                    offer_id=offer_id,
                    agent_id=o["agent_id"],
                    status=o["status"],
                    created_at=created,
                    expires_at=expires,
                    handoff=handoff_public(h),
                )
            )
        return out

    async def queue_rank(self, handoff_id: str) -> int | None:
        """0-based rank of a queued handoff in its queue (None unless queued). O(log n)."""
        fields = await self.redis.hmget(
            self.keys.handoff(handoff_id), "status", "skills", "language", "lang_relaxed"
        )
        status, skills, language, relaxed = (str(v) if v is not None else None for v in fields)
        if status != "queued" or skills is None or language is None:
            return None
        key = self.keys.queue_for(json.loads(skills), language, relaxed == "1")
        rank: Any = await self.redis.zrank(key, handoff_id)
        return None if rank is None else int(rank)

    async def stats(self) -> dict[str, int]:
        """The counters of the stats hash, with `created` and `offers`: the sequences of handoff
        and offer ids, which count them (the scripts write nothing more for them)."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(self.keys.stats())
            pipe.get(self.keys.seq_handoff())
            pipe.get(self.keys.seq_offer())
            raw, created, offers = await pipe.execute()
        out = {k: int(v) for k, v in _decode(raw).items()}
        out["created"] = int(created or 0)
        out["offers"] = int(offers or 0)
        return out

    async def queues(self, now_ms: int) -> list[QueueStats]:
        names = await self.redis.smembers(self.keys.queues())
        per_skill: dict[str, tuple[int, float]] = {
            str(skill): (0, 0.0) for skill in await self.redis.smembers(self.keys.skills())
        }
        async with self.redis.pipeline(transaction=False) as pipe:
            pairs = []
            for raw in sorted(names):
                name = raw.decode() if isinstance(raw, bytes) else str(raw)
                skills, _, lang = name.partition("|")
                pairs.append(skills.split(",")[0])  # counted under its first skill
                pipe.zcard(self.keys.queue(skills, lang))
                pipe.zrange(self.keys.queue_age(skills, lang), 0, 0, withscores=True)
            replies = await pipe.execute()
        for i, skill in enumerate(pairs):
            depth, head = int(replies[2 * i]), replies[2 * i + 1]
            wait = max(0.0, (now_ms - float(head[0][1])) / 1000) if head else 0.0
            total, oldest = per_skill.get(skill, (0, 0.0))
            per_skill[skill] = (total + depth, max(oldest, wait))
        out = []
        for skill, (depth, wait) in sorted(per_skill.items()):
            available = await self.redis.zcard(self.keys.idx(skill, ANY_LANGUAGE))
            out.append(
                QueueStats(
                    skill=skill,
                    depth=int(depth),
                    oldest_wait_s=round(wait, 3),
                    agents_available=int(available),
                )
            )
        return out

    async def snapshot(self, now_ms: int) -> Snapshot:
        queues = await self.queues(now_ms)
        return Snapshot(
            stats=await self.stats(),
            depth={q.skill: q.depth for q in queues},
            oldest_wait_s={q.skill: q.oldest_wait_s for q in queues},
            agents_available={q.skill: q.agents_available for q in queues},
        )
