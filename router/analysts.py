"""Analysts: their records and token hashes in Redis (router/keys.py `analyst`, `analysts`),
issued and revoked by the admin (router/analysis/api.py), as supervisors' are
(router/supervisors.py).

An analyst's token is checked against the hash in its record on every request, with no cache: a
revoked token stops working at once in every router process. Each change touches one analyst's
hash and the set of ids in one MULTI/EXEC transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis

from router import errors
from router.keys import Keys
from router.models import AnalystPublic


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def analyst_public(analyst_id: str, fields: dict[str, str]) -> AnalystPublic:
    return AnalystPublic(
        analyst_id=analyst_id,
        display_name=fields.get("display_name", ""),
        created_ms=int(fields.get("created_ms") or 0),
    )


@dataclass(frozen=True)
class Analysts:
    redis: aioredis.Redis
    keys: Keys

    async def put(self, analyst_id: str, display_name: str, token_hash: str, now_ms: int) -> bool:
        """Create the analyst with `token_hash` (True), or rename an existing one, whose token
        does not change (False)."""
        key = self.keys.analyst(analyst_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping={"display_name": display_name, "updated_ms": str(now_ms)})
            pipe.hsetnx(key, "token_hash", token_hash)
            pipe.hsetnx(key, "created_ms", str(now_ms))
            pipe.sadd(self.keys.analysts(), analyst_id)
            replies = await pipe.execute()
        return bool(replies[1])

    async def get(self, analyst_id: str) -> AnalystPublic:
        raw: Any = await self.redis.hgetall(self.keys.analyst(analyst_id))
        if not raw:
            raise errors.NoSuchAnalyst()
        return analyst_public(analyst_id, {_text(k): _text(v) for k, v in raw.items()})

    async def all(self) -> list[AnalystPublic]:
        ids = sorted(_text(i) for i in await self.redis.smembers(self.keys.analysts()))
        async with self.redis.pipeline(transaction=False) as pipe:
            for analyst_id in ids:
                pipe.hgetall(self.keys.analyst(analyst_id))
            replies = await pipe.execute()
        return [
            analyst_public(i, {_text(k): _text(v) for k, v in raw.items()})
            for i, raw in zip(ids, replies, strict=True)
            if raw
        ]

    async def token_hash(self, analyst_id: str) -> str | None:
        value: Any = await self.redis.hget(self.keys.analyst(analyst_id), "token_hash")
        return None if value is None else _text(value)

    async def delete(self, analyst_id: str) -> AnalystPublic:
        """Delete the analyst and its token; NoSuchAnalyst when none. What it annotated stays
        in the archive under its id."""
        key = self.keys.analyst(analyst_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hgetall(key)
            pipe.delete(key)
            pipe.srem(self.keys.analysts(), analyst_id)
            raw, _, _ = await pipe.execute()
        if not raw:
            raise errors.NoSuchAnalyst()
        return analyst_public(analyst_id, {_text(k): _text(v) for k, v in raw.items()})
