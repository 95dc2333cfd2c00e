"""Conversation repair (issue 19): every conversation of eval/repair/conversations.yml ends
right over the REST webhook — digressions, corrections, several requests at once, cancellation,
switching, context that carries, faults vs complaints and spoken numbers, in every flow, typed,
Traditional and spoken. `python -m bench.repair` prints the same conversations' shares."""

from __future__ import annotations

import pytest

from bench.repair import PATTERNS, load, play

pytestmark = pytest.mark.slow

CONVERSATIONS = load()


def test_the_set_covers_every_pattern_in_every_flow():
    assert len(CONVERSATIONS) >= 60
    assert {c.pattern for c in CONVERSATIONS} == set(PATTERNS)
    flows = {
        "balance",
        "data",
        "plan_change",
        "roaming",
        "password",
        "complaint",
        "fault",
        "handoff",
    }
    assert {c.flow for c in CONVERSATIONS} == flows
    assert {c.voice for c in CONVERSATIONS} == {"simplified", "traditional", "speech"}


@pytest.mark.parametrize("conversation", CONVERSATIONS, ids=[c.name for c in CONVERSATIONS])
def test_repair_conversation(conversation, assistant):
    rasa = assistant["rasa"]
    failure = play(conversation, rasa.url, rasa.token)
    assert failure is None, failure
