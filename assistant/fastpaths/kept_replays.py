"""Dialogue replays kept across turns (fast path `kept_replays`).

A tracker store hands out a new tracker each turn, rebuilt from what it saved, so each turn
replayed the whole conversation into states again (`dialogue_states` keeps a replay only per
tracker). Here the store keeps the replays of the tracker it saved, with what it saved; the next
tracker it reads back takes them over when it holds exactly that (its events are then those
events read back, one for one). Only the most recent conversations keep theirs
(`KEPT_CONVERSATIONS`). The replays are a cache: a tracker read back that holds anything else
(events written since by another instance, a new session, a conversation purged) starts over —
correct, only slower.

What "exactly what was saved" means is the store's own, compared with `==`:
- the in-memory store (`assistant.tracker_store.IdleExpiringTrackerStore`) keeps the text it
  saved: the same string object as long as nothing was saved since (`==` checks identity first);
- the durable store (`assistant.tracker_store.DurableTrackerStore`) keeps `events_version` of
  the saved tracker — the number of events and the last event's type and timestamp — and
  compares it with the version of the tracker it reads back: another instance that appended
  events, or started a new session, changes it.

Nothing of Rasa's is replaced for this: the tracker stores named in endpoints files (Rasa's
extension point) keep the replays in a `KeptReplays` once this fast path is installed. It relies
on `dialogue_states`, without which there is nothing to keep.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from assistant.fastpaths.dialogue_states import REPLAYS, StatesReplay

# The conversations whose replays are kept between turns, most recent first: a conversation in
# progress comes back within minutes; older ones start over (correct, only slower) and their
# memory is freed.
KEPT_CONVERSATIONS = 2000

# (what the store saved, the number of events of the tracker saved, its replays by setting)
Entry = tuple[object, int, dict[Any, StatesReplay]]


def events_version(events: Sequence[Any]) -> tuple[int, str, float] | None:
    """What names a history read back from a store that only appends: the number of events and
    the last one's type and timestamp (None: no events)."""
    if not events:
        return None
    last = events[-1]
    return len(events), last.type_name, last.timestamp


class KeptReplays:
    """The replays of the trackers a store saved, by conversation, with what was saved."""

    def __init__(self) -> None:
        self.entries: OrderedDict[str, Entry] = OrderedDict()

    def keep(self, tracker: Any, saved: object) -> None:
        """After `tracker` was saved as `saved`: its replays, if any, are kept with it."""
        self.entries.pop(tracker.sender_id, None)
        replays = tracker.__dict__.get(REPLAYS)
        if replays:
            self.entries[tracker.sender_id] = (saved, len(tracker.events), replays)
            while len(self.entries) > KEPT_CONVERSATIONS:
                self.entries.popitem(last=False)

    def take(self, sender_id: str) -> Entry | None:
        """The entry for `sender_id`, removed: the first tracker handed out takes it over."""
        return self.entries.pop(sender_id, None)

    def forget(self, sender_id: str) -> None:
        self.entries.pop(sender_id, None)


def carry_over(entry: Entry | None, read: object, tracker: Any) -> None:
    """Gives `tracker`, read back as `read`, the replays kept with exactly that."""
    if (
        tracker is not None
        and entry is not None
        and entry[0] == read  # exactly what was saved with them
        and entry[1] == len(tracker.events)  # all of it (not just the last session)
    ):
        applied = tracker.applied_events()
        tracker.__dict__[REPLAYS] = {
            key: replay for key, replay in entry[2].items() if replay.take_over(applied)
        }


def install() -> None:
    """Nothing to replace: the tracker stores keep replays once this fast path is installed."""
