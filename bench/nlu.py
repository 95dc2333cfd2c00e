"""Intent quality on the fixed held-out split: our pipeline versus a plain scikit-learn baseline.

Prints, side by side: accuracy and macro-F1 on eval/nlu_holdout/ of
  - ours: the trained assistant (models/assistant.tar.gz), top intent of DIET (and, on a
    separate row, the final answer where the FallbackClassifier's nlu_fallback counts as wrong);
  - baseline: TF-IDF over character 1–3-grams + logistic regression, trained on the same data;
and 5-fold cross-validation over the training data of both (ours retrained per fold, NLU only).

Run: python -m bench.nlu [--folds 5] [--no-cv]     (make bench runs it after make train)
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import pathlib
import subprocess
import tempfile
import time
import warnings

from bench.report import table
from scripts import services
from scripts.paths import CONFIG, DOMAIN, HOLDOUT, MODEL, ROOT

Example = tuple[str, str]
FALLBACK = "nlu_fallback"


def load_examples(path: pathlib.Path) -> list[Example]:
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(str(path))
    return [(m.get("text"), m.get("intent")) for m in data.training_examples if m.get("intent")]


def scores(truth: list[str], predicted: list[str]) -> tuple[float, float]:
    from sklearn.metrics import accuracy_score, f1_score

    labels = sorted(set(truth))
    return accuracy_score(truth, predicted), f1_score(
        truth, predicted, labels=labels, average="macro", zero_division=0
    )


def baseline_predict(train: list[Example], texts: list[str]) -> list[str]:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    model = make_pipeline(
        TfidfVectorizer(analyzer="char", ngram_range=(1, 3)), LogisticRegression(max_iter=3000)
    )
    model.fit([t for t, _ in train], [i for _, i in train])
    return list(model.predict(texts))


def ours_predict(model_path: pathlib.Path, texts: list[str]) -> tuple[list[str], list[str]]:
    """Returns (classifier's top intent ignoring fallback, final intent incl. nlu_fallback)."""
    from rasa.core.agent import Agent

    agent = Agent.load(str(model_path))

    async def parse_all() -> list[dict]:
        return [await agent.parse_message(text) for text in texts]

    results = asyncio.run(parse_all())
    top = [
        next(r["name"] for r in res["intent_ranking"] if r["name"] != FALLBACK) for res in results
    ]
    return top, [res["intent"]["name"] for res in results]


def train_nlu_only(train_file: pathlib.Path, out: pathlib.Path) -> pathlib.Path:
    command = [
        str(services.BIN / "rasa"),
        "train",
        "nlu",
        "--nlu",
        str(train_file),
        "--config",
        str(CONFIG),
        "--domain",
        str(DOMAIN),
        "--out",
        str(out),
        "--fixed-model-name",
        "fold",
    ]
    subprocess.run(
        command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    return out / "fold.tar.gz"


def _mean(pairs: list[tuple[float, float]]) -> tuple[float, float]:
    return sum(p[0] for p in pairs) / len(pairs), sum(p[1] for p in pairs) / len(pairs)


def cross_validate(folds: int) -> tuple[tuple[float, float], tuple[float, float], float]:
    """Mean (accuracy, macro-F1) of ours and of the baseline over stratified folds."""
    from rasa.shared.nlu.training_data.loading import load_data
    from sklearn.model_selection import StratifiedKFold

    data = load_data(str(ROOT / "nlu_data"))
    examples = [m for m in data.training_examples if m.get("intent")]
    labels = [m.get("intent") for m in examples]
    ours, base, seconds = [], [], []
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=2026)
    with tempfile.TemporaryDirectory() as tmp:
        for n, (train_idx, test_idx) in enumerate(splitter.split(examples, labels)):
            keep = {id(examples[i]) for i in train_idx}
            fold = data.filter_training_examples(lambda m, keep=keep: id(m) in keep)
            fold_file = pathlib.Path(tmp) / f"fold{n}.yml"
            fold.persist_nlu(str(fold_file))
            started = time.monotonic()
            model = train_nlu_only(fold_file, pathlib.Path(tmp) / f"model{n}")
            seconds.append(time.monotonic() - started)
            test = [(examples[i].get("text"), labels[i]) for i in test_idx]
            texts, truth = [t for t, _ in test], [i for _, i in test]
            ours.append(scores(truth, ours_predict(model, texts)[0]))
            train = [(examples[i].get("text"), labels[i]) for i in train_idx]
            base.append(scores(truth, baseline_predict(train, texts)))
            print(
                f"  fold {n + 1}/{folds}: ours F1 {ours[-1][1]:.3f}, baseline F1 {base[-1][1]:.3f}"
            )
    return _mean(ours), _mean(base), sum(seconds) / len(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description="Intent accuracy and macro-F1, ours vs baseline.")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--no-cv", action="store_true", help="skip cross-validation")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    # the libraries' deprecation notices are not results (a filter would not hold: something
    # Rasa imports resets the warning filters)
    warnings.showwarning = lambda *args, **kwargs: None
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)  # else every parse prints a debug line

    train = load_examples(ROOT / "nlu_data")
    holdout = load_examples(HOLDOUT)
    texts, truth = [t for t, _ in holdout], [i for _, i in holdout]
    top, final = ours_predict(MODEL, texts)
    base = baseline_predict(train, texts)
    rows = [
        ["ours (DIET top intent)", *scores(truth, top)],
        ["ours (final, nlu_fallback = wrong)", *scores(truth, final)],
        ["baseline (TF-IDF char 1-3 + LR)", *scores(truth, base)],
    ]
    ours_acc, ours_f1 = rows[0][1], rows[0][2]
    base_acc, base_f1 = rows[2][1], rows[2][2]
    print(
        table(
            f"Intent classification on the held-out split ({len(holdout)} messages, "
            f"{len(set(truth))} intents; trained on {len(train)})",
            ["model", "accuracy", "macro-F1"],
            rows,
        )
    )
    print(
        f"ours vs baseline on held-out: accuracy {ours_acc - base_acc:+.3f}, "
        f"macro-F1 {ours_f1 - base_f1:+.3f} "
        f"(error rate {1 - ours_acc:.3f} vs {1 - base_acc:.3f})\n"
    )
    fallback_rate = sum(f == FALLBACK for f in final) / len(final)
    print(f"nlu_fallback on held-out: {fallback_rate:.1%} of messages\n")
    if not args.no_cv:
        print(
            f"{args.folds}-fold cross-validation over the training data (ours retrained per fold):"
        )
        ours_cv, base_cv, fold_seconds = cross_validate(args.folds)
        print(
            table(
                f"{args.folds}-fold cross-validation (mean over folds)",
                ["model", "accuracy", "macro-F1"],
                [["ours", *ours_cv], ["baseline", *base_cv]],
            )
        )
        print(f"mean NLU-only training time per fold: {fold_seconds:.0f} s")


if __name__ == "__main__":
    main()
