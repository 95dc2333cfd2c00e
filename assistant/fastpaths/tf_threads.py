"""TensorFlow on one thread (fast path `tf_threads`).

A parse is a few small matrix products: splitting each across both cores cost more than it
saved (measured with bench.assistant), and the cores are better left to the other
conversations and the action server. Rasa applies the thread counts from the environment at
start-up (`setup_tf_environment`); an operator's own setting wins.
"""

from __future__ import annotations

import os

TF_THREADS = {"TF_INTRA_OP_PARALLELISM_THREADS": "1", "TF_INTER_OP_PARALLELISM_THREADS": "1"}


def install() -> None:
    """Sets the thread counts Rasa applies at start-up unless they are set."""
    for name, value in TF_THREADS.items():
        os.environ.setdefault(name, value)
