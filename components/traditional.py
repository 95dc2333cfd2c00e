"""Traditional → Simplified Chinese, before tokenisation.

Customers in Hong Kong, Taiwan and Macau, and people typing on a Traditional input method, write
話費還剩多少. The rest of the pipeline (jieba, the spaCy entity ruler, DIET) is trained on
Simplified text, so this component rewrites the message text first. It uses OpenCC's
Traditional→Simplified tables (opencc-python-reimplemented) plus a few telecom words where the
generic table picks a variant our data does not use (帳單 → 帐单 generically, 账单 here).
"""

from __future__ import annotations

import functools
import re
from typing import Any  # Rasa's signatures

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

# Variants OpenCC's generic table leaves in a form customers of a mainland operator don't write.
TELECOM_FIXES = {
    "帐单": "账单",
    "帐户": "账户",
    "帐号": "账号",
    "对帐": "对账",
    "转帐": "转账",
}
_FIX_PATTERN = re.compile("|".join(sorted(map(re.escape, TELECOM_FIXES), key=len, reverse=True)))


@functools.lru_cache(maxsize=1)
def _converter() -> Any:
    import opencc

    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Returns `text` in Simplified Chinese; other scripts and ASCII are left as they are."""
    if not text:
        return text
    simplified = _converter().convert(text)
    return _FIX_PATTERN.sub(lambda match: TELECOM_FIXES[match.group(0)], simplified)


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
