"""UrgencyClassifier: a Rasa 3.6 NLU graph component that triages every message.

Adds to every parse result (HTTP /model/parse, `rasa shell nlu`, `tracker.latest_message`):

    "urgency":   {"name": "low|normal|high|critical", "confidence": 0.93, "reasons": [...]}

and, when the message's intent is `complain`:

    "complaint": {"category": "service|product|fee|network|other",
                  "severity": "minor|moderate|major", "confidence": <category>,
                  "severity_confidence": ..., "reasons": [...]}

and, when it is `report_fault`:

    "fault":     {"category": "hardware|software|network|business",
                  "service": "mobile|broadband|tv", "confidence": <category>,
                  "service_confidence": ..., "area": "朝阳区" | None}

`reasons` name the keyword rules that raised the level (empty when the model's level stands); rules
only raise, never lower (components/triage_rules.py; the word lists are
catalog/triage_keywords.yml). The model (components/triage_model.py) is trained by `rasa train`
from the NLU data: labels come from per-example metadata

    - text: 你们乱扣我话费……
      metadata: {urgency: high, complaint_category: fee, severity: major}

which Rasa 3.6 keeps at `message.get("metadata")["example"]`. Examples without an urgency label
get their intent's default (`intent_default_urgency`).

Place it after the intent classifier (DIETClassifier) and the FallbackClassifier, e.g.

    - name: components.urgency.UrgencyClassifier
"""

from __future__ import annotations

import logging
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_TYPE,
    ENTITY_ATTRIBUTE_VALUE,
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    METADATA,
    METADATA_EXAMPLE,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from components import model_files, triage_keywords
from components.triage_model import (
    DEFAULT_INTENT_URGENCY,
    DEFAULT_URGENCY,
    FAULT_INTENT,
    TriageModel,
    examples_from_messages,
    triage,
)

logger = logging.getLogger(__name__)

MODEL_FILE = "triage_model.joblib"
FALLBACK_INTENT = "nlu_fallback"


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class UrgencyClassifier(GraphComponent):
    """Urgency on every message; complaint category/severity and fault category/service."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            # intent → urgency for training examples without an `urgency` label, and for
            # messages when the model is missing
            "intent_default_urgency": dict(DEFAULT_INTENT_URGENCY),
            "default_urgency": DEFAULT_URGENCY,
            # keyword rules (components/triage_rules.py) may raise urgency and severity
            "use_rules": True,
            # below this model confidence a keyword vote decides the complaint/fault category
            "category_min_confidence": 0.5,  # chosen by 5-fold CV on the training data
            # convert Traditional → Simplified itself; false when components.traditional runs
            # earlier in the pipeline (config.yml), so each message is converted once
            "convert_traditional": True,
            # logistic regression inverse regularisation; features kept per vectoriser
            "C": 10.0,
            "max_features": 50000,
            # entity carrying the fault's area
            "area_entity": "area",
        }

    @staticmethod
    def required_packages() -> list[str]:
        # import names; opencc-python-reimplemented is imported lazily (its import name and
        # distribution name differ, which Rasa's fingerprinting cannot map)
        return ["sklearn", "jieba", "joblib"]

    @classmethod
    def fingerprint_addon(cls, config: dict[str, Any]) -> str | None:
        """Retrain when the training code in components/triage_model.py changes (the rules are
        applied at inference only and need no retraining)."""
        import hashlib
        from pathlib import Path

        source = Path(__file__).with_name("triage_model.py").read_bytes()
        return hashlib.sha256(source).hexdigest()

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        model: TriageModel | None = None,
    ) -> None:
        self._config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self._model = model
        if self._config["use_rules"]:
            # read the keyword file now: a malformed one stops the model from loading instead of
            # failing every message, and the first message does not pay for reading it
            triage_keywords.keywords()

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> UrgencyClassifier:
        return cls(config, model_storage, resource)

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> UrgencyClassifier:
        model = model_files.read(model_storage, resource, MODEL_FILE)
        if model is None:
            logger.warning(
                "UrgencyClassifier: no trained model found; using rules and intent defaults."
            )
        return cls(config, model_storage, resource, model)

    # -- training -----------------------------------------------------------------------------
    def _new_model(self) -> TriageModel:
        return TriageModel(
            C=self._config["C"],
            max_features=self._config["max_features"],
            intent_default_urgency=self._config["intent_default_urgency"],
            default_urgency=self._config["default_urgency"],
            convert_traditional=self._config["convert_traditional"],
        )

    @staticmethod
    def training_triples(training_data: TrainingData) -> list[tuple[str, Any, Any]]:
        """(text, intent, example metadata) for every NLU example with text and intent."""
        out = []
        for message in training_data.intent_examples:
            text = message.get(TEXT)
            if not text:
                continue
            metadata = message.get(METADATA) or {}
            out.append((text, message.get(INTENT), metadata.get(METADATA_EXAMPLE)))
        return out

    def train(self, training_data: TrainingData) -> Resource:
        examples = examples_from_messages(self.training_triples(training_data))
        labelled = sum(1 for e in examples if e.labels)
        logger.info(
            f"UrgencyClassifier: training on {len(examples)} examples ({labelled} triage-labelled)"
        )
        self._model = self._new_model().fit(examples)
        self.persist()
        return self._resource

    def persist(self) -> None:
        model_files.write(self._model_storage, self._resource, MODEL_FILE, self._model)

    # -- inference ----------------------------------------------------------------------------
    @staticmethod
    def effective_intent(message: Message) -> str | None:
        """The intent name; when the FallbackClassifier won, the best real intent in the ranking."""
        intent = message.get(INTENT) or {}
        name = intent.get(INTENT_NAME_KEY)
        if name == FALLBACK_INTENT:
            for item in message.get(INTENT_RANKING_KEY) or []:
                if item.get(INTENT_NAME_KEY) != FALLBACK_INTENT:
                    best: str | None = item.get(INTENT_NAME_KEY)
                    return best
        return name

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT)
            if text is None:
                continue
            intent = self.effective_intent(message)
            result = triage(
                text,
                intent,
                self._model,
                use_model=self._model is not None,
                use_rules=self._config["use_rules"],
                category_min_confidence=self._config["category_min_confidence"],
                convert_traditional=self._config["convert_traditional"],
            )
            if self._model is None:
                # no model: the intent's default from this component's config
                default = self._config["intent_default_urgency"].get(
                    intent or "", self._config["default_urgency"]
                )
                if not result["urgency"]["reasons"]:
                    result["urgency"]["name"] = default
            message.set("urgency", result["urgency"], add_to_output=True)
            if "complaint" in result:
                message.set("complaint", result["complaint"], add_to_output=True)
            if "fault" in result:
                fault = dict(result["fault"])
                fault["area"] = self._entity_value(message, self._config["area_entity"])
                if intent == FAULT_INTENT:
                    message.set("fault", fault, add_to_output=True)
        return messages

    @staticmethod
    def _entity_value(message: Message, entity: str) -> str | None:
        for ent in message.get(ENTITIES) or []:
            if ent.get(ENTITY_ATTRIBUTE_TYPE) == entity:
                value = ent.get(ENTITY_ATTRIBUTE_VALUE)
                return str(value) if value is not None else None
        return None
