"""Intent and urgency quality: our pipeline versus a plain scikit-learn baseline, on two sets.

- the blind set (eval/blind/, bench.blind): written outside the project from the definitions
  only, never trained on — the set that judges a change: accuracy overall and per intent and per
  voice, the confusion pairs, and urgency (critical recall, routine messages called critical);
- the held-out split (eval/nlu_holdout/), written by the same hands as the training data; also
  its annotated entities (type and span), which the flows act on.

Prints, side by side, accuracy and macro-F1 of
  - ours: the trained assistant (models/assistant.tar.gz), top intent of DIET (and, on a
    separate row, the final answer where the FallbackClassifier's nlu_fallback counts as wrong);
  - baseline: TF-IDF over character 1–3-grams + logistic regression, trained on the same data;
and 5-fold cross-validation over the training data of both (ours retrained per fold, NLU only).

Run: python -m bench.nlu [--folds 5] [--no-cv]     (make bench runs it after make train)
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import logging
import os
import pathlib
import subprocess
import tempfile
import time
import warnings
from collections import Counter
from typing import TYPE_CHECKING, Any

from bench import blind
from bench.report import table
from scripts import services
from scripts.paths import CONFIG, DOMAIN, HOLDOUT, MODEL, MULTI_REQUESTS, ROOT

if TYPE_CHECKING:
    from rasa.shared.nlu.training_data.message import Message

Example = tuple[str, str]
Span = tuple[str, int, int]  # entity type, start, end
FALLBACK = blind.FALLBACK


@functools.cache
def _labelled(path: pathlib.Path) -> list[Message]:
    """The examples of `path` that have an intent, read once per path (the held-out split gives
    both its intents and its entities)."""
    from rasa.shared.nlu.training_data.loading import load_data

    return [m for m in load_data(str(path)).training_examples if m.get("intent")]


def load_examples(path: pathlib.Path) -> list[Example]:
    return [(m.get("text"), m.get("intent")) for m in _labelled(path)]


def _spans(entities: list[dict[str, Any]]) -> set[Span]:
    return {(e["entity"], e["start"], e["end"]) for e in entities}


def load_entities(path: pathlib.Path) -> list[set[Span]]:
    """The annotated entities of each example of `path` that has an intent, in load_examples'
    order."""
    return [_spans(m.get("entities") or []) for m in _labelled(path)]


def entities_of(results: list[dict]) -> list[set[Span]]:
    """The (type, start, end) of every entity each parse result names, whichever extractor."""
    return [_spans(res["entities"]) for res in results]


def entity_scores(gold: list[set[Span]], found: list[set[Span]]) -> list[list[object]]:
    """Rows (entity type, annotated, precision, recall, F1), one per type annotated or found and
    a last one for all: an entity counts as found when its type and span are both right."""
    hits: Counter[str] = Counter()
    annotated: Counter[str] = Counter()
    claimed: Counter[str] = Counter()
    for g, f in zip(gold, found, strict=True):
        hits.update(s[0] for s in g & f)
        annotated.update(s[0] for s in g)
        claimed.update(s[0] for s in f)

    def row(name: str, hit: int, gold_n: int, found_n: int) -> list[object]:
        precision = hit / found_n if found_n else 0.0
        recall = hit / gold_n if gold_n else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return [name, gold_n, precision, recall, f1]

    total = row("all", hits.total(), annotated.total(), claimed.total())
    return [
        *(row(t, hits[t], annotated[t], claimed[t]) for t in sorted(annotated | claimed)),
        total,
    ]


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


def parse_all(model_path: pathlib.Path, texts: list[str]) -> list[dict]:
    from rasa.core.agent import Agent

    agent = Agent.load(str(model_path))

    async def parse() -> list[dict]:
        return [await agent.parse_message(text) for text in texts]

    return asyncio.run(parse())


def intents_of(results: list[dict]) -> tuple[list[str], list[str]]:
    """(classifier's top intent ignoring fallback, final intent incl. nlu_fallback)."""
    top = [
        next(r["name"] for r in res["intent_ranking"] if r["name"] != FALLBACK) for res in results
    ]
    return top, [res["intent"]["name"] for res in results]


def urgency_of(result: dict) -> str | None:
    urgency = result.get("urgency")
    return urgency.get("name") if isinstance(urgency, dict) else None


def ours_predict(model_path: pathlib.Path, texts: list[str]) -> tuple[list[str], list[str]]:
    """Returns (classifier's top intent ignoring fallback, final intent incl. nlu_fallback)."""
    return intents_of(parse_all(model_path, texts))


def blind_report(train: list[Example]) -> None:
    """Everything bench.nlu prints about the blind set."""
    messages, unclear = blind.load(), blind.load_unclear()
    texts, truth = [m.text for m in messages], [m.intent for m in messages]
    parsed = parse_all(MODEL, texts + [m.text for m in unclear])  # one model load
    results, unclear_results = parsed[: len(texts)], parsed[len(texts) :]
    top, final = intents_of(results)
    base = baseline_predict(train, texts)
    rows = [
        ["ours (DIET top intent)", *scores(truth, top)],
        ["ours (final, nlu_fallback = wrong)", *scores(truth, final)],
        ["baseline (TF-IDF char 1-3 + LR)", *scores(truth, base)],
    ]
    print(
        table(
            f"Intent classification on the BLIND set ({len(messages)} messages, "
            f"{len(set(truth))} intents, sha256 {blind.recorded_hash()[:12]}…)",
            ["model", "accuracy", "macro-F1"],
            rows,
        )
    )
    print(f"ours (final) vs baseline on the blind set: accuracy {rows[1][1] - rows[2][1]:+.3f}\n")
    print_per_intent("Blind set", truth, final, top, base)
    voices = sorted({v for m in messages for v in m.voice})
    voice_rows = []
    for voice in voices:
        idx = [i for i, m in enumerate(messages) if voice in m.voice]
        voice_rows.append(
            [
                voice,
                len(idx),
                sum(final[i] == truth[i] for i in idx) / len(idx),
                sum(base[i] == truth[i] for i in idx) / len(idx),
            ]
        )
    print(table("Blind set per voice", ["voice", "n", "ours final", "baseline"], voice_rows))
    print_confusions("Blind set", truth, final, base)
    threshold_report(truth, results, final, unclear_results)
    urgency = blind.urgency_report(messages, [urgency_of(r) for r in results])
    print(
        table(
            "Blind set: urgency (the NLU pipeline's UrgencyClassifier)",
            ["measure", "value"],
            [
                ["critical recall", urgency.critical_recall],
                ["critical messages", urgency.critical_total],
                ["critical precision", urgency.critical_precision],
                ["low-urgency messages called critical", urgency.low_called_critical],
                ["exact level", urgency.exact],
            ],
        )
    )
    if urgency.missed:
        missed = ", ".join(f"{i}→{level}" for i, level in urgency.missed)
        print(f"critical messages not read as critical: {missed}\n")


def print_per_intent(
    name: str, truth: list[str], final: list[str], top: list[str], base: list[str]
) -> None:
    print(
        table(
            f"{name} per intent (worst first by ours, final)",
            ["intent", "n", "ours final", "ours top", "baseline"],
            [[i, n, *accs] for i, n, accs in blind.per_intent(truth, final, top, base)],
        )
    )


def print_confusions(name: str, truth: list[str], final: list[str], base: list[str]) -> None:
    for model, predicted in (("ours, final", final), ("baseline", base)):
        print(
            table(
                f"{name}: most frequent confusions ({model})",
                ["true intent", "predicted", "count"],
                blind.confusions(truth, predicted),
            )
        )


def multi_request_report(
    train: list[Example], examples: list[Example], top: list[str], final: list[str]
) -> None:
    """First-request accuracy on the development set of several requests in one message
    (eval/multi_requests: never trained on; it chose the clause decision's thresholds), from
    our predictions `top` and `final` of its `examples`."""
    texts, truth = [t for t, _ in examples], [i for _, i in examples]
    rows = [
        ["ours (top intent)", scores(truth, top)[0]],
        ["ours (final, nlu_fallback = wrong)", scores(truth, final)[0]],
        ["baseline (TF-IDF char 1-3 + LR)", scores(truth, baseline_predict(train, texts))[0]],
    ]
    print(
        table(
            f"Several requests in one message: the first request ({len(examples)} messages, "
            "eval/multi_requests, a development set)",
            ["model", "accuracy"],
            rows,
        )
    )


def fallback_config() -> tuple[float, float]:
    """The FallbackClassifier's (threshold, ambiguity_threshold) in config.yml."""
    import yaml

    for step in yaml.safe_load(CONFIG.read_text())["pipeline"]:
        if step["name"] == "FallbackClassifier":
            return float(step["threshold"]), float(step["ambiguity_threshold"])
    raise ValueError("config.yml has no FallbackClassifier")


def threshold_report(
    truth: list[str], results: list[dict], final: list[str], unclear_results: list[dict]
) -> None:
    """The fallback threshold by cost: turns lost per threshold on the blind set and on the
    messages without a request (blind.load_unclear, parsed into `unclear_results`)."""
    ranked = []
    for res, answer in zip(
        [*results, *unclear_results], [*final, *intents_of(unclear_results)[1]], strict=True
    ):
        ranking = [(r["name"], r["confidence"]) for r in res["intent_ranking"]]
        ranking = [(name, c) for name, c in ranking if name != FALLBACK]
        if res.get("input_problem"):  # InputGuard: fallback whatever the threshold
            ranking = [(FALLBACK, 1.0)]
        elif answer != FALLBACK and answer != ranking[0][0]:  # components after DIET decided
            ranking[0] = (answer, ranking[0][1])
        ranked.append(ranking)
    configured, ambiguity = fallback_config()
    thresholds = sorted({configured, *(round(0.3 + 0.05 * i, 2) for i in range(11))})
    gold = [*truth, *[FALLBACK] * len(unclear_results)]
    ambiguities = sorted({ambiguity, *(round(0.02 * i, 2) for i in range(6))})
    grid = {a: blind.threshold_costs(gold, ranked, thresholds, a) for a in ambiguities}
    rows = grid[ambiguity]
    best = min(rows, key=lambda row: (row.cost, -row.threshold))
    print(
        table(
            f"Blind set and {len(unclear_results)} messages without a request: fallback "
            f"threshold by cost (a fallback costs {blind.FALLBACK_COST} turn, a wrong intent "
            f"{blind.WRONG_COST}; ambiguity {ambiguity})",
            [
                "threshold",
                "to fallback",
                "of them right",
                "wrong accepted",
                "no request, accepted",
                "turns lost",
                "",
            ],
            [
                [
                    f"{row.threshold:.2f}",
                    row.fallback,
                    row.fallback_right,
                    row.wrong,
                    row.unclear_accepted,
                    row.cost,
                    ("configured " if row.threshold == configured else "")
                    + ("lowest" if row is best else ""),
                ]
                for row in rows
            ],
        )
    )
    print(
        table(
            "The same messages: turns lost by threshold (rows) and ambiguity threshold (columns)",
            ["threshold", *(f"{a:.2f}" for a in ambiguities)],
            [
                [f"{t:.2f}", *(grid[a][i].cost for a in ambiguities)]
                for i, t in enumerate(thresholds)
            ],
        )
    )


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
    blind_report(train)
    holdout, multi = load_examples(HOLDOUT), load_examples(MULTI_REQUESTS)
    texts, truth = [t for t, _ in holdout], [i for _, i in holdout]
    parsed = parse_all(MODEL, texts + [t for t, _ in multi])  # one model load
    top, final = intents_of(parsed)
    multi_top, multi_final = top[len(texts) :], final[len(texts) :]
    top, final = top[: len(texts)], final[: len(texts)]
    base = baseline_predict(train, texts)
    rows = [
        ["ours (DIET top intent)", *scores(truth, top)],
        ["ours (final, nlu_fallback = wrong)", *scores(truth, final)],
        ["baseline (TF-IDF char 1-3 + LR)", *scores(truth, base)],
    ]
    (_, top_acc, _), (_, ours_acc, ours_f1), (_, base_acc, base_f1) = rows
    print(
        table(
            f"Intent classification on the held-out split ({len(holdout)} messages, "
            f"{len(set(truth))} intents; trained on {len(train)})",
            ["model", "accuracy", "macro-F1"],
            rows,
        )
    )
    print(
        f"ours (final) vs baseline on held-out: accuracy {ours_acc - base_acc:+.3f} "
        f"({top_acc - base_acc:+.3f} by the top intent), macro-F1 {ours_f1 - base_f1:+.3f} "
        f"(error rate {1 - ours_acc:.3f} vs {1 - base_acc:.3f})\n"
    )
    print_per_intent("Held-out split", truth, final, top, base)
    print_confusions("Held-out split", truth, final, base)
    fallback_rate = sum(f == FALLBACK for f in final) / len(final)
    print(f"nlu_fallback on held-out: {fallback_rate:.1%} of messages\n")
    print(
        table(
            "Entities on the held-out split (type and span right; every extractor)",
            ["entity", "annotated", "precision", "recall", "F1"],
            entity_scores(load_entities(HOLDOUT), entities_of(parsed[: len(texts)])),
        )
    )
    multi_request_report(train, multi, multi_top, multi_final)
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
