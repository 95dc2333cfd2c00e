"""The action-server response check, compiled once (fast path `action_check`).

Rasa 3.6 checks every action-server response with `jsonschema.validate(result, schema)`, and that
call first re-validates the schema itself against the JSON-Schema metaschema — on every custom
action, a few times per turn. Profiling a REST turn showed that re-check as the largest single
cost of the turn. Here the validator for the same schema is built once; each event is checked
against the one event shape its name selects instead of all 23 (`action_response_check`). A
response that fails still goes through Rasa's own check, so the error and its message are Rasa's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def action_response_check(schema: dict[str, Any]) -> Callable[[Any], bool]:
    """`is_valid` for Rasa's action-response schema, with the same answers, built once.

    The schema says each event is exactly one of 23 event shapes (`oneOf`), and each shape fixes
    the event's name (`"event": {"const": ...}`). A general validator tries all 23 for every
    event; here an event is checked only against the shapes carrying its name, which gives the
    same answer because every other shape rejects that name. Anything unusual (an event without
    a known name, a shape without a fixed name) goes to the general validator."""
    from jsonschema import validators

    validator_class = validators.validator_for(schema)
    validator_class.check_schema(schema)
    whole = validator_class(schema)
    item = schema["properties"]["events"]["items"]
    shapes: dict[str, list[dict[str, Any]]] = {}
    for shape in item["oneOf"]:
        name = shape.get("properties", {}).get("event", {}).get("const")
        if not isinstance(name, str):
            return whole.is_valid
        shapes.setdefault(name, []).append(shape)
    by_name = {name: validator_class({**item, "oneOf": group}) for name, group in shapes.items()}
    events_as_list = {**schema["properties"], "events": {"type": "array"}}
    rest = validator_class({**schema, "properties": events_as_list})

    def is_valid(result: Any) -> bool:
        if not rest.is_valid(result):
            return False
        for event in result.get("events") or []:
            name = event.get("event") if isinstance(event, dict) else None
            validator = by_name.get(name) if isinstance(name, str) else None
            if validator is None:
                return whole.is_valid(result)
            if not validator.is_valid(event):
                return False
        return True

    return is_valid


def install() -> None:
    from rasa.core.actions.action import RemoteAction

    is_valid = action_response_check(RemoteAction.action_response_format_spec())
    rasa_check = RemoteAction._validate_action_result

    def validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
        if is_valid(result):
            return True
        return rasa_check(self, result)  # raises Rasa's ValidationError with Rasa's message

    RemoteAction._validate_action_result = validate_action_result  # type: ignore[method-assign]
