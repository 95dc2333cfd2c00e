"""assistant.fastpaths.kept_replays: replays carried from one turn to the next by the tracker
store give Rasa's states, and are carried only over exactly the text saved with them."""

from __future__ import annotations

import asyncio
import random

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker

from assistant.fastpaths import dialogue_states, kept_replays
from assistant.tracker_store import IdleExpiringTrackerStore
from tests.assistant.fastpaths.histories import SETTINGS, live_events


@pytest.fixture
def rasa_states(monkeypatch):
    """Rasa's own states (restored after the test); the kept states installed."""
    monkeypatch.setattr(Domain, "states_for_tracker_history", Domain.states_for_tracker_history)
    rasa_states = Domain.states_for_tracker_history
    dialogue_states.install()
    return rasa_states


def _store(domain: Domain) -> IdleExpiringTrackerStore:
    return IdleExpiringTrackerStore(domain, retention_s=3600, keep_replays=True)


def _carried(tracker: DialogueStateTracker) -> bool:
    return bool(tracker.__dict__.get(dialogue_states.REPLAYS))


def test_replays_kept_across_turns_give_rasas_states(domain, story_histories, rasa_states):
    """Conversations played turn by turn through a real in-memory store (each turn: the tracker
    read back from the saved text, a few events, predictions, saved): the states carried over
    equal Rasa's full replay of the tracker Rasa's store gives back, after rewinds, restarts
    and a new session too."""
    store = _store(domain)
    rng = random.Random(7)
    new_session = [ActionExecuted("action_session_start"), SessionStarted()]
    counts = {"turns": 0, "carried": 0, "compared": 0}

    async def play(sender: str, live: list) -> None:
        n = 0
        while n < len(live):
            tracker = await store.get_or_create_tracker(sender, append_action_listen=False)
            counts["turns"] += 1
            counts["carried"] += _carried(tracker)
            turn = live[n : n + rng.randint(1, 6)]
            n += len(turn)
            for event in turn:
                tracker.update(event)
            fresh = DialogueStateTracker.from_events(sender, list(tracker.events), domain.slots)
            for kwargs in SETTINGS:
                got = domain.states_for_tracker_history(tracker, **kwargs)
                assert got == rasa_states(domain, fresh, **kwargs)
                counts["compared"] += 1
            await store.save(tracker)

    for number, events in enumerate(story_histories[:60]):
        live = live_events(events, rng)
        if number % 10 == 0:
            live[len(live) // 2 : len(live) // 2] = new_session
        asyncio.run(play(f"c{number}", live))
    assert counts["compared"] > 300
    assert counts["carried"] > counts["turns"] // 2  # most turns went on from the kept replay


def test_replays_are_not_carried_over_a_text_saved_without_them(domain, rasa_states):
    store = _store(domain)

    async def run() -> list[bool]:
        tracker = await store.get_or_create_tracker("a", append_action_listen=False)
        tracker.update(ActionExecuted("action_listen"))
        domain.states_for_tracker_history(tracker)
        await store.save(tracker)
        carried = [_carried(await store.retrieve("a"))]  # the first reader takes them over
        carried.append(_carried(await store.retrieve("a")))  # nothing left for a second one
        await store.save(tracker)
        await store.save(DialogueStateTracker.from_events("a", [], domain.slots))
        carried.append(_carried(await store.retrieve("a")))  # saved since without replays
        await store.save(tracker)
        store.store["a"] = store.serialise_tracker(tracker)  # written since, not by `save`
        carried.append(_carried(await store.retrieve("a")))
        return carried

    assert asyncio.run(run()) == [True, False, False, False]


def test_only_the_most_recent_conversations_keep_their_replays(domain, rasa_states, monkeypatch):
    monkeypatch.setattr(kept_replays, "KEPT_CONVERSATIONS", 2)
    store = _store(domain)

    async def run() -> list[bool]:
        for sender in "abc":
            tracker = DialogueStateTracker.from_events(
                sender, [ActionExecuted("action_listen")], domain.slots
            )
            domain.states_for_tracker_history(tracker)
            await store.save(tracker)
        return [_carried(await store.retrieve(sender)) for sender in "abc"]

    assert asyncio.run(run()) == [False, True, True]
