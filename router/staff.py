"""Staff who call the router with their own bearer token (supervisors, analysts): their records
and token hashes in Redis, issued, rotated and revoked by the admin. One store for every such
role (router/supervisors.py, router/analysts.py name theirs).

A token is checked against the hash in its record on every request, with no cache: a rotated or
revoked token stops working at once in every router process. Each change touches one record's
hash and the role's set of ids in one MULTI/EXEC transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

import redis.asyncio as aioredis
from redis.exceptions import WatchError

from router.keys import Keys

Public = TypeVar("Public")


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


@dataclass(frozen=True)
class StaffRole(Generic[Public]):
    """Where a role's records live, what a record shows, and the error for a missing one."""

    record_key: Callable[[Keys, str], str]
    ids_key: Callable[[Keys], str]
    public: Callable[[str, dict[str, str]], Public]
    missing: Callable[[], Exception]


@dataclass(frozen=True)
class StaffStore(Generic[Public]):
    redis: aioredis.Redis
    keys: Keys
    role: ClassVar[StaffRole[Any]]

    def _public(self, member_id: str, raw: dict[Any, Any]) -> Public:
        shown: Public = self.role.public(member_id, {_text(k): _text(v) for k, v in raw.items()})
        return shown

    async def put(self, member_id: str, display_name: str, token_hash: str, now_ms: int) -> bool:
        """Create the record with `token_hash` (True), or rename an existing one, whose token
        does not change (False)."""
        key = self.role.record_key(self.keys, member_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping={"display_name": display_name, "updated_ms": str(now_ms)})
            pipe.hsetnx(key, "token_hash", token_hash)
            pipe.hsetnx(key, "created_ms", str(now_ms))
            pipe.sadd(self.role.ids_key(self.keys), member_id)
            replies = await pipe.execute()
        return bool(replies[1])

    async def get(self, member_id: str) -> Public:
        raw: Any = await self.redis.hgetall(self.role.record_key(self.keys, member_id))
        if not raw:
            raise self.role.missing()
        return self._public(member_id, raw)

    async def all(self) -> list[Public]:
        ids = sorted(_text(i) for i in await self.redis.smembers(self.role.ids_key(self.keys)))
        async with self.redis.pipeline(transaction=False) as pipe:
            for member_id in ids:
                pipe.hgetall(self.role.record_key(self.keys, member_id))
            replies = await pipe.execute()
        return [self._public(i, raw) for i, raw in zip(ids, replies, strict=True) if raw]

    async def token_hash(self, member_id: str) -> str | None:
        value: Any = await self.redis.hget(self.role.record_key(self.keys, member_id), "token_hash")
        return None if value is None else _text(value)

    async def rotate(self, member_id: str, token_hash: str, now_ms: int) -> None:
        """Replace the token hash (the old token stops working); the role's missing error when
        there is no such record."""
        key = self.role.record_key(self.keys, member_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(key)
                    if not await pipe.exists(key):
                        raise self.role.missing()
                    multi: Callable[[], None] = pipe.multi  # redis-py leaves it unannotated
                    multi()
                    pipe.hset(key, mapping={"token_hash": token_hash, "updated_ms": str(now_ms)})
                    await pipe.execute()
                    return
                except WatchError:
                    continue  # changed meanwhile: look again

    async def delete(self, member_id: str) -> Public:
        """Delete the record and its token; the role's missing error when there is none."""
        key = self.role.record_key(self.keys, member_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hgetall(key)
            pipe.delete(key)
            pipe.srem(self.role.ids_key(self.keys), member_id)
            raw, _, _ = await pipe.execute()
        if not raw:
            raise self.role.missing()
        return self._public(member_id, raw)
