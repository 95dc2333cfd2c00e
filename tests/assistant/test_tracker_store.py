"""assistant.tracker_store: idle conversations are dropped, with the replays kept for them."""

from __future__ import annotations

import asyncio

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from assistant import fastpaths
from assistant.fastpaths import dialogue_states
from assistant.tracker_store import (
    DEFAULT_RETENTION_S,
    IdleExpiringTrackerStore,
    retention_from_env,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def rasa_states(monkeypatch):
    """Rasa's own states (restored after the test); the kept states installed."""
    monkeypatch.setattr(Domain, "states_for_tracker_history", Domain.states_for_tracker_history)
    rasa_states = Domain.states_for_tracker_history
    dialogue_states.install()
    return rasa_states


def _turn(domain: Domain, sender: str, text: str) -> DialogueStateTracker:
    return DialogueStateTracker.from_events(
        sender,
        [ActionExecuted("action_listen"), UserUttered(text, {"name": "greet", "confidence": 1})],
        domain.slots,
    )


def test_retention_setting():
    assert retention_from_env({}) == DEFAULT_RETENTION_S == 24 * 3600
    assert retention_from_env({"ASSISTANT_TRACKER_RETENTION_S": "90"}) == 90
    for bad in ("0", "-5", "soon", "inf", "nan"):
        with pytest.raises(ValueError, match="ASSISTANT_TRACKER_RETENTION_S"):
            retention_from_env({"ASSISTANT_TRACKER_RETENTION_S": bad})


def test_a_conversation_idle_past_the_retention_is_dropped(domain):
    clock = Clock()
    store = IdleExpiringTrackerStore(domain, retention_s=60, clock=clock)

    async def run() -> list:
        await store.save(_turn(domain, "old", "我的身份证号是110105198806151238"))
        clock.now += 30
        await store.save(_turn(domain, "recent", "你好"))
        seen = [sorted(await store.keys())]
        clock.now += 31  # "old" idle for 61 s, "recent" for 31 s
        seen.append(await store.retrieve("old"))
        seen.append(sorted(await store.keys()))
        seen.append((await store.retrieve("recent")).sender_id)
        return seen

    assert asyncio.run(run()) == [["old", "recent"], None, ["recent"], "recent"]
    assert "110105198806151238" not in str(store.store)


def test_saving_again_keeps_a_conversation(domain):
    clock = Clock()
    store = IdleExpiringTrackerStore(domain, retention_s=60, clock=clock)

    async def run() -> bool:
        for _ in range(5):
            await store.save(_turn(domain, "a", "你好"))
            clock.now += 50
        return await store.retrieve("a") is not None

    assert asyncio.run(run())


def test_the_retention_comes_from_the_environment(domain, monkeypatch):
    monkeypatch.setenv("ASSISTANT_TRACKER_RETENTION_S", "120")
    assert IdleExpiringTrackerStore(domain).retention_s == 120


def test_kept_replays_go_on_and_are_dropped_with_their_conversation(domain, rasa_states):
    """A conversation carries its replay from one turn to the next — and loses it when it
    expires."""
    clock = Clock()
    store = IdleExpiringTrackerStore(domain, retention_s=60, clock=clock, keep_replays=True)

    async def run() -> list[bool]:
        carried = []
        for n in range(3):
            tracker = await store.get_or_create_tracker("a", append_action_listen=False)
            carried.append(bool(tracker.__dict__.get(dialogue_states.REPLAYS)))
            tracker.update(ActionExecuted("action_listen"))
            tracker.update(UserUttered(f"第{n}句", {"name": "greet", "confidence": 1}))
            fresh = DialogueStateTracker.from_events("a", list(tracker.events), domain.slots)
            assert domain.states_for_tracker_history(tracker) == rasa_states(domain, fresh)
            await store.save(tracker)
        clock.now += 61
        await store.save(_turn(domain, "b", "你好"))  # any activity drops what expired
        carried.append("a" in store.replays.entries)
        return carried

    assert asyncio.run(run()) == [False, True, True, False]
    assert list(store.store) == ["b"]


def test_replays_are_kept_only_once_their_fast_path_is_installed(domain, monkeypatch):
    monkeypatch.setattr(fastpaths, "_installed", [])
    assert IdleExpiringTrackerStore(domain).replays is None
    monkeypatch.setattr(fastpaths, "_installed", ["dialogue_states", "kept_replays"])
    assert IdleExpiringTrackerStore(domain).replays is not None
    assert IdleExpiringTrackerStore(domain, keep_replays=False).replays is None
