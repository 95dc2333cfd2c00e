"""assistant.fastpaths.action_check: the compiled action-response check accepts and rejects what
Rasa's does."""

from __future__ import annotations

import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction

from assistant.fastpaths import action_check

VALID = {
    "events": [
        {"event": "slot", "name": "verified_phone", "value": "13800138000"},
        {"event": "followup", "name": "action_listen"},
    ],
    "responses": [{"text": "您的余额是 58.30 元。", "buttons": []}],
}
INVALID = [
    {"events": "not a list"},
    {"events": [{"event": "slot", "name": 3}]},
    {"responses": "text"},
]
# Valid and invalid events of many shapes, one at a time, for the per-name check.
EVENTS = [
    {"event": "slot", "name": "month", "value": "2026-10"},
    {"event": "slot", "name": "month", "value": None, "timestamp": 1.5},
    {"event": "slot", "name": 3},
    {"event": "slot"},
    {"event": "followup", "name": "action_listen"},
    {"event": "followup", "name": None},
    {"event": "bot", "text": "您好", "data": {}, "metadata": {}},
    {"event": "bot", "text": 5},
    {"event": "active_loop", "name": "verify_form"},
    {"event": "active_loop", "name": None},
    {"event": "reset_slots"},
    {"event": "restart", "timestamp": "noon"},
    {"event": "user", "text": "查余额", "parse_data": {"intent": {"name": "x", "confidence": 1}}},
    {"event": "user", "parse_data": {"entities": [{"entity": "month"}]}},
    {"event": "reminder", "intent": "remind", "date_time": "2026-11-23T12:00:00"},
    {"event": "no_such_event"},
    {"event": 7},
    {"name": "no event key"},
    "not an object",
]


@pytest.fixture
def compiled(monkeypatch):
    monkeypatch.setattr(
        RemoteAction, "_validate_action_result", RemoteAction._validate_action_result
    )
    action_check.install()
    return RemoteAction("action_answer_balance", None)


def test_a_valid_response_passes(compiled):
    assert compiled._validate_action_result(VALID) is True


@pytest.mark.parametrize("result", INVALID)
def test_an_invalid_response_raises_rasas_own_error(compiled, result):
    with pytest.raises(ValidationError, match="Failed to validate Action server response"):
        compiled._validate_action_result(result)


@pytest.mark.parametrize("result", [VALID, *INVALID])
def test_agrees_with_rasas_check(compiled, result):
    from jsonschema import validate

    try:
        validate(result, RemoteAction.action_response_format_spec())
        rasa_says = True
    except ValidationError:
        rasa_says = False
    try:
        ours = compiled._validate_action_result(result)
    except ValidationError:
        ours = False
    assert ours == rasa_says


@pytest.mark.parametrize("event", EVENTS)
def test_the_per_name_event_check_agrees_with_the_general_validator(event):
    from jsonschema import validators

    schema = RemoteAction.action_response_format_spec()
    general = validators.validator_for(schema)(schema)
    ours = action_check.action_response_check(schema)
    for result in ({"events": [event]}, {"events": [VALID["events"][0], event], "responses": []}):
        assert ours(result) == general.is_valid(result), result


def test_the_schema_still_fixes_each_event_shapes_name():
    """If a Rasa upgrade changed this, the check would quietly fall back to the slow path."""
    item = RemoteAction.action_response_format_spec()["properties"]["events"]["items"]
    names = [shape["properties"]["event"]["const"] for shape in item["oneOf"]]
    assert len(names) == len(set(names)) >= 20
