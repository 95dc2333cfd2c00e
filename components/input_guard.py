"""Messages no classifier should guess at: empty, emoji or punctuation only, one character
repeated, or very long; and messages DIET reads as carrying no request at all.

DIET always names some intent, and an emoji-only 👍 or a 10,000-character paste could be read
as 'affirm' in the middle of a plan change. This component, placed after the
FallbackClassifier, turns such messages into `nlu_fallback` (confidence 1.0) so the dialogue
asks the customer to rephrase, and says why in the parse result's `input_problem`.

Gibberish, fillers, cut-off fragments and speech not meant for us ("阿巴阿巴", "就是那个嘛",
"老公饭好了没") are trained as the intent `no_request` (nlu_data/no_request.yml): a confident
wrong guess at them cost more turns than any fallback threshold could save (bench.nlu's
threshold table). The dialogue never sees that intent: it becomes nlu_fallback here.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any  # Rasa's signatures

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

FALLBACK_INTENT = "nlu_fallback"
NO_REQUEST_INTENT = "no_request"
DEFAULT_MAX_LENGTH = 1000
REPETITIVE_MIN_LENGTH = 8
# A terminal escape sequence (ESC [ 0 m): control, not words, though it holds a digit and a letter.
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")


def input_problem(text: str | None, max_length: int = DEFAULT_MAX_LENGTH) -> str | None:
    """'empty', 'no_words' (nothing but emoji, symbols, punctuation, control characters or
    terminal escape codes), 'repetitive' (one or two characters over and over: 啊啊啊啊啊啊啊啊),
    'too_long', or None for a message worth classifying."""
    if not text or not text.strip():
        return "empty"
    if len(text) > max_length:
        return "too_long"
    words = [ch for ch in ANSI_ESCAPE.sub("", text) if unicodedata.category(ch)[0] in "LN"]
    if not words:
        return "no_words"
    letters = [ch for ch in words if unicodedata.category(ch)[0] == "L"]  # 19999999999 is fine
    if len(letters) >= REPETITIVE_MIN_LENGTH and len(set(letters)) <= 2:
        return "repetitive"
    return None


def no_request(ranking: list[dict[str, Any]]) -> str | None:
    """'no_request' when the classifier's likeliest intent (a FallbackClassifier verdict
    aside) is no_request, else None."""
    guesses = [r.get(INTENT_NAME_KEY) for r in ranking if r.get(INTENT_NAME_KEY) != FALLBACK_INTENT]
    return NO_REQUEST_INTENT if guesses and guesses[0] == NO_REQUEST_INTENT else None


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class InputGuard(GraphComponent):
    """Overrides the intent with nlu_fallback for messages that carry nothing to classify."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.max_length = int(config["max_length"])

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"max_length": DEFAULT_MAX_LENGTH}

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> InputGuard:
        return cls(config)

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            problem = input_problem(message.get(TEXT), self.max_length) or no_request(
                message.get(INTENT_RANKING_KEY) or []
            )
            if problem is None:
                continue
            fallback = {INTENT_NAME_KEY: FALLBACK_INTENT, "confidence": 1.0}
            ranking = [
                r
                for r in message.get(INTENT_RANKING_KEY) or []
                if r.get(INTENT_NAME_KEY) != FALLBACK_INTENT
            ]
            message.set(INTENT, fallback, add_to_output=True)
            message.set(INTENT_RANKING_KEY, [fallback, *ranking], add_to_output=True)
            message.set("input_problem", problem, add_to_output=True)
        return messages
