"""assistant.fastpaths.rule_index: the rules looked up by the last action are the ones Rasa's rule
policy finds, on the trained policy and the assistant's stories."""

from __future__ import annotations

import json
import random

import pytest
from rasa.core.policies.rule_policy import RULES, RULES_FOR_LOOP_UNHAPPY_PATH, RulePolicy
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker

from assistant.fastpaths import rule_index
from tests.assistant.fastpaths.histories import live_events


@pytest.fixture(scope="session")
def rule_policy(agent) -> tuple[RulePolicy, Domain]:
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
    rule_index.install()
    rng = random.Random(11)
    histories = [live_events(events, rng) for events in story_histories]
    histories += [
        [e for events in rng.sample(story_histories, 6) for e in live_events(events, rng)]
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
    # enough lookups compared, and enough of them finding rules, for the comparison to mean
    # something (conversation repair needs no rule per digression: fewer rules than before)
    assert compared > 3000 and found > 500


def test_rules_without_a_last_action_are_always_candidates(
    rule_policy, story_histories, monkeypatch
):
    """Rules whose last state names no previous action (a conversation start, an action that
    must not have run, a bot text instead of an action name, an empty name that any action
    matches) are found as Rasa finds them."""
    from rasa.core.policies.rule_policy import SHOULD_NOT_BE_SET

    policy, domain = rule_policy
    rasa_keys = RulePolicy._get_possible_keys
    monkeypatch.setattr(RulePolicy, "_get_possible_keys", rasa_keys)
    rule_index.install()
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
