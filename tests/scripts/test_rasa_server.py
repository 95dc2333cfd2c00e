"""scripts.rasa_server: the compiled action-response check accepts and rejects what Rasa's does."""

from __future__ import annotations

import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction

from scripts import rasa_server
from telecom.secrets import InsecureSecret

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


@pytest.fixture
def cached_events(monkeypatch):
    from rasa.shared.core.events import Event

    monkeypatch.setattr(Event, "resolve_by_type", Event.resolve_by_type)
    rasa_server.install_event_type_cache()
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


def test_the_loaded_model_is_frozen_out_of_the_garbage_collector(monkeypatch):
    import asyncio
    import gc

    import rasa.core.run

    loaded = object()

    async def rasa_load(*args, **kwargs):
        return loaded

    monkeypatch.setattr(rasa.core.run, "load_agent_on_start", rasa_load)
    rasa_server.install_freeze_after_model_load()
    try:
        assert asyncio.run(rasa.core.run.load_agent_on_start("model", None)) is loaded
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


@pytest.mark.parametrize("event", EVENTS)
def test_the_per_name_event_check_agrees_with_the_general_validator(event):
    from jsonschema import validators

    schema = RemoteAction.action_response_format_spec()
    general = validators.validator_for(schema)(schema)
    ours = rasa_server.action_response_check(schema)
    for result in ({"events": [event]}, {"events": [VALID["events"][0], event], "responses": []}):
        assert ours(result) == general.is_valid(result), result


def test_the_schema_still_fixes_each_event_shapes_name():
    """If a Rasa upgrade changed this, the check would quietly fall back to the slow path."""
    item = RemoteAction.action_response_format_spec()["properties"]["events"]["items"]
    names = [shape["properties"]["event"]["const"] for shape in item["oneOf"]]
    assert len(names) == len(set(names)) >= 20


# ---- the HTTP API only with a token; loopback by default ----

TOKEN = "a-good-rasa-token-0123456789abcdefghijkl"
RUN = ["run", "--enable-api", "--model", "models/assistant.tar.gz"]


@pytest.fixture
def rasa_defaults(monkeypatch):
    import rasa.core.constants

    monkeypatch.setattr(rasa.core.constants, "DEFAULT_SERVER_INTERFACE", "0.0.0.0")


def _parsed(argv):
    from rasa.__main__ import create_argument_parser

    return create_argument_parser().parse_known_args(argv)[0]


def test_the_api_token_comes_from_the_environment(rasa_defaults):
    argv = rasa_server.secure_defaults(RUN, {"ASSISTANT_RASA_TOKEN": TOKEN})
    assert argv == [*RUN, "--auth-token", TOKEN]
    args = _parsed(argv)
    assert args.auth_token == TOKEN and args.interface == "127.0.0.1"


def test_an_explicit_interface_and_token_are_kept(rasa_defaults):
    argv = [*RUN, "--interface", "10.0.0.5", "--auth-token", TOKEN]
    assert rasa_server.secure_defaults(argv, {}) == argv
    assert _parsed(argv).interface == "10.0.0.5"


@pytest.mark.parametrize("token", [None, "", "short", "demo-token-0123456789abcdefghijklmnop"])
def test_the_api_does_not_start_open_or_with_a_weak_token(rasa_defaults, token):
    env = {} if token is None else {"ASSISTANT_RASA_TOKEN": token}
    with pytest.raises(InsecureSecret, match="ASSISTANT_RASA_TOKEN"):
        rasa_server.secure_defaults(RUN, env)


def test_demo_mode_accepts_a_weak_token_but_never_none(rasa_defaults, capsys):
    demo = {"ASSISTANT_DEMO_MODE": "true"}
    argv = rasa_server.secure_defaults(RUN, {**demo, "ASSISTANT_RASA_TOKEN": "short"})
    assert argv[-2:] == ["--auth-token", "short"]
    assert "demo mode" in capsys.readouterr().err
    with pytest.raises(InsecureSecret):
        rasa_server.secure_defaults(RUN, demo)


def test_without_the_api_nothing_is_needed(rasa_defaults):
    argv = ["run", "--model", "models/assistant.tar.gz"]
    assert rasa_server.secure_defaults(argv, {}) == argv
    assert rasa_server.secure_defaults(["run", "actions"], {}) == ["run", "actions"]
