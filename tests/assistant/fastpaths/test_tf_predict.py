"""assistant.fastpaths.tf_predict: DIET's concrete function gives the same parses on the trained
model; the flat call answers as the structured call."""

from __future__ import annotations

import numpy as np
import pytest
from rasa.utils.tensorflow import models

from assistant.fastpaths import tf_predict


def test_concrete_tf_function_gives_the_same_parses(agent, texts, parses, monkeypatch):
    expected = parses(agent, texts)
    monkeypatch.setattr(models.RasaModel, "_rasa_predict", models.RasaModel._rasa_predict)
    tf_predict.install()
    assert parses(agent, texts) == parses(agent, texts) == expected  # built, then reused
    from tensorflow.python.eager.polymorphic_function.monomorphic_function import (
        ConcreteFunction,
    )

    def refuse(*args, **kwargs):
        raise AssertionError("went through the structured call")

    monkeypatch.setattr(ConcreteFunction, "__call__", refuse)
    assert parses(agent, texts) == expected  # every batch took the flat call


def test_flat_call_answers_as_the_structured_call_and_falls_back_for_misfits(monkeypatch):
    import tensorflow as tf

    spec = (tf.TensorSpec([None, 2], tf.float32), tf.TensorSpec([None], tf.int64))

    @tf.function(input_signature=[spec])
    def step(batch):
        return {"sum": tf.reduce_sum(batch[0], axis=1) + tf.cast(batch[1], tf.float32)}

    concrete = step.get_concrete_function()
    flat = tf_predict.FlatCall(concrete)
    batch = (np.arange(6, dtype=np.float32).reshape(3, 2), np.arange(3))
    expected = concrete(batch)["sum"].numpy()
    structured = type(concrete).__call__

    def refuse(*args, **kwargs):
        raise AssertionError("went through the structured call")

    monkeypatch.setattr(type(concrete), "__call__", refuse)
    assert np.array_equal(flat(batch)["sum"].numpy(), expected)  # the flat path
    monkeypatch.setattr(type(concrete), "__call__", structured)
    converted = (np.ones((3, 2), np.float64), np.arange(3))  # TensorFlow casts it
    assert np.array_equal(flat(converted)["sum"].numpy(), concrete(converted)["sum"].numpy())
    for misfit in [
        (np.ones((3, 3), np.float32), np.arange(3)),  # wrong shape
        (np.ones((3, 2), np.float32),),  # missing input
    ]:
        with pytest.raises((TypeError, ValueError)) as theirs:
            concrete(misfit)
        with pytest.raises(type(theirs.value)):
            flat(misfit)
