"""assistant.fastpaths.event_types: event names resolve to Rasa's classes, with Rasa's default and
error for unknown names."""

from __future__ import annotations

import pytest

from assistant.fastpaths import event_types


@pytest.fixture
def cached_events(monkeypatch):
    from rasa.shared.core.events import Event

    monkeypatch.setattr(Event, "resolve_by_type", Event.resolve_by_type)
    event_types.install()
    return Event


def test_event_names_resolve_to_rasas_classes(cached_events):
    from rasa.shared.core.events import ActionExecuted, SlotSet, UserUttered

    for _ in range(2):  # the second round comes from the cache
        assert cached_events.resolve_by_type("user") is UserUttered
        assert cached_events.resolve_by_type("slot") is SlotSet
        assert cached_events.resolve_by_type("action") is ActionExecuted


def test_an_unknown_event_name_keeps_rasas_default_and_error(cached_events):
    from rasa.shared.core.events import SlotSet

    assert cached_events.resolve_by_type("no_such_event", SlotSet) is SlotSet
    assert cached_events.resolve_by_type("topic") is None
    with pytest.raises(ValueError, match="Unknown event name"):
        cached_events.resolve_by_type("no_such_event")


def test_stored_events_load_the_same(cached_events):
    from rasa.shared.core.events import ActionExecuted, Event, SlotSet, UserUttered

    events = [
        UserUttered("查一下余额", {"name": "check_balance", "confidence": 0.97}),
        ActionExecuted("action_answer_balance"),
        SlotSet("verified_phone", "13800138000"),
    ]
    assert [Event.from_parameters(e.as_dict()) for e in events] == events
