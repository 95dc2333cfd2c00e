"""assistant.fastpaths.kept_replays: replays carried from one turn to the next by the tracker
stores (in memory; durable, on SQLite and PostgreSQL) give Rasa's states, and are carried only
over exactly what was saved with them — not after another instance wrote the conversation."""

from __future__ import annotations

import asyncio
import copy
import random
import time

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, SessionStarted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from assistant.fastpaths import dialogue_states, kept_replays
from assistant.tracker_store import DurableTrackerStore, IdleExpiringTrackerStore
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


@pytest.fixture
def durable(store_url, domain):
    """Durable stores (each one an assistant instance) on one database, SQLite or PostgreSQL."""
    made: list[DurableTrackerStore] = []

    def make() -> DurableTrackerStore:
        made.append(DurableTrackerStore(domain, url=store_url, retention_s=3600, keep_replays=True))
        return made[-1]

    yield make
    for store in made:
        store.engine.dispose()


def _carried(tracker: DialogueStateTracker) -> bool:
    return bool(tracker.__dict__.get(dialogue_states.REPLAYS))


def _now(event):
    """`event` as a live conversation adds it: made now (Rasa's SQL store reads a
    conversation's latest session by time)."""
    event = copy.copy(event)
    event.timestamp = time.time()
    return event


def test_replays_kept_across_turns_give_rasas_states(domain, story_histories, rasa_states):
    """Conversations played turn by turn through a real in-memory store (each turn: the tracker
    read back from the saved text, a few events, predictions, saved): the states carried over
    equal Rasa's full replay of the tracker Rasa's store gives back, after rewinds, restarts
    and a new session too."""
    _play_stories(_store(domain), domain, story_histories[:60], rasa_states)


def test_replays_kept_over_the_durable_store_give_rasas_states(
    durable, domain, story_histories, rasa_states
):
    """The same over the durable store: each turn's tracker is read back from the database."""
    _play_stories(durable(), domain, story_histories[:30], rasa_states)


def _play_stories(store, domain, histories, rasa_states) -> None:
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
                tracker.update(_now(event))
            fresh = DialogueStateTracker.from_events(sender, list(tracker.events), domain.slots)
            for kwargs in SETTINGS:
                got = domain.states_for_tracker_history(tracker, **kwargs)
                assert got == rasa_states(domain, fresh, **kwargs)
                counts["compared"] += 1
            await store.save(tracker)

    for number, events in enumerate(histories):
        live = live_events(events, rng)
        if number % 10 == 0:
            live[len(live) // 2 : len(live) // 2] = new_session
        asyncio.run(play(f"c{number}", live))
    assert counts["compared"] > 5 * len(histories)
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
        store.store["a"] = store.serialise_tracker(tracker)  # the same text, written again
        carried.append(_carried(await store.retrieve("a")))
        await store.save(tracker)
        other = DialogueStateTracker.from_events("a", list(tracker.events), domain.slots)
        other.update(ActionExecuted("action_listen"))
        store.store["a"] = store.serialise_tracker(other)  # written since, not by `save`
        carried.append(_carried(await store.retrieve("a")))
        return carried

    assert asyncio.run(run()) == [True, False, False, True, False]


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


def test_replays_are_not_carried_over_events_another_instance_wrote(durable, domain, rasa_states):
    """Two instances on one database: a conversation's replays are kept by the instance that
    saved them, and taken over only while the database holds exactly what it saved."""
    one, two = durable(), durable()

    def listen_and_say(tracker, text: str) -> None:
        tracker.update(ActionExecuted("action_listen"))
        tracker.update(UserUttered(text, {"name": "greet", "confidence": 1}))

    def states_are_rasas(tracker) -> bool:
        fresh = DialogueStateTracker.from_events("a", list(tracker.events), domain.slots)
        return all(
            domain.states_for_tracker_history(tracker, **kwargs)
            == rasa_states(domain, fresh, **kwargs)
            for kwargs in SETTINGS
        )

    async def turn(store, text: str) -> tuple[bool, bool]:
        tracker = await store.get_or_create_tracker("a", append_action_listen=False)
        carried = _carried(tracker)
        listen_and_say(tracker, text)
        same = states_are_rasas(tracker)
        await store.save(tracker)
        return carried, same

    async def run() -> list[tuple[bool, bool]]:
        played = [await turn(one, "你好"), await turn(one, "在吗")]  # the second one carried
        played.append(await turn(two, "查话费"))  # the other instance: nothing kept there
        played.append(await turn(one, "查流量"))  # one's replays are stale: not used
        played.append(await turn(one, "谢谢"))  # saved by one again: carried
        # purged and started again elsewhere with as many events: not carried either
        tracker = await one.retrieve("a")
        events = list(tracker.events)
        domain.states_for_tracker_history(tracker)
        await one.save(tracker)
        with one.engine.begin() as connection:
            connection.execute(one.SQLEvent.__table__.delete())
        await two.save(
            DialogueStateTracker.from_events("a", [_now(e) for e in events], domain.slots)
        )
        played.append(await turn(one, "再见"))
        return played

    assert asyncio.run(run()) == [
        (False, True),
        (True, True),
        (False, True),
        (False, True),
        (True, True),
        (False, True),
    ]
