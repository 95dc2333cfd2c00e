"""When a waiting customer's message raises their handoff's priority."""

from __future__ import annotations

import pytest

from router.gateway.urgency import should_raise


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
