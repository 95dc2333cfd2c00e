"""Sparse features joined without `bmat` (fast path `sparse_hstack`).

Each featurizer's matrix is appended to the previous ones with `scipy.sparse.hstack`, built for
grids of blocks and checking and converting each block several times; two blocks side by side
are their entries with the right one's columns moved along (`hstack_coo`).
"""

from __future__ import annotations

from typing import Any


def hstack_coo(left: Any, right: Any) -> Any:
    """`scipy.sparse.hstack([left, right])` for two matrices with the same rows, as COO."""
    import numpy as np
    from scipy.sparse import coo_matrix

    a, b = left.tocoo(), right.tocoo()
    return coo_matrix(
        (
            np.concatenate([a.data, b.data]),
            (np.concatenate([a.row, b.row]), np.concatenate([a.col, b.col + a.shape[1]])),
        ),
        shape=(a.shape[0], a.shape[1] + b.shape[1]),
    )


def install() -> None:
    from rasa.shared.nlu.training_data.features import Features

    rasa_combine = Features._combine_sparse_features

    def _combine_sparse_features(self: Features, additional_features: Features) -> None:
        if self.features.shape[0] != additional_features.features.shape[0]:
            rasa_combine(self, additional_features)  # raises Rasa's error
            return
        self.features = hstack_coo(self.features, additional_features.features)
        self._cached_fingerprint = None

    Features._combine_sparse_features = _combine_sparse_features  # type: ignore[method-assign]
