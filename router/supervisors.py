"""Supervisors: their records and token hashes in Redis (router/keys.py `supervisor`,
`supervisors`), issued, rotated and revoked by the admin (router/api/supervisors.py).

A supervisor's token is checked against the hash in its record on every request, with no cache:
a rotated or revoked token stops working at once in every router process (supervisors make few
requests; the wallboard's stream checks again before each push). Each change touches one
supervisor's hash and the set of ids in one MULTI/EXEC transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import WatchError

from router import errors
from router.keys import Keys
from router.models import SupervisorPublic


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def supervisor_public(supervisor_id: str, fields: dict[str, str]) -> SupervisorPublic:
    return SupervisorPublic(
        supervisor_id=supervisor_id,
        display_name=fields.get("display_name", ""),
        created_ms=int(fields.get("created_ms") or 0),
    )


@dataclass(frozen=True)
class Supervisors:
    redis: aioredis.Redis
    keys: Keys

    async def put(
        self, supervisor_id: str, display_name: str, token_hash: str, now_ms: int
    ) -> bool:
        """Create the supervisor with `token_hash` (True), or rename an existing one, whose token
        does not change (False)."""
        key = self.keys.supervisor(supervisor_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping={"display_name": display_name, "updated_ms": str(now_ms)})
            pipe.hsetnx(key, "token_hash", token_hash)
            pipe.hsetnx(key, "created_ms", str(now_ms))
            pipe.sadd(self.keys.supervisors(), supervisor_id)
            replies = await pipe.execute()
        return bool(replies[1])

    async def get(self, supervisor_id: str) -> SupervisorPublic:
        raw: Any = await self.redis.hgetall(self.keys.supervisor(supervisor_id))
        if not raw:
            raise errors.NoSuchSupervisor()
        return supervisor_public(supervisor_id, {_text(k): _text(v) for k, v in raw.items()})

    async def all(self) -> list[SupervisorPublic]:
        ids = sorted(_text(i) for i in await self.redis.smembers(self.keys.supervisors()))
        async with self.redis.pipeline(transaction=False) as pipe:
            for supervisor_id in ids:
                pipe.hgetall(self.keys.supervisor(supervisor_id))
            replies = await pipe.execute()
        return [
            supervisor_public(i, {_text(k): _text(v) for k, v in raw.items()})
            for i, raw in zip(ids, replies, strict=True)
            if raw
        ]

    async def token_hash(self, supervisor_id: str) -> str | None:
        value: Any = await self.redis.hget(self.keys.supervisor(supervisor_id), "token_hash")
        return None if value is None else _text(value)

    async def rotate(self, supervisor_id: str, token_hash: str, now_ms: int) -> None:
        """Replace the token hash (the old token stops working); NoSuchSupervisor when none."""
        key = self.keys.supervisor(supervisor_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(key)
                    if not await pipe.exists(key):
                        raise errors.NoSuchSupervisor()
                    multi: Callable[[], None] = pipe.multi  # redis-py leaves it unannotated
                    multi()
                    pipe.hset(key, mapping={"token_hash": token_hash, "updated_ms": str(now_ms)})
                    await pipe.execute()
                    return
                except WatchError:
                    continue  # changed meanwhile: look again

    async def delete(self, supervisor_id: str) -> SupervisorPublic:
        """Delete the supervisor and its token; NoSuchSupervisor when none."""
        key = self.keys.supervisor(supervisor_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hgetall(key)
            pipe.delete(key)
            pipe.srem(self.keys.supervisors(), supervisor_id)
            raw, _, _ = await pipe.execute()
        if not raw:
            raise errors.NoSuchSupervisor()
        return supervisor_public(supervisor_id, {_text(k): _text(v) for k, v in raw.items()})
