"""scripts.dialogue_fastpaths: the kept states, the kept replays and the rule lookup give Rasa's
own answers on dialogue histories of the assistant's domain, with rewinds and restarts."""

from __future__ import annotations

import asyncio
import random

import pytest
from rasa.core.agent import Agent
from rasa.core.policies.rule_policy import RULES, RULES_FOR_LOOP_UNHAPPY_PATH, RulePolicy
from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActionReverted,
    Restarted,
    SessionStarted,
    UserUtteranceReverted,
)
from rasa.shared.core.trackers import DialogueStateTracker

from scripts import dialogue_fastpaths
from scripts.paths import MODEL
from scripts.train import train

RULE_ONLY = {"slots": ["requested_slot"], "loops": ["verification_form"]}
SETTINGS = [{}, {"ignore_rule_only_turns": True, "rule_only_data": RULE_ONLY}]


def _tracker(domain: Domain, events: list) -> DialogueStateTracker:
    return DialogueStateTracker.from_events("t", events, domain.slots)


def test_remembered_states_are_rasas_for_every_history_and_setting(
    domain, sample_events, monkeypatch
):
    rasa_states = Domain.states_for_tracker_history
    monkeypatch.setattr(Domain, "states_for_tracker_history", rasa_states)  # restored after
    dialogue_fastpaths.install_states_cache()
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
    dialogue_fastpaths.install_states_cache()
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


def _live_events(events: list, rng) -> list:
    """A live conversation's events: some turns hidden by rules, and now and then a rewind."""
    out = []
    for event in events:
        if isinstance(event, ActionExecuted):
            event = ActionExecuted(
                event.action_name,
                event.policy,
                event.confidence,
                action_text=event.action_text,
                hide_rule_turn=rng.random() < 0.3,
            )
        out.append(event)
        roll = rng.random()
        if roll < 0.02:
            out.append(UserUtteranceReverted())
        elif roll < 0.03:
            out.append(ActionReverted())
        elif roll < 0.035:
            out.append(Restarted())
    return out


def test_states_replayed_event_by_event_are_rasas(domain, story_histories, monkeypatch):
    """Each story's events fed to one tracker, as a conversation grows, one or several between
    two looks: each time the states equal Rasa's full replay, in every setting the policies
    use, also after rewinds and restarts."""
    rasa_states = Domain.states_for_tracker_history
    monkeypatch.setattr(Domain, "states_for_tracker_history", rasa_states)
    dialogue_fastpaths.install_states_cache()
    rng = random.Random(2026)
    assert len(story_histories) > 20
    compared = 0
    for events in story_histories[:60]:
        live = _live_events(events, rng)
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


# ---- replays kept by the in-memory tracker store between turns ----


@pytest.fixture
def kept_replays(monkeypatch):
    """Rasa's states and store methods restored after the test; the fast paths installed."""
    monkeypatch.setattr(Domain, "states_for_tracker_history", Domain.states_for_tracker_history)
    monkeypatch.setattr(InMemoryTrackerStore, "save", InMemoryTrackerStore.save)
    monkeypatch.setattr(InMemoryTrackerStore, "_retrieve", InMemoryTrackerStore._retrieve)
    rasa_states = Domain.states_for_tracker_history
    dialogue_fastpaths.install_states_cache()
    dialogue_fastpaths.install_kept_replays()
    return rasa_states


def _carried(tracker: DialogueStateTracker) -> bool:
    return bool(tracker.__dict__.get(dialogue_fastpaths._REPLAYS))


def test_replays_kept_across_turns_give_rasas_states(domain, story_histories, kept_replays):
    """Conversations played turn by turn through a real in-memory store (each turn: the tracker
    read back from the saved text, a few events, predictions, saved): the states carried over
    equal Rasa's full replay of the tracker Rasa's store gives back, after rewinds, restarts
    and a new session too."""
    rasa_states = kept_replays
    store = InMemoryTrackerStore(domain)
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
        live = _live_events(events, rng)
        if number % 10 == 0:
            live[len(live) // 2 : len(live) // 2] = new_session
        asyncio.run(play(f"c{number}", live))
    assert counts["compared"] > 300
    assert counts["carried"] > counts["turns"] // 2  # most turns went on from the kept replay


def test_replays_are_not_carried_over_a_text_saved_without_them(domain, kept_replays):
    store = InMemoryTrackerStore(domain)

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


def test_only_the_most_recent_conversations_keep_their_replays(domain, kept_replays, monkeypatch):
    monkeypatch.setattr(dialogue_fastpaths, "KEPT_CONVERSATIONS", 2)
    store = InMemoryTrackerStore(domain)

    async def run() -> list[bool]:
        for sender in "abc":
            tracker = DialogueStateTracker.from_events(
                sender, [ActionExecuted("action_listen")], domain.slots
            )
            domain.states_for_tracker_history(tracker)
            await store.save(tracker)
        return [_carried(await store.retrieve(sender)) for sender in "abc"]

    assert asyncio.run(run()) == [False, True, True]


# ---- the rule lookup, on the trained rule policy ----


@pytest.fixture(scope="module")
def rule_policy() -> tuple[RulePolicy, Domain]:
    train()  # a no-op when the model is current
    agent = Agent.load(str(MODEL))
    nodes = agent.processor.graph_runner._instantiated_nodes.values()
    policy = next(n._component for n in nodes if isinstance(n._component, RulePolicy))
    return policy, agent.domain


def test_rules_looked_up_by_the_last_action_are_rasas(rule_policy, story_histories, monkeypatch):
    """Every prefix of the stories, and of long conversations made of several stories with
    rewinds: the rules found (general ones and a form's unhappy paths, with the text and with
    the intent of the last message) are the ones Rasa's lookup finds."""
    policy, domain = rule_policy
    rasa_keys = RulePolicy._get_possible_keys
    monkeypatch.setattr(RulePolicy, "_get_possible_keys", rasa_keys)
    dialogue_fastpaths.install_rule_index()
    rng = random.Random(11)
    histories = [_live_events(events, rng) for events in story_histories]
    histories += [
        [e for events in rng.sample(story_histories, 6) for e in _live_events(events, rng)]
        for _ in range(8)
    ]
    rule_only = policy._get_rule_only_data()
    compared = found = 0
    for events in histories:
        for n in range(1, len(events) + 1):
            tracker = DialogueStateTracker.from_events("t", events[:n], domain.slots)
            for use_text in (True, False):
                states = policy._prediction_states(tracker, domain, use_text, rule_only)
                for table in (RULES, RULES_FOR_LOOP_UNHAPPY_PATH):
                    lookup = policy.lookup[table]
                    got = policy._get_possible_keys(lookup, states)
                    assert got == rasa_keys(policy, lookup, states)
                    compared += 1
                    found += bool(got)
    assert compared > 3000 and found > 1000


def test_rules_without_a_last_action_are_always_candidates(
    rule_policy, story_histories, monkeypatch
):
    """Rules whose last state names no previous action (a conversation start, an action that
    must not have run, a bot text instead of an action name, an empty name that any action
    matches) are found as Rasa finds them."""
    import json

    from rasa.core.policies.rule_policy import SHOULD_NOT_BE_SET

    policy, domain = rule_policy
    rasa_keys = RulePolicy._get_possible_keys
    monkeypatch.setattr(RulePolicy, "_get_possible_keys", rasa_keys)
    dialogue_fastpaths.install_rule_index()
    rules = [
        [{"user": {"intent": "greet"}}],
        [{"prev_action": {"action_name": SHOULD_NOT_BE_SET}, "user": {"intent": "greet"}}],
        [{"prev_action": {"action_text": "您好"}}],
        [{"prev_action": {"action_name": ""}, "user": {"intent": "greet"}}],  # any action
        [
            {"prev_action": {"action_name": "action_listen"}, "user": {"intent": "greet"}},
            {"prev_action": {"action_name": "utter_greet"}},
        ],
        [{}, {"user": {"intent": "query_balance"}}],
    ]
    lookup = {json.dumps(rule): "action_x" for rule in rules}
    found = 0
    for events in story_histories[:40]:
        for n in range(1, len(events) + 1):
            tracker = DialogueStateTracker.from_events("t", events[:n], domain.slots)
            states = policy._prediction_states(tracker, domain, False)
            for tail in (states, states[-1:], [{}]):
                got = policy._get_possible_keys(lookup, tail)
                assert got == rasa_keys(policy, lookup, tail)
                found += len(got)
    assert found > 20
