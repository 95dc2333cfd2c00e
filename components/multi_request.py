"""Several requests in one message ("查一下余额，再看看流量还剩多少").

DIET names one intent per message, and a message that makes two requests often falls between
them (nlu_fallback) or is read as the later one. This component, after the FallbackClassifier,
finds the requests a message names clause by clause, with narrow cues (a word that only mentions
a thing, "流量多一点的套餐", is not a request for it); when there are two or more, the intent is
the first one named and the parse result's `requests` lists them all in order, for the dialogue
to serve one after the other (actions/flows/repair.py). Only a fallback, an `inform` or one of
the named requests is replaced: a complaint that mentions the balance stays a complaint.
"""

from __future__ import annotations

from typing import Any  # Rasa's signatures

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from components.request_cues import first_request_intent, requests_in


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class MultiRequest(GraphComponent):
    """Sets the intent of a message of several requests to the first, and lists them."""

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> MultiRequest:
        return cls()

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = str(message.get(TEXT) or "")
            current = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
            first = first_request_intent(text, current)
            if first is None:
                continue
            chosen = {INTENT_NAME_KEY: first, "confidence": 1.0}
            ranking = [
                r for r in message.get(INTENT_RANKING_KEY) or [] if r.get(INTENT_NAME_KEY) != first
            ]
            message.set(INTENT, chosen, add_to_output=True)
            message.set(INTENT_RANKING_KEY, [chosen, *ranking], add_to_output=True)
            message.set("requests", [r for r, _ in requests_in(text)], add_to_output=True)
        return messages
