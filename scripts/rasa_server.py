"""`rasa`, with the action-server response check compiled once.

Rasa 3.6 checks every action-server response with `jsonschema.validate(result, schema)`, and that
call first re-validates the schema itself against the JSON-Schema metaschema — on every custom
action, a few times per turn. Profiling a REST turn showed that re-check as the largest single
cost of the turn. This entry point builds the validator for the same schema once at start-up;
each event is checked against the one event shape its name selects instead of all 23
(`action_response_check`). A response that fails still goes through Rasa's own check, so the
error and its message are Rasa's.

The next cost was turning stored events back into objects: `Event.resolve_by_type` walks every
subclass of `Event` for each event of each tracker it loads. Here a name found once is
remembered (Rasa's event classes do not change while the server runs); a name not found still
goes through Rasa's lookup, with its default and its error.

Third, garbage collection: the loaded model is millions of Python objects (TensorFlow, spaCy,
the dialogue policies), and every full collection walked all of them while a customer waited.
Once the model is loaded, `gc.freeze()` moves those objects out of the collector's sight; what a
turn allocates is still collected as usual.

Fourth, `scripts.rasa_fastpaths`: the graph run without dask, the dialogue states kept per
conversation and rules looked up by the last action (`scripts.dialogue_fastpaths`), one kept
connection to the action server, no copies for debug logs that are dropped, DIET's TensorFlow
function called without re-checking its inputs and on one thread, and sparse features joined
without `bmat`.

Two defaults are safer than Rasa's (`secure_defaults`): the server binds 127.0.0.1 unless
`--interface` says otherwise, and `--enable-api` needs a token — `--auth-token`, or else
ASSISTANT_RASA_TOKEN from the environment (kept off the command line, which every local user
can read). A missing, short or published token refuses to start (telecom.secrets.check_secret;
ASSISTANT_DEMO_MODE accepts a short or published one, never none).

Everything else is Rasa's command line unchanged:

    .venv-bot/bin/python -m scripts.rasa_server run --enable-api --model models/assistant.tar.gz …
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from typing import Any

from telecom.secrets import InsecureSecret, check_secret, problem

LOOPBACK = "127.0.0.1"


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


def install_compiled_action_check() -> None:
    from rasa.core.actions.action import RemoteAction

    is_valid = action_response_check(RemoteAction.action_response_format_spec())
    rasa_check = RemoteAction._validate_action_result

    def validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
        if is_valid(result):
            return True
        return rasa_check(self, result)  # raises Rasa's ValidationError with Rasa's message

    RemoteAction._validate_action_result = validate_action_result  # type: ignore[method-assign]


def install_event_type_cache() -> None:
    from rasa.shared.core.events import Event

    rasa_resolve = Event.resolve_by_type
    known: dict[str, type[Event]] = {}

    def resolve_by_type(type_name: str, default: type[Event] | None = None) -> type[Event] | None:
        cls = known.get(type_name)
        if cls is None:
            cls = rasa_resolve(type_name, default)
            if cls is not None and cls is not default:
                known[type_name] = cls
        return cls

    Event.resolve_by_type = staticmethod(resolve_by_type)  # type: ignore[method-assign]


def freeze_loaded_model() -> None:
    """Moves everything alive now (the loaded model) out of the garbage collector's sight."""
    import gc

    gc.collect()
    gc.freeze()


def install_freeze_after_model_load() -> None:
    import rasa.core.run

    rasa_load = rasa.core.run.load_agent_on_start

    async def load_agent_on_start(*args: Any, **kwargs: Any) -> Any:
        agent = await rasa_load(*args, **kwargs)
        freeze_loaded_model()
        return agent

    rasa.core.run.load_agent_on_start = load_agent_on_start  # type: ignore[assignment]


def _demo_mode(env: Mapping[str, str]) -> bool:
    return env.get("ASSISTANT_DEMO_MODE", "").strip().lower() in {"1", "true", "yes", "on"}


def secure_defaults(argv: list[str], env: Mapping[str, str]) -> list[str]:
    """`argv` (Rasa's arguments) with the HTTP API's token added from ASSISTANT_RASA_TOKEN when
    `--enable-api` comes without `--auth-token`. Raises InsecureSecret when the API would be
    open or its token is bad. Arguments are read by Rasa's own parser."""
    import rasa.core.constants
    from rasa.__main__ import create_argument_parser

    rasa.core.constants.DEFAULT_SERVER_INTERFACE = LOOPBACK  # `--interface` still overrides
    args, _ = create_argument_parser().parse_known_args(argv)
    if not getattr(args, "enable_api", False):
        return argv
    given = getattr(args, "auth_token", None)
    token = given or env.get("ASSISTANT_RASA_TOKEN") or None
    check_secret("ASSISTANT_RASA_TOKEN", token, demo_mode=_demo_mode(env))
    if token is None:  # demo mode accepts a weak token, never an open API
        raise InsecureSecret("--enable-api needs ASSISTANT_RASA_TOKEN (or --auth-token)")
    reason = problem(token)
    if reason is not None:
        print(f"scripts.rasa_server: demo mode: ASSISTANT_RASA_TOKEN is {reason}", file=sys.stderr)
    return argv if given else [*argv, "--auth-token", token]


def main() -> None:
    from rasa.__main__ import main as rasa_main

    from scripts import rasa_fastpaths

    try:
        sys.argv[1:] = secure_defaults(sys.argv[1:], os.environ)
    except InsecureSecret as error:
        sys.exit(f"scripts.rasa_server: {error}")
    install_compiled_action_check()
    install_event_type_cache()
    install_freeze_after_model_load()
    rasa_fastpaths.install()
    sys.argv[0] = "rasa"
    rasa_main()


if __name__ == "__main__":
    main()
