"""Dialogue replays kept across turns (fast path `kept_replays`).

The in-memory tracker store hands out a new tracker each turn, rebuilt from the text it saved, so
each turn replayed the whole conversation into states again (`dialogue_states` keeps a replay
only per tracker). When the store gives back exactly the text it saved with a tracker's replays
(the same string, nothing saved in between), the new tracker takes those replays over: its
events are that text read back, one for one. Only the most recent conversations keep theirs
(`KEPT_CONVERSATIONS`).

Nothing of Rasa's is replaced for this: the tracker store named in endpoints.yml
(`assistant.tracker_store.IdleExpiringTrackerStore`, Rasa's extension point) keeps the replays
in a `KeptReplays` once this fast path is installed. It relies on the store's saved text
(`InMemoryTrackerStore.store`) and on `dialogue_states`, without which there is nothing to keep.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from assistant.fastpaths.dialogue_states import REPLAYS, StatesReplay

# The conversations whose replays are kept between turns, most recent first: a conversation in
# progress comes back within minutes; older ones start over (correct, only slower) and their
# memory is freed.
KEPT_CONVERSATIONS = 2000


class KeptReplays:
    """The replays of the trackers a store saved, by conversation, with the text saved."""

    def __init__(self) -> None:
        self.entries: OrderedDict[str, tuple[str, int, dict[Any, StatesReplay]]] = OrderedDict()

    def keep(self, tracker: Any, text: str) -> None:
        """After `tracker` was saved as `text`: its replays, if any, are kept with that text."""
        self.entries.pop(tracker.sender_id, None)
        replays = tracker.__dict__.get(REPLAYS)
        if replays:
            self.entries[tracker.sender_id] = (text, len(tracker.events), replays)
            while len(self.entries) > KEPT_CONVERSATIONS:
                self.entries.popitem(last=False)

    def take(self, sender_id: str) -> tuple[str, int, dict[Any, StatesReplay]] | None:
        """The entry for `sender_id`, removed: the first tracker handed out takes it over."""
        return self.entries.pop(sender_id, None)

    def forget(self, sender_id: str) -> None:
        self.entries.pop(sender_id, None)


def carry_over(
    entry: tuple[str, int, dict[Any, StatesReplay]] | None, text: Any, tracker: Any
) -> None:
    """Gives `tracker`, read back from `text`, the replays kept with exactly that text."""
    if (
        tracker is not None
        and entry is not None
        and entry[0] is text  # exactly the text saved with them
        and entry[1] == len(tracker.events)  # all of it (not just the last session)
    ):
        applied = tracker.applied_events()
        tracker.__dict__[REPLAYS] = {
            key: replay for key, replay in entry[2].items() if replay.take_over(applied)
        }


def install() -> None:
    """Nothing to replace: the tracker store keeps replays once this fast path is installed."""
