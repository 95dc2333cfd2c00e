"""The scikit-learn side of triage, shared by the Rasa component and the benchmark.

No Rasa import here: `components/urgency.py` turns Rasa `TrainingData` into `TriageExample`s with
`examples_from_messages` and calls `TriageModel.fit`; `bench/triage.py` does exactly the same on
the YAML files, so the benchmark measures the component's own training code path.

One feature space (TF-IDF over character 1–3-grams + jieba word 1–2-grams) is fitted on every
training text; on top of it one balanced logistic-regression head per task:

  urgency             every message (label from example metadata, else the intent's default)
  complaint_category  complain examples with a `complaint_category` label
  severity            complain examples with a `severity` label
  fault_category      report_fault examples with a `fault_category` label
  service             report_fault examples with a `service` label

A message is vectorised once and every head reads the same vector, which keeps `process` cheap.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from components.simplified import to_simplified
from telecom import urgency

TASKS = ("urgency", "complaint_category", "severity", "fault_category", "service")
COMPLAIN_INTENT = "complain"
FAULT_INTENT = "report_fault"
TASK_INTENT = {
    "complaint_category": COMPLAIN_INTENT,
    "severity": COMPLAIN_INTENT,
    "fault_category": FAULT_INTENT,
    "service": FAULT_INTENT,
}

DEFAULT_INTENT_URGENCY: dict[str, str] = {
    "greet": "low",
    "goodbye": "low",
    "thanks": "low",
    "affirm": "low",
    "deny": "low",
    "bot_challenge": "low",
    "out_of_scope": "low",
    "no_request": "low",
    "faq": "low",
    "query_balance": "normal",
    "query_data_usage": "normal",
    "query_plan": "normal",
    "change_plan": "normal",
    "roaming": "normal",
    "reset_password": "normal",
    "inform": "normal",
    "check_ticket": "normal",
    "complain": "normal",
    "report_fault": "normal",
    "request_human": "normal",
}
DEFAULT_URGENCY = urgency.DEFAULT

_ENTITY_MARKUP = re.compile(r"\[([^\]]+)\]\((?:[^)]+)\)|\[([^\]]+)\]\{[^}]*\}")


def prepare(text: str, convert_traditional: bool = True) -> str:
    """What the model and the rules see: Simplified, NFKC-folded, lower case. Text that has been
    through the pipeline's components.traditional is Simplified already (`convert_traditional`
    False: the conversion runs once per message)."""
    text = to_simplified(text) if convert_traditional else text
    text = unicodedata.normalize("NFKC", text)
    return re.sub(r"\s+", " ", text).strip().lower()


_jieba_tokenizer = None


def jieba_words(text: str) -> list[str]:
    """jieba words without punctuation/whitespace; a private Tokenizer keeps us independent of
    whatever dictionary other components load into jieba's global instance."""
    global _jieba_tokenizer
    if _jieba_tokenizer is None:
        import logging

        import jieba

        jieba.setLogLevel(logging.WARNING)
        _jieba_tokenizer = jieba.Tokenizer()
    return [w for w in _jieba_tokenizer.lcut(text) if w.strip() and not re.fullmatch(r"\W+", w)]


@dataclass
class TriageExample:
    text: str
    intent: str | None
    labels: dict[str, str] = field(default_factory=dict)


def labels_from_metadata(metadata: Mapping[str, Any] | None) -> dict[str, str]:
    """The triage labels carried in an example's metadata (keys as in nlu_data/complaints.yml)."""
    out: dict[str, str] = {}
    if not isinstance(metadata, Mapping):
        return out
    for key in ("urgency", "complaint_category", "severity", "fault_category", "service"):
        value = metadata.get(key)
        if isinstance(value, str) and value.strip():
            out[key] = value.strip()
    return out


def examples_from_messages(
    items: Iterable[tuple[str, str | None, Mapping[str, Any] | None]],
) -> list[TriageExample]:
    """(text, intent, example metadata) triples → TriageExamples (entity markup removed)."""
    out = []
    for text, intent, metadata in items:
        if not text:
            continue
        plain = _ENTITY_MARKUP.sub(lambda m: m.group(1) or m.group(2), text)
        out.append(TriageExample(plain, intent, labels_from_metadata(metadata)))
    return out


class _ConstantHead:
    """Stands in for a classifier when a task has only one class in the training data."""

    def __init__(self, label: str) -> None:
        self.classes_ = np.array([label])

    def predict_proba(self, x: Any) -> NDArray[np.float64]:
        return np.ones((x.shape[0], 1))


def build_vectorizer(max_features: int | None) -> Any:
    """The feature space: TF-IDF over character 1–3-grams and jieba word 1–2-grams (triage and
    components/intent_vote.py)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import FeatureUnion

    return FeatureUnion(
        [
            (
                "chars",
                TfidfVectorizer(
                    analyzer="char",
                    ngram_range=(1, 3),
                    sublinear_tf=True,
                    min_df=1,
                    max_features=max_features,
                ),
            ),
            (
                "words",
                TfidfVectorizer(
                    analyzer="word",
                    tokenizer=jieba_words,
                    token_pattern=None,
                    lowercase=False,
                    ngram_range=(1, 2),
                    sublinear_tf=True,
                    min_df=1,
                    max_features=max_features,
                ),
            ),
        ]
    )


class TriageModel:
    """Shared TF-IDF features + one logistic-regression head per task."""

    def __init__(
        self,
        *,
        C: float = 10.0,
        max_features: int | None = 50000,
        intent_default_urgency: Mapping[str, str] | None = None,
        default_urgency: str = DEFAULT_URGENCY,
        convert_traditional: bool = True,
        random_state: int = 2026,
    ) -> None:
        self.C = C
        self.max_features = max_features
        self.intent_default_urgency = dict(intent_default_urgency or DEFAULT_INTENT_URGENCY)
        self.default_urgency = default_urgency
        self.convert_traditional = convert_traditional
        self.random_state = random_state
        self.vectorizer: Any = None
        self.heads: dict[str, Any] = {}

    # -- training ---------------------------------------------------------------------------
    def task_label(self, example: TriageExample, task: str) -> str | None:
        if task == "urgency":
            if "urgency" in example.labels:
                return example.labels["urgency"]
            if example.intent is None:
                return None
            return self.intent_default_urgency.get(example.intent, self.default_urgency)
        if TASK_INTENT[task] != example.intent:
            return None
        return example.labels.get(task)

    def fit(self, examples: list[TriageExample]) -> TriageModel:
        from sklearn.linear_model import LogisticRegression

        texts = [prepare(e.text, self.convert_traditional) for e in examples]
        if not texts:
            self.vectorizer, self.heads = None, {}
            return self
        self.vectorizer = build_vectorizer(self.max_features)
        x = self.vectorizer.fit_transform(texts)
        self.heads = {}
        for task in TASKS:
            labels = [(i, self.task_label(e, task)) for i, e in enumerate(examples)]
            rows = [(i, y) for i, y in labels if y]
            if not rows:
                continue
            idx = [i for i, _ in rows]
            y = [lab for _, lab in rows]
            if len(set(y)) == 1:
                self.heads[task] = _ConstantHead(y[0])
                continue
            # liblinear (one-vs-rest) trains much faster than lbfgs here at the same accuracy
            # (docs/benchmarks.md)
            clf = LogisticRegression(
                C=self.C,
                class_weight="balanced",
                solver="liblinear",
                max_iter=2000,
                random_state=self.random_state,
            )
            clf.fit(x[idx], y)
            self.heads[task] = clf
        return self

    # -- prediction -------------------------------------------------------------------------
    @property
    def is_trained(self) -> bool:
        return self.vectorizer is not None

    def vectorize(self, text: str) -> Any:
        """scikit-learn's own transform (slow for one message; the reference for
        `_fast_features`)."""
        return self.vectorizer.transform([prepare(text, self.convert_traditional)])

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_fast", None)  # analyzer closures are rebuilt after loading
        return state

    def _fast_parts(self) -> list[tuple[Any, dict[str, int], NDArray[np.float64], int]]:
        fast = self.__dict__.get("_fast")
        if fast is None:
            fast, offset = [], 0
            for _, vec in self.vectorizer.transformer_list:
                fast.append((vec.build_analyzer(), vec.vocabulary_, vec.idf_, offset))
                offset += len(vec.idf_)
            self._fast = fast
        return fast

    def _fast_features(self, clean_text: str) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
        """Sparse (indices, values) of one prepared message, identical to `vectorize` but without
        scikit-learn's per-call overhead, which dominates for a single message
        (docs/benchmarks.md)."""
        from collections import Counter

        all_idx, all_val = [], []
        for analyzer, vocab, idf, offset in self._fast_parts():
            counts = Counter(t for t in analyzer(clean_text) if t in vocab)
            if not counts:
                continue
            idx = np.fromiter((vocab[t] for t in counts), dtype=np.int64, count=len(counts))
            tf = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
            val = (1.0 + np.log(tf)) * idf[idx]
            norm = np.sqrt(np.dot(val, val))
            if norm > 0:
                val = val / norm
            all_idx.append(idx + offset)
            all_val.append(val)
        if not all_idx:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        return np.concatenate(all_idx), np.concatenate(all_val)

    @staticmethod
    def _head_proba(
        head: Any, feats: tuple[NDArray[np.int64], NDArray[np.float64]]
    ) -> NDArray[np.float64]:
        if isinstance(head, _ConstantHead):
            return np.ones(1)
        idx, val = feats
        scores: NDArray[np.float64] = head.coef_[:, idx] @ val + head.intercept_
        if scores.shape[0] == 1:  # binary logistic regression
            p = 1.0 / (1.0 + np.exp(-scores[0]))
            return np.array([1.0 - p, p])
        if (
            head.solver == "liblinear" or head.multi_class == "ovr"
        ):  # as LogisticRegression.predict_proba
            ovr: NDArray[np.float64] = 1.0 / (1.0 + np.exp(-scores))
            return ovr / float(ovr.sum())
        scores = scores - scores.max()
        e: NDArray[np.float64] = np.exp(scores)
        return e / float(e.sum())

    def predict_task(self, task: str, feats: Any) -> tuple[str, float, dict[str, float]] | None:
        """(label, confidence, full distribution) for one message's features, or None.

        `feats` is either `_fast_features(...)` output or a sparse matrix from `vectorize`.
        """
        head = self.heads.get(task)
        if head is None:
            return None
        if isinstance(feats, tuple):
            proba = self._head_proba(head, feats)
        else:
            proba = head.predict_proba(feats)[0]
        best = int(np.argmax(proba))
        dist = {str(c): float(p) for c, p in zip(head.classes_, proba, strict=False)}
        return str(head.classes_[best]), float(proba[best]), dist

    def predict(
        self, text: str, tasks: Iterable[str] = TASKS
    ) -> dict[str, tuple[str, float, dict[str, float]]]:
        return self.predict_prepared(prepare(text, self.convert_traditional), tasks)

    def predict_prepared(
        self, clean_text: str, tasks: Iterable[str] = TASKS
    ) -> dict[str, tuple[str, float, dict[str, float]]]:
        """`predict` for text already through `prepare`."""
        if not self.is_trained:
            return {}
        x = self._fast_features(clean_text)
        out = {}
        for task in tasks:
            pred = self.predict_task(task, x)
            if pred is not None:
                out[task] = pred
        return out


# ---------------------------------------------------------------------------------------------
# Model + rules → the three outputs of the component
# ---------------------------------------------------------------------------------------------

RULE_CONFIDENCE = 0.9  # reported confidence when a rule decided the level


def triage(
    text: str,
    intent: str | None,
    model: TriageModel | None,
    *,
    use_model: bool = True,
    use_rules: bool = True,
    category_min_confidence: float = 0.5,
    convert_traditional: bool = True,
) -> dict[str, Any]:
    """Urgency for every message; complaint / fault details when the intent asks for them.

    Returns {"urgency": {...}, "complaint": {...} (intent complain only), "fault": {...}
    (intent report_fault only)}. With `use_model=False` the keyword rules decide alone (defaults
    fill in where no rule fires); with `use_rules=False` the model decides alone.
    """
    from components import triage_rules as rules

    clean = prepare(text, convert_traditional)
    intent_default = (model.intent_default_urgency if model else DEFAULT_INTENT_URGENCY).get(
        intent or "", DEFAULT_URGENCY
    )
    tasks = ["urgency"]
    if intent == COMPLAIN_INTENT:
        tasks += ["complaint_category", "severity"]
    elif intent == FAULT_INTENT:
        tasks += ["fault_category", "service"]
    preds = (
        model.predict_prepared(clean, tasks)
        if (use_model and model is not None and model.is_trained)
        else {}
    )

    out: dict[str, Any] = {}

    # complaint first: a major severity raises urgency
    severity = None
    if intent == COMPLAIN_INTENT:
        cat, cat_conf = _pick(
            preds.get("complaint_category"),
            rules.rule_complaint_category(clean) if use_rules else None,
            "other",
            category_min_confidence,
        )
        model_sev = preds["severity"][0] if "severity" in preds else None
        sev_conf = preds["severity"][1] if "severity" in preds else 0.0
        reasons: list[str] = []
        if use_rules:
            severity, reasons = rules.combine_severity(clean, model_sev)
            if reasons:
                sev_conf = max(sev_conf, RULE_CONFIDENCE)
        else:
            severity = model_sev or "moderate"
        if not use_model and not reasons:
            sev_conf = 0.5
        out["complaint"] = {
            "category": cat,
            "severity": severity,
            "confidence": round(cat_conf, 4),
            "severity_confidence": round(sev_conf, 4),
            "reasons": reasons,
        }

    if intent == FAULT_INTENT:
        cat, cat_conf = _pick(
            preds.get("fault_category"),
            rules.rule_fault_category(clean) if use_rules else None,
            "network",
            category_min_confidence,
        )
        svc, svc_conf = _pick(
            preds.get("service"),
            rules.rule_fault_service(clean) if use_rules else None,
            "mobile",
            category_min_confidence,
        )
        out["fault"] = {
            "category": cat,
            "service": svc,
            "confidence": round(cat_conf, 4),
            "service_confidence": round(svc_conf, 4),
        }

    model_urg = preds["urgency"][0] if "urgency" in preds else None
    urg_conf = preds["urgency"][1] if "urgency" in preds else 0.0
    if use_rules:
        level, reasons = rules.combine_urgency(
            clean,
            model_urg or (None if use_model else intent_default),
            severity if severity == "major" else None,
        )
        if reasons:
            urg_conf = max(urg_conf, RULE_CONFIDENCE)
        elif not use_model:
            urg_conf = 0.5
    else:
        level, reasons = model_urg or intent_default, []
    out["urgency"] = {"name": level, "confidence": round(urg_conf, 4), "reasons": reasons}
    return out


def _pick(
    pred: tuple[str, float, dict[str, float]] | None,
    rule_label: str | None,
    fallback: str,
    min_conf: float,
) -> tuple[str, float]:
    """Model label unless it is unsure and a keyword rule has an opinion."""
    if pred is not None and (pred[1] >= min_conf or rule_label is None):
        return pred[0], pred[1]
    if rule_label is not None:
        return rule_label, RULE_CONFIDENCE if pred is None else max(
            pred[2].get(rule_label, 0.0), min_conf
        )
    return fallback, 0.0
