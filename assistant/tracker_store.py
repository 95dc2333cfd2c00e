"""Rasa's in-memory tracker store, with conversations dropped once they have been idle too long.

Rasa's `InMemoryTrackerStore` keeps every conversation (the customer's words, numbers and
verification state) for as long as the server runs. `IdleExpiringTrackerStore` is that store
with a retention: a conversation not saved for `retention_s` seconds (ASSISTANT_TRACKER_RETENTION_S,
default 24 h) is dropped — its saved text, and the dialogue replays kept for it. Expired
conversations are looked for on every save, retrieval and listing, oldest first, so the work is
proportional to what is dropped.

endpoints.yml names it (Rasa's extension point for tracker stores):

    tracker_store:
      type: assistant.tracker_store.IdleExpiringTrackerStore

When the fast path `kept_replays` is installed (assistant.fastpaths), it also carries each
conversation's dialogue replays from one turn to the next (`assistant.fastpaths.kept_replays`).
A durable store is a different class (issue 13).
"""

from __future__ import annotations

import os
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from rasa.core.tracker_store import InMemoryTrackerStore

from assistant import fastpaths
from assistant.fastpaths.kept_replays import KeptReplays, carry_over

__all__ = ["DEFAULT_RETENTION_S", "IdleExpiringTrackerStore", "retention_from_env"]

DEFAULT_RETENTION_S = 24 * 3600.0


def retention_from_env(env: Mapping[str, str]) -> float:
    """ASSISTANT_TRACKER_RETENTION_S: seconds (> 0) a conversation may stay idle; default 24 h."""
    raw = (env.get("ASSISTANT_TRACKER_RETENTION_S") or "").strip()
    if not raw:
        return DEFAULT_RETENTION_S
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if not value > 0 or value == float("inf"):
        raise ValueError(f"ASSISTANT_TRACKER_RETENTION_S must be a positive number, not {raw!r}")
    return value


class IdleExpiringTrackerStore(InMemoryTrackerStore):
    """`InMemoryTrackerStore` that drops conversations idle for longer than `retention_s`.

    `keep_replays`: carry dialogue replays between turns; by default when the fast path
    `kept_replays` is installed in this process."""

    def __init__(
        self,
        domain: Any,
        event_broker: Any = None,
        retention_s: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        keep_replays: bool | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(domain, event_broker, **kwargs)
        self.retention_s = retention_from_env(os.environ) if retention_s is None else retention_s
        self.clock = clock
        self.last_saved: OrderedDict[str, float] = OrderedDict()  # oldest save first
        if keep_replays is None:
            keep_replays = "kept_replays" in fastpaths.installed()
        self.replays = KeptReplays() if keep_replays else None

    def drop_idle(self) -> list[str]:
        """Drops every conversation not saved within the retention; returns their ids."""
        cutoff = self.clock() - self.retention_s
        dropped = []
        while self.last_saved:
            sender_id, saved_at = next(iter(self.last_saved.items()))
            if saved_at > cutoff:
                break
            del self.last_saved[sender_id]
            self.store.pop(sender_id, None)
            if self.replays is not None:
                self.replays.forget(sender_id)
            dropped.append(sender_id)
        return dropped

    async def save(self, tracker: Any) -> None:
        self.drop_idle()
        await super().save(tracker)
        if self.replays is not None:
            self.replays.keep(tracker, self.store[tracker.sender_id])
        self.last_saved.pop(tracker.sender_id, None)
        self.last_saved[tracker.sender_id] = self.clock()

    async def _retrieve(self, sender_id: str, fetch_all_sessions: bool) -> Any:
        self.drop_idle()
        if self.replays is None:
            return await super()._retrieve(sender_id, fetch_all_sessions)
        entry = self.replays.take(sender_id)
        tracker = await super()._retrieve(sender_id, fetch_all_sessions)
        carry_over(entry, self.store.get(sender_id), tracker)
        return tracker

    async def keys(self) -> Iterable[str]:
        self.drop_idle()
        return await super().keys()
