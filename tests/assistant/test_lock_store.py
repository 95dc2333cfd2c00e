"""assistant.lock_store: the conversation lock on a real Redis, where Rasa's own store leaves a
waiter whose ticket expired while it waited looping for ever (the chaos test's hung turn)."""

from __future__ import annotations

import asyncio
import time

import pytest
from rasa.core.lock import Ticket, TicketLock
from rasa.core.lock_store import RedisLockStore

from assistant.lock_store import ConversationLockStore, take_expired_turn
from scripts import services


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory):
    server = services.start_redis_server(tmp_path_factory.mktemp("lock-redis"))
    yield server
    server.stop()


def _store(cls, redis_server, prefix):
    port = int(redis_server.url.rsplit(":", 1)[1].split("/")[0])
    return cls(host="127.0.0.1", port=port, db=0, key_prefix=prefix)


def _dead_holder(store, conversation: str) -> None:
    """A ticket issued by an instance that was killed before it finished (it expires soon)."""
    store.issue_ticket(conversation, lock_lifetime=0.2)


async def _wait_for_turn(store, conversation: str) -> str:
    # the waiter's ticket lives 0.4 s, it looks every 1 s: by its first look after the dead
    # ticket expired, its own has expired too — a busy instance's event loop does the same
    async with store.lock(conversation, lock_lifetime=0.4, wait_time_in_seconds=1.0):
        return "served"


def test_rasas_store_leaves_such_a_waiter_waiting(redis_server):
    store = _store(RedisLockStore, redis_server, "rasa")
    _dead_holder(store, "c1")
    with pytest.raises(asyncio.TimeoutError):
        asyncio.run(asyncio.wait_for(_wait_for_turn(store, "c1"), timeout=4))


def test_the_fixed_store_serves_the_waiter_and_cleans_up(redis_server):
    store = _store(ConversationLockStore, redis_server, "fixed")
    _dead_holder(store, "c1")
    assert asyncio.run(asyncio.wait_for(_wait_for_turn(store, "c1"), timeout=4)) == "served"
    assert store.get_lock("c1") is None  # nobody else waited: the lock is gone


def test_a_live_holder_still_excludes_a_waiter(redis_server):
    store = _store(ConversationLockStore, redis_server, "live")
    order: list[str] = []

    async def holder() -> None:
        async with store.lock("c2", lock_lifetime=30, wait_time_in_seconds=0.05):
            order.append("holder in")
            await asyncio.sleep(0.3)
            order.append("holder out")

    async def waiter() -> None:
        await asyncio.sleep(0.05)
        async with store.lock("c2", lock_lifetime=30, wait_time_in_seconds=0.05):
            order.append("waiter in")

    async def both() -> None:
        await asyncio.gather(holder(), waiter())

    asyncio.run(both())
    assert order == ["holder in", "holder out", "waiter in"]


def test_an_expired_waiter_goes_first_and_keeps_the_others_waiting():
    lock = TicketLock("c", [Ticket(7, time.time() + 30)])
    assert not take_expired_turn(lock, 7, 15, time.time())  # live: it waits its turn
    now = time.time()
    assert take_expired_turn(lock, 5, 15, now)
    assert [t.number for t in lock.tickets] == [5, 7]
    assert lock.now_serving == 5 and lock.tickets[0].expires == now + 15
    assert lock.is_someone_waiting()
