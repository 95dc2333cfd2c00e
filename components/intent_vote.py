"""A second opinion on the intent: DIET's ranking averaged with a logistic regression's over
TF-IDF character and word n-grams (the triage model's feature space, components/triage_model.py).

The two make different mistakes: the regression reads report_fault, complain and faq in real
phrasing better, DIET bills, tickets and Traditional text (docs/benchmarks.md, "The intent
vote"). Runs after DIETClassifier and before FallbackClassifier, so the fallback threshold judges
the blended confidence.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any  # Rasa's signatures

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from components import model_files
from components.request_cues import clauses, may_hold_several
from components.triage_model import build_vectorizer, prepare

logger = logging.getLogger(__name__)

MODEL_FILE = "intent_vote.joblib"
CLAUSE_VOTES = "clause_votes"  # on the message, not in the parse output
CONFIDENCE = "confidence"


def blend(
    ranking: Sequence[Mapping[str, Any]], vote: Mapping[str, float], weight: float
) -> list[dict[str, Any]]:
    """`weight` × DIET's confidence + (1 − `weight`) × the vote's, for every intent either names
    (one missing from DIET's ranking counts 0 there), best first; ties keep DIET's order."""
    diet = {str(r[INTENT_NAME_KEY]): float(r.get(CONFIDENCE) or 0.0) for r in ranking}
    names = list(diet) + [name for name in vote if name not in diet]
    mixed = [
        {
            INTENT_NAME_KEY: name,
            CONFIDENCE: weight * diet.get(name, 0.0) + (1 - weight) * float(vote.get(name, 0.0)),
        }
        for name in names
    ]
    return sorted(mixed, key=lambda r: -r[CONFIDENCE])


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class IntentVote(GraphComponent):
    """Blends DIET's intent ranking with the regression's (see the module's docstring)."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            "weight": 0.3,  # DIET's share of the blended confidence
            "C": 30.0,  # the regression's inverse regularisation
            "max_features": 50000,  # features kept per vectoriser
            "ranking_length": 10,
        }

    @staticmethod
    def required_packages() -> list[str]:
        return ["sklearn", "jieba", "joblib"]

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        model: Any = None,
    ) -> None:
        self._config = {**self.get_default_config(), **config}
        if not 0.0 <= self._config["weight"] <= 1.0:
            raise ValueError(f"IntentVote weight must be within 0–1, not {self._config['weight']}")
        self._model_storage = model_storage
        self._resource = resource
        self._model = model

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> IntentVote:
        return cls(config, model_storage, resource)

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> IntentVote:
        model = model_files.read(model_storage, resource, MODEL_FILE)
        if model is None:
            logger.warning("IntentVote: no trained model found; DIET's ranking stands alone.")
        return cls(config, model_storage, resource, model)

    def train(self, training_data: TrainingData) -> Resource:
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline

        examples = [m for m in training_data.intent_examples if m.get(TEXT) and m.get(INTENT)]
        if len({m.get(INTENT) for m in examples}) < 2:
            return self._resource  # nothing to choose between: DIET alone
        # liblinear (one-vs-rest): 2.6 s on 8,130 examples where lbfgs took 50 s, and as good
        # on the blind set (docs/benchmarks.md)
        self._model = make_pipeline(
            build_vectorizer(self._config["max_features"]),
            LogisticRegression(
                C=self._config["C"],
                class_weight="balanced",
                solver="liblinear",
                max_iter=2000,
                random_state=2026,
            ),
        )
        self._model.fit(
            [prepare(m.get(TEXT), convert_traditional=False) for m in examples],
            [m.get(INTENT) for m in examples],
        )
        self.persist()
        return self._resource

    def persist(self) -> None:
        model_files.write(self._model_storage, self._resource, MODEL_FILE, self._model)

    def clause_votes(self, text: str) -> list[tuple[str, float]]:
        """Each clause's likeliest intent by the regression and its probability, in order, for
        components/multi_request.py ([] for a message of one clause)."""
        parts = clauses(prepare(text, convert_traditional=False))
        if len(parts) < 2:
            return []
        rows = self._model.predict_proba(parts)
        return [(str(self._model.classes_[row.argmax()]), float(row.max())) for row in rows]

    def vote(self, text: str) -> dict[str, float]:
        """The regression's probability of each intent for `text`."""
        probabilities = self._model.predict_proba([prepare(text, convert_traditional=False)])[0]
        return dict(zip(self._model.classes_, map(float, probabilities), strict=True))

    def process(self, messages: list[Message]) -> list[Message]:
        if self._model is None:
            return messages
        for message in messages:
            text, ranking = message.get(TEXT), message.get(INTENT_RANKING_KEY)
            if not text or not ranking:
                continue
            blended = blend(ranking, self.vote(text), self._config["weight"])
            message.set(INTENT, blended[0], add_to_output=True)
            message.set(
                INTENT_RANKING_KEY, blended[: self._config["ranking_length"]], add_to_output=True
            )
            shares = {str(r[INTENT_NAME_KEY]): float(r[CONFIDENCE]) for r in blended}
            message.set(CLAUSE_VOTES, self.clause_votes(text) if may_hold_several(shares) else [])
        return messages
