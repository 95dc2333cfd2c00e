"""`rasa train` without Rasa's training cache, which a forced training never reads.

    .venv-bot/bin/python -m assistant.train train --force --domain … --data … --config … --out …

Rasa's GraphTrainer runs every node of the training graph with a `TrainingHook` that
fingerprints the node's inputs before it runs and its output after, then copies the output into
the cache under .rasa/cache, so that a later training can skip the nodes whose inputs did not
change. A training data fingerprint hashes every message with its features, after each
featuriser: on the 9,800 training examples a py-spy profile of `rasa train` put 48 s of the
single core's work in those hooks (docs/benchmarks.md, "Training time"). Our trainings are
always forced (scripts/train.py's own fingerprint decides whether to train; a challenger is
always trained from scratch), so Rasa's fingerprint run never consults that cache: the hook is
pure cost. Here it is replaced by one that does nothing; the model is the same (the hook reads
the outputs, never changes them). Anything but a forced `rasa train` is refused.
"""

from __future__ import annotations

import sys
from typing import Any

from rasa.engine.graph import GraphNodeHook

RASA_VERSION = "3.6.21"  # the hook's place in GraphTrainer.train was read in this version


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


def check(argv: list[str]) -> None:
    """Raises ValueError unless `argv` is a forced `rasa train` on the pinned Rasa."""
    import rasa

    if rasa.__version__ != RASA_VERSION:
        raise ValueError(f"written against Rasa {RASA_VERSION}, found {rasa.__version__}")
    if argv[:1] != ["train"] or "--force" not in argv:
        raise ValueError("only a forced training (`train … --force`) skips Rasa's cache")


def install() -> None:
    """GraphTrainer builds NoTrainingCache where it would build TrainingHook."""
    from rasa.engine.training import graph_trainer

    graph_trainer.TrainingHook = NoTrainingCache  # type: ignore[misc,assignment]


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
