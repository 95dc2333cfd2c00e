"""Fixtures of the router tests: one throwaway redis-server for the session (free port, files in
tmp), a fresh key prefix per test, factories for settings, engines, apps and HTTP clients."""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
import uvicorn
from pydantic import SecretStr

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from router.app import create_app  # noqa: E402
from router.embedded_redis import RedisServer, free_port, start_redis  # noqa: E402
from router.engine import Engine  # noqa: E402
from router.settings import Settings  # noqa: E402
from telecom.secrets import new_secret  # noqa: E402

# generated per test run (telecom/secrets.py's rule), like every deployment's
ADMIN = new_secret()
SERVICE = new_secret()
RASA = new_secret()
PSEUDONYM = new_secret()
_prefixes = itertools.count()


DEFAULT_TIMEOUT_S = 60


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: takes more than a few seconds (servers, processes)")
    config.addinivalue_line("markers", "fuzz: schemathesis fuzzing of the OpenAPI")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every router test gets a per-test timeout unless it sets its own (warnings are errors in
    every suite: pyproject.toml)."""
    here = Path(__file__).parent
    for item in items:
        if here not in item.path.parents:
            continue
        if item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(DEFAULT_TIMEOUT_S))


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class FakeClock:
    """Milliseconds that move only when a test says so."""

    def __init__(self, start_ms: int = 1_790_000_000_000) -> None:
        self.now = start_ms

    def __call__(self) -> int:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += round(seconds * 1000)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = start_redis(tmp_path_factory.mktemp("redis"), appendonly=False)
    yield server
    server.stop()


@pytest.fixture
def make_settings(redis_server: RedisServer) -> Callable[..., Settings]:
    """Settings on the session's Redis under a key prefix of this test alone."""
    prefix = f"t{next(_prefixes)}:"

    def create(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "redis_url": SecretStr(redis_server.url),
            "key_prefix": prefix,
            "admin_token": SecretStr(ADMIN),
            "service_token": SecretStr(SERVICE),
            "rasa_token": SecretStr(RASA),
            "pseudonym_secret": SecretStr(PSEUDONYM),
            "offer_timeout_s": 5.0,
            "heartbeat_timeout_s": 10.0,
            "sticky_grace_s": 60.0,
            "widen_after_s": 30.0,
            "reoffer_delay_s": 2.0,
        }
        values.update(overrides)
        return Settings(**values)

    return create


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def make_engine(
    make_settings: Callable[..., Settings], clock: FakeClock, redis_server: RedisServer
) -> AsyncIterator[Callable[..., Engine]]:
    clients: list[aioredis.Redis] = []

    def create(**overrides: Any) -> Engine:
        client = aioredis.from_url(redis_server.url, decode_responses=True)
        clients.append(client)
        return Engine(client, make_settings(**overrides), clock=clock)

    yield create
    for client in clients:
        await client.aclose()


@pytest.fixture
async def make_client(
    make_settings: Callable[..., Settings], clock: FakeClock
) -> AsyncIterator[Callable[..., Any]]:
    """`await make_client(**settings)` -> httpx client on the app (lifespan run, no timers)."""
    stack: list[Any] = []

    async def create(**overrides: Any) -> httpx.AsyncClient:
        app = create_app(make_settings(**overrides), clock=clock, timers=False, gateway=False)
        lifespan = app.router.lifespan_context(app)
        await lifespan.__aenter__()
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://router")
        stack.append((lifespan, client))
        return client

    yield create
    for lifespan, client in reversed(stack):
        await client.aclose()
        await lifespan.__aexit__(None, None, None)


@pytest.fixture
def serve(make_settings: Callable[..., Settings]) -> Iterator[Callable[..., str]]:
    """`serve(**settings)` -> base URL of the app under a real uvicorn on a free port."""
    running: list[tuple[uvicorn.Server, threading.Thread]] = []

    def start(**overrides: Any) -> str:
        port = free_port()
        config = uvicorn.Config(
            create_app(make_settings(**overrides), gateway=False),
            host="127.0.0.1",
            port=port,
            log_level="warning",
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        running.append((server, thread))
        deadline = time.monotonic() + 30
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "router did not start"
            time.sleep(0.02)
        return f"http://127.0.0.1:{port}"

    yield start
    for server, thread in running:
        server.should_exit = True
        thread.join(30)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of this test alone, which the test may stop (SIGSTOP) and continue."""
    server = start_redis(tmp_path / "redis", appendonly=False)
    yield server
    assert server.process is not None
    with contextlib.suppress(ProcessLookupError):
        os.kill(server.process.pid, signal.SIGCONT)
    server.stop()
