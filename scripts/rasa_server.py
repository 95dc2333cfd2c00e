"""`rasa`, with the action-server response check compiled once.

Rasa 3.6 checks every action-server response with `jsonschema.validate(result, schema)`, and that
call first re-validates the schema itself against the JSON-Schema metaschema — on every custom
action, a few times per turn. Profiling a REST turn showed that re-check as the largest single
cost of the turn. This entry point builds the validator for the same schema once at start-up;
a response that fails it still goes through Rasa's own check, so the error and its message are
Rasa's. Everything else is Rasa's command line unchanged:

    .venv-bot/bin/python -m scripts.rasa_server run --enable-api --model models/assistant.tar.gz …
"""

from __future__ import annotations

import sys
from typing import Any


def install_compiled_action_check() -> None:
    from jsonschema import validators
    from rasa.core.actions.action import RemoteAction

    schema = RemoteAction.action_response_format_spec()
    validator_class = validators.validator_for(schema)
    validator_class.check_schema(schema)
    validator = validator_class(schema)
    rasa_check = RemoteAction._validate_action_result

    def validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
        if validator.is_valid(result):
            return True
        return rasa_check(self, result)  # raises Rasa's ValidationError with Rasa's message

    RemoteAction._validate_action_result = validate_action_result  # type: ignore[method-assign]


def main() -> None:
    from rasa.__main__ import main as rasa_main

    install_compiled_action_check()
    sys.argv[0] = "rasa"
    rasa_main()


if __name__ == "__main__":
    main()
