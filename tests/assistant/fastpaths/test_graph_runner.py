"""assistant.fastpaths.graph_runner: the graph run without dask parses and predicts as Rasa's
runner does on the trained model, and refuses what it refuses."""

from __future__ import annotations

import pytest
from rasa.engine.exceptions import GraphRunError
from rasa.shared.core.trackers import DialogueStateTracker

from assistant.fastpaths.graph_runner import SequentialGraphRunner


def _sequential(runner) -> SequentialGraphRunner:
    """A SequentialGraphRunner over the very nodes Rasa's runner has loaded."""
    sequential = SequentialGraphRunner.__new__(SequentialGraphRunner)
    sequential.__dict__.update(runner.__dict__)
    sequential._plans = {}
    return sequential


def test_sequential_runner_parses_and_predicts_as_rasas(agent, texts, parses, sample_events):
    processor = agent.processor
    rasa_runner = processor.graph_runner
    expected_parses = parses(agent, texts)
    trackers = [
        DialogueStateTracker.from_events("t", sample_events[:n], processor.domain.slots)
        for n in (2, 3, 7, 14)
    ]
    expected_actions = [processor.predict_next_with_tracker(t) for t in trackers]
    processor.graph_runner = _sequential(rasa_runner)
    try:
        assert parses(agent, texts) == expected_parses
        assert [processor.predict_next_with_tracker(t) for t in trackers] == expected_actions
    finally:
        processor.graph_runner = rasa_runner


def test_sequential_runner_refuses_what_rasas_refuses(agent):
    sequential = _sequential(agent.processor.graph_runner)
    node = next(iter(sequential._graph_schema.nodes))
    with pytest.raises(GraphRunError):
        sequential.run(inputs={node: "clash"})
    with pytest.raises(GraphRunError):
        sequential.run(targets=["no_such_node"])
