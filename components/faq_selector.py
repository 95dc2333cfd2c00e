"""Rasa's ResponseSelector, run only for the messages it can matter for.

The ResponseSelector picks the answer within a retrieval intent (faq/invoice, faq/porting…),
but Rasa runs its TensorFlow model on every message, whatever the intent — a large share of the
NLU time (docs/benchmarks.md), spent on greetings, balance questions and phone numbers whose
answer it never chooses. This subclass predicts only when the intent classifier's top intent is the
retrieval intent; training and the prediction itself are the ResponseSelector's own.
"""

from __future__ import annotations

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.selectors.response_selector import ResponseSelector
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY
from rasa.shared.nlu.training_data.message import Message


def needs_selection(message: Message, retrieval_intent: str | None) -> bool:
    """True when the message's top intent is the selector's retrieval intent; a selector
    configured without one covers every retrieval intent and so runs on every message."""
    if not retrieval_intent:
        return True
    return bool((message.get(INTENT) or {}).get(INTENT_NAME_KEY) == retrieval_intent)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class FaqResponseSelector(ResponseSelector):
    """A ResponseSelector that skips messages outside its retrieval intent."""

    def process(self, messages: list[Message]) -> list[Message]:
        wanted = [m for m in messages if needs_selection(m, self.retrieval_intent)]
        if wanted:
            super().process(wanted)
        return messages
