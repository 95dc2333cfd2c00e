"""Several requests in one message ("查一下余额，再看看流量还剩多少").

DIET names one intent per message, and a message that makes two requests often falls between
them (nlu_fallback) or is read as the later one. This component, after the FallbackClassifier,
finds the requests a message names clause by clause, with narrow cues (a word that only mentions
a thing, "流量多一点的套餐", is not a request for it); when there are two or more, the intent is
the first one named and the parse result's `requests` lists them all in order, for the dialogue
to serve one after the other (actions/flows/repair.py). Only a fallback, an `inform` or one of
the named requests is replaced: a complaint that mentions the balance stays a complaint.

Where the cues find fewer than two requests (most real messages: "帮我看下账单吧 还有我宽带从昨天
就断了"), the intent vote's regression has read each clause (components/intent_vote.py); two
clauses that ask for different requests, each holding a share of the whole message's confidence,
make the first of them the intent (request_cues.first_request_of_clauses), with its blended
confidence and no `requests`.

A long story read confidently as a whole keeps that reading (request_cues.settled_story): its
first clauses are often the background, not a request.
"""

from __future__ import annotations

from typing import Any  # Rasa's signatures

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from components.intent_vote import CLAUSE_VOTES
from components.request_cues import (
    first_request_intent,
    first_request_of_clauses,
    requests_in,
    settled_story,
)


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
            shares = {
                str(r.get(INTENT_NAME_KEY)): float(r.get("confidence") or 0.0)
                for r in message.get(INTENT_RANKING_KEY) or []
            }
            if settled_story(text, current, shares):
                continue
            first = first_request_intent(text, current)
            if first is not None:
                self._choose(message, first, 1.0)
                message.set("requests", [r for r, _ in requests_in(text)], add_to_output=True)
                continue
            first = first_request_of_clauses(message.get(CLAUSE_VOTES) or [], shares, current)
            if first is not None:
                self._choose(message, first, shares.get(first, 0.0))
        return messages

    @staticmethod
    def _choose(message: Message, intent: str, confidence: float) -> None:
        """`intent` becomes the message's, at the top of its ranking."""
        chosen = {INTENT_NAME_KEY: intent, "confidence": confidence}
        ranking = [
            r for r in message.get(INTENT_RANKING_KEY) or [] if r.get(INTENT_NAME_KEY) != intent
        ]
        message.set(INTENT, chosen, add_to_output=True)
        message.set(INTENT_RANKING_KEY, [chosen, *ranking], add_to_output=True)
