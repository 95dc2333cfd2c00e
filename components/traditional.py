"""Traditional → Simplified Chinese, before tokenisation.

Customers in Hong Kong, Taiwan and Macau, and people typing on a Traditional input method, write
話費還剩多少. The rest of the pipeline (jieba, the spaCy entity ruler, DIET) is trained on
Simplified text, so this component rewrites the message text first, with the one conversion
(components/simplified.py: OpenCC's tables plus a few telecom words).
"""

from __future__ import annotations

from typing import Any  # Rasa's signatures

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from components.simplified import to_simplified


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER], is_trainable=False)
class TraditionalToSimplified(GraphComponent):
    """Rewrites the message text to Simplified Chinese, in training and in prediction."""

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> TraditionalToSimplified:
        return cls()

    @staticmethod
    def supported_languages() -> list[str] | None:
        return ["zh"]

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT)
            if text:
                message.set(TEXT, to_simplified(text))
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Converts the examples and their entity values, so that the synonym mapper does not
        learn 上个月 → 上個月 from an example written in Traditional characters."""
        self.process(training_data.training_examples)
        for example in training_data.training_examples:
            for entity in example.get(ENTITIES) or []:
                if isinstance(entity.get("value"), str):
                    entity["value"] = to_simplified(entity["value"])
        return training_data
