"""assistant.fastpaths.sparse_hstack: features joined as scipy and Rasa join them."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse
from rasa.shared.nlu.training_data.features import Features

from assistant.fastpaths import sparse_hstack


@pytest.mark.parametrize("rows", [1, 3, 17])
@pytest.mark.parametrize("dtypes", [(np.float32, np.float32), (np.int64, np.float32), (bool, bool)])
@pytest.mark.parametrize("formats", [("coo", "coo"), ("csr", "coo"), ("coo", "csr")])
def test_hstack_coo_is_scipys_hstack(rows, dtypes, formats):
    rng = np.random.default_rng(rows)
    left = scipy.sparse.random(rows, 40, 0.2, format=formats[0], random_state=rng) * 7
    right = scipy.sparse.random(rows, 300, 0.05, format=formats[1], random_state=rng) * 3
    left, right = left.astype(dtypes[0]), right.astype(dtypes[1])
    expected, got = scipy.sparse.hstack([left, right]), sparse_hstack.hstack_coo(left, right)
    assert got.format == expected.format == "coo"
    assert got.dtype == expected.dtype and got.shape == expected.shape
    assert np.array_equal(got.toarray(), expected.toarray())


def test_combined_features_are_rasas_and_mismatches_raise_rasas_error(monkeypatch):
    def features(matrix):
        return Features(matrix, "sequence", "text", "origin")

    left = scipy.sparse.random(4, 10, 0.3, format="coo", random_state=1)
    right = scipy.sparse.random(4, 6, 0.3, format="coo", random_state=2)
    expected = features(left)
    expected.combine_with_features(features(right))
    monkeypatch.setattr(Features, "_combine_sparse_features", Features._combine_sparse_features)
    sparse_hstack.install()
    got = features(left)
    got.combine_with_features(features(right))
    assert np.array_equal(got.features.toarray(), expected.features.toarray())
    with pytest.raises(ValueError, match="sequence dimensions do not match"):
        got.combine_with_features(features(scipy.sparse.random(3, 6, 0.3, format="coo")))
