"""`rasa train` without Rasa's training cache, and the components that do not wait for each
other trained side by side.

    .venv-bot/bin/python -m assistant.train train --force --domain … --data … --config … --out …

Rasa's GraphTrainer runs every node of the training graph with a `TrainingHook` that
fingerprints the node's inputs before it runs and its output after, then copies the output into
the cache under .rasa/cache, so that a later training can skip the nodes whose inputs did not
change. A training data fingerprint hashes every message with its features, after each
featuriser: a py-spy profile of `rasa train` put a sixth of a training in those hooks
(docs/benchmarks.md, "The eighth round back, and training without Rasa's cache"). Our
trainings are always forced (scripts/train.py's own fingerprint decides whether to train; a
challenger is always trained from scratch), so Rasa's fingerprint run never consults that
cache: the hook is pure cost. Here it is replaced by one that does nothing; the model is the
same (the hook reads the outputs, never changes them).

Rasa runs the training graph one node at a time (`dask.get`), so the intent vote and the urgency
model (scikit-learn) wait for DIET (TensorFlow, the longest node, on about one core) though
none needs another's output. Here the graph runs on several threads (`dask.threaded.get`), except
that the TensorFlow trainings still run one after the other, in name order: each seeds Python's,
NumPy's and TensorFlow's global generators when it starts and draws from them while it trains,
so two at once would not train the same model twice. The scikit-learn components take their
own seeded generators and never draw from the global ones.

Anything but a forced `rasa train` is refused.
"""

from __future__ import annotations

import itertools
import sys
from typing import Any

import dask.threaded
from rasa.core.policies.ted_policy import TEDPolicy
from rasa.engine.exceptions import GraphRunError
from rasa.engine.graph import GraphNodeHook, GraphSchema
from rasa.engine.runner.dask import DaskGraphRunner
from rasa.nlu.classifiers.diet_classifier import DIETClassifier

# the Rasa the fast paths were written against: GraphTrainer.train's hooks and model_training's
# runner were read in that version too
from assistant.fastpaths import RASA_VERSION


class NoTrainingCache(GraphNodeHook):
    """Takes the place of rasa.engine.training.hooks.TrainingHook (same constructor): computes
    no fingerprint and caches nothing."""

    def __init__(self, cache: Any, model_storage: Any, pruned_schema: Any) -> None:
        del cache, model_storage, pruned_schema

    def on_before_node(
        self, node_name: str, execution_context: Any, config: Any, received_inputs: Any
    ) -> dict[str, Any]:
        return {}

    def on_after_node(
        self,
        node_name: str,
        execution_context: Any,
        config: Any,
        output: Any,
        input_hook_data: Any,
    ) -> None:
        return None


# Components that train a TensorFlow model (RasaModel): DIET, the response selector (a DIET
# subclass, like our FAQ selector), TED and UnexpecTED (a TED subclass).
TENSORFLOW = (DIETClassifier, TEDPolicy)
# Enough threads for every node ready at the same time (after the featurisers: DIET, the vote,
# urgency, the synonyms), so that DIET, the longest, starts at once instead of waiting for a
# thread: with two, dask started the vote and urgency first. The OS shares the cores.
THREADS = 4


def serialised(graph: dict[str, Any], schema: GraphSchema) -> dict[str, Any]:
    """`graph` (a dask graph of `schema`'s nodes) with each TensorFlow training made to wait for
    the one before it, in name order: the node's task gets the earlier node as one more input,
    which the node ignores (GraphNode takes only the inputs its schema names)."""
    names = sorted(
        name
        for name, node in schema.nodes.items()
        if name in graph and node.fn == "train" and issubclass(node.uses, TENSORFLOW)
    )
    chained = dict(graph)
    for before, after in itertools.pairwise(names):
        chained[after] = (*chained[after], before)
    return chained


class TrainingGraphRunner(DaskGraphRunner):
    """Rasa's DaskGraphRunner on THREADS threads, its TensorFlow trainings one at a time."""

    def _build_dask_graph(self, schema: GraphSchema) -> dict[str, Any]:
        return serialised(super()._build_dask_graph(schema), schema)

    def run(
        self, inputs: dict[str, Any] | None = None, targets: list[str] | None = None
    ) -> dict[str, Any]:
        run_targets = targets if targets else self._graph_schema.target_names
        graph = self._build_dask_graph(self._graph_schema.minimal_graph_schema(run_targets))
        if inputs:
            self._add_inputs_to_graph(inputs, graph)
        try:
            return dict(dask.threaded.get(graph, run_targets, num_workers=THREADS))
        except RuntimeError as error:
            raise GraphRunError("Error running runner.") from error


def check(argv: list[str]) -> None:
    """Raises ValueError unless `argv` is a forced `rasa train` on the pinned Rasa."""
    import rasa

    if rasa.__version__ != RASA_VERSION:
        raise ValueError(f"written against Rasa {RASA_VERSION}, found {rasa.__version__}")
    if argv[:1] != ["train"] or "--force" not in argv:
        raise ValueError("only a forced training (`train … --force`) skips Rasa's cache")


def install() -> None:
    """GraphTrainer builds NoTrainingCache where it would build TrainingHook, and a training
    runs its graph with TrainingGraphRunner instead of DaskGraphRunner."""
    from rasa import model_training
    from rasa.engine.training import graph_trainer

    graph_trainer.TrainingHook = NoTrainingCache  # type: ignore[misc,assignment]
    model_training.DaskGraphRunner = TrainingGraphRunner  # type: ignore[misc]


def main() -> None:
    from rasa.__main__ import main as rasa_main

    try:
        check(sys.argv[1:])
    except ValueError as error:
        sys.exit(f"assistant.train: {error}")
    install()
    sys.argv[0] = "rasa"
    rasa_main()


if __name__ == "__main__":
    main()
