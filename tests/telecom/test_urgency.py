"""The urgency levels: their order, unknown levels, and when a waiting customer's message raises
their handoff's priority (the gateway's decision)."""

from __future__ import annotations

import pytest

from telecom.urgency import DEFAULT, LABELS, LEVELS, known, rank, should_raise


def test_levels_lowest_first_each_with_a_label():
    assert LEVELS == ("low", "normal", "high", "critical")
    assert [rank(level) for level in LEVELS] == [0, 1, 2, 3]
    assert set(LABELS) == set(LEVELS) and DEFAULT in LEVELS
    assert [LABELS[level] for level in LEVELS] == ["低", "普通", "高", "紧急"]
    assert DEFAULT == "normal"


@pytest.mark.parametrize(
    ("level", "expected"),
    [("high", "high"), ("panic", "normal"), (None, "normal"), (3, "normal"), (["low"], "normal")],
)
def test_known(level, expected):
    assert known(level) == expected


def test_rank_of_unknown_levels():
    assert rank(None) == rank("panic") == -1


@pytest.mark.parametrize(
    ("current", "new", "raise_it"),
    [
        ("normal", "critical", True),
        ("low", "high", True),
        ("high", "high", False),
        ("critical", "high", False),
        ("high", "low", False),
        (None, "high", True),  # unknown current counts as normal
        (None, "normal", False),
        ("normal", None, False),
        ("normal", "panic", False),
    ],
)
def test_should_raise(current, new, raise_it):
    assert should_raise(current, new) is raise_it
