"""Fixtures of the archive tests: a throwaway redis-server (free port, files in tmp), a key
prefix per test, an archive database per test built by the migrations — SQLite, and PostgreSQL
on a throwaway cluster (tests/pg.py) — and the consumer on them."""

from __future__ import annotations

import itertools
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from archive import migrate  # noqa: E402
from archive.consumer import Consumer  # noqa: E402
from archive.db import engine_for  # noqa: E402
from router.embedded_redis import RedisServer, start_redis  # noqa: E402
from router.keys import Keys  # noqa: E402
from telecom.secrets import new_secret  # noqa: E402
from tests import pg  # noqa: E402

PSEUDONYM_KEY = new_secret()
_prefixes = itertools.count()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(180))


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = start_redis(tmp_path_factory.mktemp("redis"), appendonly=False)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    with pg.cluster() as url:
        yield url


@pytest.fixture
def keys() -> Keys:
    return Keys(f"a{next(_prefixes)}:")


@pytest.fixture
def rds(redis_server: RedisServer) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    yield client
    client.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def archive_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An archive database at head, built by the migrations."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'archive.sqlite3'}"
        migrate.upgrade(url)
        yield url
        return
    server = request.getfixturevalue("pg_server")
    with pg.database(server) as url:
        migrate.upgrade(url)
        yield url


@pytest.fixture
def archive_engine(archive_url: str) -> Iterator[sa.Engine]:
    engine = engine_for(archive_url)
    yield engine
    engine.dispose()


@pytest.fixture
def make_consumer(
    rds: redis.Redis, archive_engine: sa.Engine, keys: Keys
) -> Callable[..., Consumer]:
    def create(**options: Any) -> Consumer:
        values: dict[str, Any] = {"batch_size": 50, "block_ms": 10, "claim_idle_ms": 1}
        values.update(options)
        return Consumer(redis=rds, engine=archive_engine, keys=keys, key=PSEUDONYM_KEY, **values)

    return create


def rows(engine: sa.Engine, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(sql), params)]
