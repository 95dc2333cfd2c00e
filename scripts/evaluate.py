"""Champion vs challenger: the measures, the paired test and the promotion gate (issue 16).

- `predict(model, sets)`: every message of each set parsed by a trained model, loaded in a
  process of its own (rasa.core.agent; `python -m scripts.evaluate MODEL TEXTS.json OUT.json`);
  the prediction is the assistant's final intent, so a message that falls to nlu_fallback
  counts as wrong.
- `metrics(gold, predicted)`: accuracy, macro-F1 over the set's intents, F1 per intent
  (scikit-learn's definitions).
- `compare(champion, challenger)`: both models on the same messages: the measures side by side,
  per-intent F1 deltas, McNemar's test on the messages exactly one model gets right (scipy: the
  exact two-sided binomial test below 25 such messages, the chi-square test with continuity
  correction from there), and the fixed / broken messages.
- `gate(comparison, conversation_tests_passed)`: the promotion gate, on the golden set (eval/blind):
  macro-F1 not lower than the champion's, no core intent's F1 down by more than 3 points, every
  conversation test passing.
- `conversation_tests(model, out)`: tests/conversations run against a model the way
  tests/e2e/test_conversation_stories.py runs them.

Everything but `predict` and `conversation_tests` is pure. scripts/retrain.py puts them together;
docs/retraining.md explains the gate and the report.
"""

from __future__ import annotations

import asyncio
import json
import logging
import pathlib
import re
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from scripts.paths import CONVERSATION_TESTS, HOLDOUT, ROOT

# The eight service intents: the gate refuses a challenger that makes any of them much worse.
CORE_INTENTS = (
    "query_balance",
    "query_data_usage",
    "query_plan",
    "change_plan",
    "roaming",
    "reset_password",
    "complain",
    "report_fault",
)
CORE_DROP_LIMIT = 0.03  # F1 points (0.03 = 3 percentage points)
EXACT_BELOW = 25  # discordant messages under which McNemar's test is the exact binomial one
FALLBACK = "nlu_fallback"


@dataclass(frozen=True)
class Example:
    id: str
    text: str
    intent: str


@dataclass(frozen=True)
class Predictions:
    """One model's predicted intent for each example of a set (same order)."""

    model_id: str
    examples: tuple[Example, ...]
    predicted: tuple[str, ...]


# --- the sets ---------------------------------------------------------------------------------


def golden_set() -> list[Example]:
    """The blind golden set (eval/blind), refused when it is not the frozen file."""
    from bench import blind

    return [Example(m.id, m.text, m.intent) for m in blind.load()]


def holdout_set(folder: pathlib.Path = HOLDOUT) -> list[Example]:
    """The held-out split: ids 'h<file>-<n>', in file order."""
    from rasa.shared.nlu.training_data.loading import load_data

    found = []
    for path in sorted(folder.glob("*.yml")):
        data = load_data(str(path))
        messages = [m for m in data.training_examples if m.get("intent")]
        found += [
            Example(f"h{path.stem}-{n}", m.get("text"), m.get("intent"))
            for n, m in enumerate(messages, 1)
        ]
    return found


# --- the model, in-process --------------------------------------------------------------------


def predict(
    model: pathlib.Path, sets: Mapping[str, Sequence[Example]], model_id: str = ""
) -> dict[str, Predictions]:
    """Every example of every set parsed by the model, loaded in a fresh process of its own as a
    Rasa server loads it at start. Never two models in one process: each load adds the model's
    jieba user dictionary to jieba's global one again, and jieba's add_word counts every word's
    frequency into the total once more, so a model loaded second segments differently (the
    golden message b0566: complain alone, nlu_fallback loaded second)."""
    with tempfile.TemporaryDirectory(prefix="evaluate-") as tmp:
        request, answer = pathlib.Path(tmp) / "texts.json", pathlib.Path(tmp) / "intents.json"
        texts = {name: [e.text for e in items] for name, items in sets.items()}
        request.write_text(json.dumps(texts, ensure_ascii=False), encoding="utf-8")
        command = [sys.executable, "-m", "scripts.evaluate", str(model), str(request), str(answer)]
        subprocess.run(command, cwd=ROOT, check=True)
        predicted = json.loads(answer.read_text(encoding="utf-8"))
    return {
        name: Predictions(model_id or model.name, tuple(items), tuple(predicted[name]))
        for name, items in sets.items()
    }


def parse(model: pathlib.Path, texts: dict[str, list[str]]) -> dict[str, list[str]]:
    """The final intent of every text, by the model loaded in this process (rasa.core.agent)."""
    from rasa.core.agent import Agent

    agent = Agent.load(str(model))

    async def run() -> dict[str, list[str]]:
        intents: dict[str, list[str]] = {}
        for name, items in texts.items():
            intents[name] = [(await agent.parse_message(text))["intent"]["name"] for text in items]
        return intents

    return asyncio.run(run())


def quiet_rasa() -> None:
    """Rasa logs every parse and its libraries warn on import; neither is a result here."""
    logging.disable(logging.WARNING)
    warnings.showwarning = lambda *args, **kwargs: None
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)


# --- the measures -----------------------------------------------------------------------------


def metrics(gold: Sequence[str], predicted: Sequence[str]) -> dict[str, Any]:
    """{n, accuracy, macro_f1, per_intent: {intent: {n, f1}}} over the gold set's intents."""
    from sklearn.metrics import accuracy_score, f1_score

    if len(gold) != len(predicted) or not gold:
        raise ValueError("gold and predicted must be equally long and not empty")
    labels = sorted(set(gold))
    per_intent = f1_score(gold, predicted, labels=labels, average=None, zero_division=0)
    return {
        "n": len(gold),
        "accuracy": float(accuracy_score(gold, predicted)),
        "macro_f1": float(sum(per_intent) / len(labels)),
        "per_intent": {
            label: {"n": sum(g == label for g in gold), "f1": float(f1)}
            for label, f1 in zip(labels, per_intent, strict=True)
        },
    }


def mcnemar(champion_only: int, challenger_only: int) -> dict[str, Any]:
    """McNemar's test on the discordant pairs: `champion_only` messages only the champion got
    right, `challenger_only` only the challenger. Two-sided p."""
    from scipy.stats import binomtest, chi2

    discordant = champion_only + challenger_only
    if discordant == 0:
        return {"champion_only": 0, "challenger_only": 0, "p": 1.0, "method": "none"}
    if discordant < EXACT_BELOW:
        p = binomtest(min(champion_only, challenger_only), discordant, 0.5).pvalue
        method = "exact binomial"
    else:
        statistic = (abs(champion_only - challenger_only) - 1) ** 2 / discordant
        p = chi2.sf(statistic, 1)
        method = "chi-square, continuity corrected"
    return {
        "champion_only": champion_only,
        "challenger_only": challenger_only,
        "p": min(1.0, float(p)),
        "method": method,
    }


def compare(champion: Predictions, challenger: Predictions) -> dict[str, Any]:
    """Both models on the same messages: measures, deltas (challenger − champion), McNemar and
    the messages whose prediction changed from wrong to right (fixed) or right to wrong
    (broken)."""
    if [e.id for e in champion.examples] != [e.id for e in challenger.examples]:
        raise ValueError("champion and challenger were not run on the same messages")
    gold = [e.intent for e in champion.examples]
    before = metrics(gold, champion.predicted)
    after = metrics(gold, challenger.predicted)
    fixed, broken = [], []
    for example, old, new in zip(
        champion.examples, champion.predicted, challenger.predicted, strict=True
    ):
        row = {
            "id": example.id,
            "text": example.text,
            "intent": example.intent,
            "champion": old,
            "challenger": new,
        }
        if old != example.intent and new == example.intent:
            fixed.append(row)
        elif old == example.intent and new != example.intent:
            broken.append(row)
    return {
        "champion_id": champion.model_id,
        "challenger_id": challenger.model_id,
        "champion": before,
        "challenger": after,
        "delta": {
            "accuracy": after["accuracy"] - before["accuracy"],
            "macro_f1": after["macro_f1"] - before["macro_f1"],
            "per_intent": {
                intent: after["per_intent"][intent]["f1"] - before["per_intent"][intent]["f1"]
                for intent in before["per_intent"]
            },
        },
        "mcnemar": mcnemar(len(broken), len(fixed)),
        "fixed": fixed,
        "broken": broken,
    }


def shown(value: float) -> float:
    """A score as the report and the gate's reasons show it (three decimals)."""
    return float(f"{value:.3f}")


def gate(comparison: dict[str, Any], conversation_tests_passed: bool) -> dict[str, Any]:
    """{passed, reasons}: the challenger may replace the champion when its macro-F1 on the golden
    set is not lower (at the three decimals shown), no core intent's F1 fell by more than 3
    points and every conversation test passed. `reasons` names each failed condition (empty when
    it passed); they are shown to analysts as they are."""
    reasons = []
    champion, challenger = comparison["champion"], comparison["challenger"]
    # judged as analysts read it, to three decimals: the verdict never contradicts the numbers
    # it shows (it had refused a challenger with "0.924 < 0.924")
    if shown(challenger["macro_f1"]) < shown(champion["macro_f1"]):
        reasons.append(
            f"宏平均F1低于现用模型：{shown(challenger['macro_f1']):.3f} < "
            f"{shown(champion['macro_f1']):.3f}"
        )
    for intent in CORE_INTENTS:
        delta = comparison["delta"]["per_intent"].get(intent)
        if delta is not None and delta < -CORE_DROP_LIMIT - 1e-9:
            reasons.append(f"核心意图 {intent} 的F1下降了{-delta * 100:.1f}个百分点（上限3个）")
    if not conversation_tests_passed:
        reasons.append("对话测试没有全部通过")
    return {"passed": not reasons, "reasons": reasons}


# --- the conversation tests -------------------------------------------------------------------


def failed_stories(written: str) -> list[str]:
    """The names of the stories in Rasa's failed_test_stories.yml, which calls each one
    "<story name> (<its file>)", or holds only a comment when none failed."""
    stories = (yaml.safe_load(written) or {}).get("stories") or []
    return [re.sub(r" \([^()]*\.ya?ml\)$", "", str(story["story"])) for story in stories]


def conversation_tests(
    model: pathlib.Path, out: pathlib.Path, stories: pathlib.Path = CONVERSATION_TESTS
) -> dict[str, Any]:
    """Runs the conversation tests against `model` (`rasa test core` through the assistant's
    server entry point, with the fast paths, failing on any prediction error).
    Returns {passed, stories, failed, returncode} and leaves Rasa's reports and log in `out`."""
    from scripts import services

    out.mkdir(parents=True, exist_ok=True)
    files = sorted(stories.glob("*.yml")) if stories.is_dir() else [stories]
    count = sum(len(re.findall(r"^- story:", p.read_text(encoding="utf-8"), re.M)) for p in files)
    command = [
        str(services.BIN / "python"),
        "-m",
        "assistant.server",
        "test",
        "core",
        "--model",
        str(model),
        "--stories",
        str(stories),
        "--out",
        str(out),
        "--fail-on-prediction-errors",
        "--no-plot",
    ]
    with (out / "rasa.log").open("w") as log:
        returncode = subprocess.run(
            command, cwd=ROOT, env=services.assistant_env(), stdout=log, stderr=subprocess.STDOUT
        ).returncode
    failed_file = out / "failed_test_stories.yml"
    failed = failed_stories(failed_file.read_text(encoding="utf-8") if failed_file.exists() else "")
    return {
        "passed": returncode == 0 and not failed and count > 0,
        "stories": count,
        "failed": failed,
        "returncode": returncode,
    }


def main() -> None:
    """`python -m scripts.evaluate MODEL TEXTS.json OUT.json`: {set: [text]} → {set: [intent]}."""
    model, request, answer = (pathlib.Path(arg) for arg in sys.argv[1:4])
    quiet_rasa()
    texts = json.loads(request.read_text(encoding="utf-8"))
    answer.write_text(json.dumps(parse(model, texts), ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    main()
