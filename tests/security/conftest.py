"""The whole product, started once per test session the way `make run` starts it, for the
attack tests (tests/stack.py: `scripts.run --var TMP --free-ports --ready-file F` in the bot
environment), with a throwaway redis-server of the test's own (so a test can make Redis hang)
and per-install secrets generated into TMP/secrets.env.

The tests run in the router environment (httpx, Playwright) and talk to the services over HTTP
only, as an attacker would.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from router.embedded_redis import start_redis  # noqa: E402
from tests.stack import (  # noqa: E402
    START_TIMEOUT_S,
    Customer,
    Stack,
    open_conversation,
    read_env_file,
    running_stack,
)

__all__ = ["Customer", "Stack", "open_conversation", "read_env_file"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(START_TIMEOUT_S + 180))


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    base = tmp_path_factory.mktemp("stack")
    redis = start_redis(base / "redis", appendonly=False)
    try:
        with running_stack(base, redis=redis) as running:
            yield running
    finally:
        redis.stop()


@pytest.fixture
def http(stack: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.router_url, timeout=30) as client:
        yield client


@pytest.fixture
def customer(http: httpx.Client) -> Customer:
    """A fresh conversation opened as a customer would."""
    return open_conversation(http)
