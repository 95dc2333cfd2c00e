"""Triage benchmark on the held-out split: keyword rules alone, the model alone, both combined.

    PYTHONPATH=. .venv-bot/bin/python -m bench.triage [--cv 5] [--errors]

Trains the scikit-learn model directly with the code `UrgencyClassifier.train` runs: the YAML
files are read with Rasa's own reader, turned into examples by
`components.triage_model.examples_from_messages` and fitted by `TriageModel.fit` with the
component's default config. Every labelled message of eval/nlu_holdout/ is then scored given its
gold intent (intent accuracy is bench/nlu.py's business). Prints macro-F1 for urgency, complaint
category, severity, fault category (and service), and recall on critical urgency and on major
severity (target >= 0.95 for both).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TRAIN_DIR = ROOT / "nlu_data"
HOLDOUT_DIR = ROOT / "eval" / "nlu_holdout"
TARGET_RECALL = 0.95


def load_examples(paths: list[Path]) -> list:
    """Read Rasa YAML NLU files with Rasa's reader; unreadable files are skipped with a warning."""
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader

    from components.triage_model import examples_from_messages

    triples = []
    for path in paths:
        try:
            data = RasaYAMLReader().read(str(path))
        except Exception as exc:  # another author's file mid-edit must not stop the bench
            print(f"warning: skipped {path.relative_to(ROOT)}: {exc}", file=sys.stderr)
            continue
        for msg in data.training_examples:
            meta = (msg.get("metadata") or {}).get("example")
            triples.append((msg.get("text"), msg.get("intent"), meta))
    return examples_from_messages(triples)


def yaml_files(folder: Path) -> list[Path]:
    return (
        sorted(p for p in folder.rglob("*.yml") if "lookups" not in p.parts)
        if folder.exists()
        else []
    )


def macro_f1(gold: list[str], pred: list[str]) -> float:
    from sklearn.metrics import f1_score

    labels = sorted(set(gold))
    return (
        float(f1_score(gold, pred, labels=labels, average="macro", zero_division=0))
        if gold
        else float("nan")
    )


def recall(gold: list[str], pred: list[str], label: str) -> tuple[float, int, int]:
    idx = [i for i, g in enumerate(gold) if g == label]
    hit = sum(1 for i in idx if pred[i] == label)
    return (hit / len(idx) if idx else float("nan")), hit, len(idx)


def at_least(
    gold: list[str], pred: list[str], label: str, order: tuple[str, ...]
) -> tuple[float, int, int]:
    """Recall of `label`, counting a prediction at or above it as found (over-escalation is not
    a miss)."""
    idx = [i for i, g in enumerate(gold) if g == label]
    hit = sum(1 for i in idx if order.index(pred[i]) >= order.index(label))
    return (hit / len(idx) if idx else float("nan")), hit, len(idx)


def evaluate(model: Any, examples: list, mode: str, raw: bool = False) -> dict[str, Any]:
    from components.triage_model import triage

    use_model = mode in ("model", "combined")
    use_rules = mode in ("rules", "combined")
    cols: dict[str, tuple[list[str], list[str]]] = {
        k: ([], []) for k in ("urgency", "category", "severity", "fault", "service")
    }
    for ex in examples:
        res = triage(ex.text, ex.intent, model, use_model=use_model, use_rules=use_rules)
        lab = ex.labels
        if "urgency" in lab:
            cols["urgency"][0].append(lab["urgency"])
            cols["urgency"][1].append(res["urgency"]["name"])
        if "complaint" in res:
            if "complaint_category" in lab:
                cols["category"][0].append(lab["complaint_category"])
                cols["category"][1].append(res["complaint"]["category"])
            if "severity" in lab:
                cols["severity"][0].append(lab["severity"])
                cols["severity"][1].append(res["complaint"]["severity"])
        if "fault" in res:
            if "fault_category" in lab:
                cols["fault"][0].append(lab["fault_category"])
                cols["fault"][1].append(res["fault"]["category"])
            if "service" in lab:
                cols["service"][0].append(lab["service"])
                cols["service"][1].append(res["fault"]["service"])
    return cols if raw else score(cols)


def score(cols: dict[str, tuple[list[str], list[str]]]) -> dict[str, Any]:
    from components.triage_rules import URGENCY_LEVELS

    return {
        "urgency macro-F1": macro_f1(*cols["urgency"]),
        "complaint category macro-F1": macro_f1(*cols["category"]),
        "severity macro-F1": macro_f1(*cols["severity"]),
        "fault category macro-F1": macro_f1(*cols["fault"]),
        "service macro-F1": macro_f1(*cols["service"]),
        "critical urgency recall": recall(*cols["urgency"], "critical"),
        "major severity recall": recall(*cols["severity"], "major"),
        "critical found at >= high": at_least(*cols["urgency"], "critical", URGENCY_LEVELS),
        "urgency accuracy": _acc(*cols["urgency"]),
        "_n": {k: len(v[0]) for k, v in cols.items()},
    }


def _acc(gold: list[str], pred: list[str]) -> float:
    return (
        sum(g == p for g, p in zip(gold, pred, strict=False)) / len(gold) if gold else float("nan")
    )


def fmt(v: Any) -> str:
    if isinstance(v, tuple):
        r, hit, n = v
        return f"{r:.3f} ({hit}/{n})"
    return f"{v:.3f}"


def print_table(title: str, results: dict[str, dict[str, Any]]) -> None:
    modes = list(results)
    rows = [k for k in next(iter(results.values())) if not k.startswith("_")]
    width = max(len(r) for r in rows) + 2
    print(f"\n{title}")
    print("metric".ljust(width) + "".join(m.rjust(18) for m in modes))
    print("-" * (width + 18 * len(modes)))
    for row in rows:
        line = row.ljust(width) + "".join(fmt(results[m][row]).rjust(18) for m in modes)
        if "recall" in row and "critical found" not in row:
            best = results["combined"][row][0]
            line += "   target >= 0.95 " + ("met" if best >= TARGET_RECALL else "NOT met")
        print(line)


def cross_validate(train: list, folds: int) -> dict[str, dict[str, Any]]:
    """k-fold CV over the complaint/fault examples (other intents' data always in training)."""
    import random

    from components.triage_model import COMPLAIN_INTENT, FAULT_INTENT, TriageModel

    mine = [e for e in train if e.intent in (COMPLAIN_INTENT, FAULT_INTENT)]
    rest = [e for e in train if e.intent not in (COMPLAIN_INTENT, FAULT_INTENT)]
    random.Random(2026).shuffle(mine)
    fold_models = []
    for k in range(folds):
        test = mine[k::folds]
        fit = [e for i, e in enumerate(mine) if i % folds != k] + rest
        fold_models.append((TriageModel().fit(fit), test))
    return {mode: evaluate_folds(fold_models, mode) for mode in ("rules", "model", "combined")}


def evaluate_folds(fold_models: list, mode: str) -> dict[str, Any]:
    """Pool every fold's predictions, then score them as one set."""
    pooled: dict[str, Any] = {}
    for model, test in fold_models:
        part = evaluate(model, test, mode, raw=True)
        for key, (gold, pred) in part.items():
            g, p = pooled.setdefault(key, ([], []))
            g.extend(gold)
            p.extend(pred)
    return score(pooled)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--cv", type=int, default=0, help="also k-fold cross-validate on the training data"
    )
    parser.add_argument(
        "--errors", action="store_true", help="list the combined mode's misses on the holdout"
    )
    args = parser.parse_args(argv)
    logging.disable(logging.WARNING)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

    from components.triage_model import TriageModel, triage

    train = load_examples(yaml_files(TRAIN_DIR))
    holdout = [e for e in load_examples(yaml_files(HOLDOUT_DIR)) if e.labels]
    train_texts = {e.text for e in train}
    leaked = [e.text for e in holdout if e.text in train_texts]
    if leaked:
        print(f"ERROR: {len(leaked)} held-out messages also in training data, e.g. {leaked[0]}")
        return 1

    t0 = time.perf_counter()
    model = TriageModel().fit(train)
    fit_s = time.perf_counter() - t0
    labelled = sum(1 for e in train if e.labels)
    print(
        f"training examples: {len(train)} ({labelled} with triage labels); "
        f"held-out labelled: {len(holdout)}; fit {fit_s:.1f} s"
    )

    results = {mode: evaluate(model, holdout, mode) for mode in ("rules", "model", "combined")}
    n = results["combined"]["_n"]
    print_table(
        f"held-out split (urgency n={n['urgency']}, complaints n={n['category']}, "
        f"faults n={n['fault']})",
        results,
    )

    t0 = time.perf_counter()
    for e in holdout:
        triage(e.text, e.intent, model)
    per_msg = (time.perf_counter() - t0) / max(1, len(holdout)) * 1000
    print(f"\ncombined triage per message (in process, incl. t2s conversion): {per_msg:.2f} ms")

    if args.errors:
        print("\ncombined-mode misses on the held-out split:")
        for e in holdout:
            r = triage(e.text, e.intent, model)
            got = {"urgency": r["urgency"]["name"]}
            if "complaint" in r:
                got.update(
                    complaint_category=r["complaint"]["category"],
                    severity=r["complaint"]["severity"],
                )
            if "fault" in r:
                got.update(fault_category=r["fault"]["category"], service=r["fault"]["service"])
            diff = {
                k: f"{e.labels[k]}->{v}"
                for k, v in got.items()
                if k in e.labels and e.labels[k] != v
            }
            if diff:
                print(f"  {diff}  {e.text}")

    if args.cv:
        print_table(
            f"{args.cv}-fold cross-validation on the training data (not the holdout)",
            cross_validate(train, args.cv),
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
