"""assistant.fastpaths.dialogue_states: the states kept per tracker are Rasa's, for every history
of the assistant's stories and every setting, with rewinds and restarts."""

from __future__ import annotations

import random

from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker

from assistant.fastpaths import dialogue_states
from tests.assistant.fastpaths.histories import SETTINGS, live_events


def _tracker(domain: Domain, events: list) -> DialogueStateTracker:
    return DialogueStateTracker.from_events("t", events, domain.slots)


def test_remembered_states_are_rasas_for_every_history_and_setting(
    domain, sample_events, monkeypatch
):
    rasa_states = Domain.states_for_tracker_history
    monkeypatch.setattr(Domain, "states_for_tracker_history", rasa_states)  # restored after
    dialogue_states.install()
    settings = [*SETTINGS, {"omit_unset_slots": True}]
    events = sample_events
    for n in range(1, len(events) + 1):
        tracker = _tracker(domain, events[:n])
        for kwargs in settings * 2:  # the second round comes from the cache
            expected = rasa_states(domain, _tracker(domain, events[:n]), **kwargs)
            assert domain.states_for_tracker_history(tracker, **kwargs) == expected


def test_remembered_states_follow_new_events_and_edits_of_a_copy(
    domain, sample_events, monkeypatch
):
    rasa_states = Domain.states_for_tracker_history
    monkeypatch.setattr(Domain, "states_for_tracker_history", rasa_states)
    dialogue_states.install()
    events = sample_events
    tracker = _tracker(domain, events[:-1])
    first = domain.states_for_tracker_history(tracker)
    first[-1].clear()  # a caller edits its copy (as the featurizers do with the last state)
    first[-2]["prev_action"]["action_name"] = "edited"
    assert domain.states_for_tracker_history(tracker) == rasa_states(domain, tracker)
    tracker.update(events[-1])  # a new event: the states are worked out again
    assert domain.states_for_tracker_history(tracker) == rasa_states(
        domain, _tracker(domain, events)
    )


def test_states_replayed_event_by_event_are_rasas(domain, story_histories, monkeypatch):
    """Each story's events fed to one tracker, as a conversation grows, one or several between
    two looks: each time the states equal Rasa's full replay, in every setting the policies
    use, also after rewinds and restarts."""
    rasa_states = Domain.states_for_tracker_history
    monkeypatch.setattr(Domain, "states_for_tracker_history", rasa_states)
    dialogue_states.install()
    rng = random.Random(2026)
    assert len(story_histories) > 20
    compared = 0
    for events in story_histories[:60]:
        live = live_events(events, rng)
        tracker = DialogueStateTracker("t", domain.slots)
        for n, event in enumerate(live):
            tracker.update(event)
            if rng.random() < 0.4 and n + 1 < len(live):
                continue  # several events between two predictions, as in a turn
            fresh = DialogueStateTracker.from_events("t", list(tracker.events), domain.slots)
            for kwargs in SETTINGS:
                got = domain.states_for_tracker_history(tracker, **kwargs)
                assert got == rasa_states(domain, fresh, **kwargs)
                compared += 1
    assert compared > 300
