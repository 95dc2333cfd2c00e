"""The conversation lock shared by the assistant instances: Rasa's Redis ticket lock, with the
one bug that made a failed-over turn hang fixed.

Rasa's `LockStore._acquire_lock` waits for its ticket to be served, sleeping a second between
looks, and each look first drops the expired tickets — its own included. A ticket lives
TICKET_LOCK_LIFETIME seconds (15 here) from when it was issued, whether it is being served or
still waiting. When an instance is killed holding a conversation's ticket, the turn retried on
the other instance waits behind that ticket; the dead ticket expires first (issued first, same
lifetime), and the waiter is served at its next look — unless that look comes after its own
ticket has expired too (a busy event loop: one instance carrying the whole load). Then both are
gone, the lock is an empty list that nobody deletes, `now_serving` is 0, and the waiter loops
until the gateway gives up on the turn (seen in the chaos test, tests/durability/test_chaos.py).

Here a waiter whose ticket has expired knows every ticket issued before it has expired as well
(they all live as long): it is next in line, so it takes the lock with a fresh ticket at the
front. Everything else — the tickets' order, their lifetime, the Redis keys — is Rasa's.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from rasa.core.lock import Ticket, TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, RedisLockStore

logger = logging.getLogger(__name__)


def take_expired_turn(lock: TicketLock, ticket: int, lifetime: float, now: float) -> bool:
    """Whether the waiter with `ticket` is next although its ticket has expired (it is no longer
    in `lock`, whose expired tickets have been dropped): then it is put back first, with a fresh
    lifetime, so that the waiters behind it keep waiting. False while its ticket is live."""
    if any(live.number == ticket for live in lock.tickets):
        return False
    lock.tickets.insert(0, Ticket(ticket, now + lifetime))
    return True


class ConversationLockStore(RedisLockStore):
    """Rasa's `RedisLockStore` (the same endpoint keys: url, port, db, password, key_prefix …)
    whose waiters are served even when their own ticket expired while they waited."""

    def __init__(self, endpoint_config: Any = None, **kwargs: Any) -> None:
        if endpoint_config is not None:  # Rasa creates a custom store from its endpoint config
            kwargs = {"host": endpoint_config.url, **endpoint_config.kwargs}
        super().__init__(**kwargs)

    async def _acquire_lock(
        self, conversation_id: str, ticket: int, wait_time_in_seconds: float
    ) -> TicketLock:
        while True:
            lock = self.get_lock(conversation_id)
            if lock is None:  # deleted by the last holder's cleanup: nobody else holds it
                lock = self.create_lock(conversation_id)
                lock.tickets.append(Ticket(ticket, time.time() + LOCK_LIFETIME))
                self.save_lock(lock)
                return lock
            lock.remove_expired_tickets()
            if take_expired_turn(lock, ticket, LOCK_LIFETIME, time.time()):
                logger.info(
                    "assistant.lock_store.expired_ticket_served ticket=%d waiting=%d",
                    ticket,
                    len(lock.tickets) - 1,
                )
                self.save_lock(lock)
                return lock
            if not lock.is_locked(ticket):
                return lock
            await asyncio.sleep(wait_time_in_seconds)
            self.update_lock(conversation_id)
