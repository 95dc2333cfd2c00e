"""The product as `make run` starts it (tests/stack.py), with two assistant instances, a durable
tracker store (SQLite under the run's var/) and the run's own Redis (the router's data and the
assistant's lock store). Each test module starts its own: the tests kill and restart processes.

The tests run in the router environment and talk to the product over HTTP only; the customers
are demo subscribers (actions/store/generate.py DEMO_SUBSCRIBERS, `python -m actions.store demo`).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.stack import START_TIMEOUT_S  # noqa: E402


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.slow)
            if item.get_closest_marker("timeout") is None:
                item.add_marker(pytest.mark.timeout(2 * START_TIMEOUT_S + 300))
