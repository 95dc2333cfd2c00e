"""scripts.rasa_server: the compiled action-response check accepts and rejects what Rasa's does."""

from __future__ import annotations

import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction

from scripts import rasa_server

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


@pytest.fixture
def compiled(monkeypatch):
    monkeypatch.setattr(
        RemoteAction, "_validate_action_result", RemoteAction._validate_action_result
    )
    rasa_server.install_compiled_action_check()
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
