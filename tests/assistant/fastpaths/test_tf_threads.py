"""assistant.fastpaths.tf_threads: one TensorFlow thread unless the operator says otherwise."""

from __future__ import annotations

import os

from assistant.fastpaths import tf_threads


def test_tensorflow_threads_default_to_one_and_an_operators_setting_wins(monkeypatch):
    monkeypatch.setenv("TF_INTER_OP_PARALLELISM_THREADS", "2")
    monkeypatch.delenv("TF_INTRA_OP_PARALLELISM_THREADS", raising=False)
    tf_threads.install()
    assert os.environ["TF_INTRA_OP_PARALLELISM_THREADS"] == "1"
    assert os.environ["TF_INTER_OP_PARALLELISM_THREADS"] == "2"
