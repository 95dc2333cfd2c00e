"""The archive consumer alone: entries/s from pre-filled streams into SQLite and PostgreSQL.

    .venv-router/bin/python -m bench.archive_ingest [--conversations 3000] [--no-postgres]

Fills `events` and `gw:archive` of a throwaway redis-server (tests/archive/traffic.py: the
realistic mix of contained, handed-off, abandoned, missed, transferred, rated conversations,
about 16 entries each), then times `python -m archive consume --once`'s work in process (the
Consumer, batch_size 500) until both streams are drained, into a fresh archive built by the
migrations: SQLite in a temporary folder (WAL, synchronous=NORMAL) and PostgreSQL on a
throwaway cluster (tests/pg.py: fsync off, as for tests). Target: ≥ 2,000 entries/s.
Numbers go to docs/benchmarks.md, never into this file.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import redis

from archive import migrate
from archive.consumer import Consumer
from archive.db import engine_for
from router.embedded_redis import start_redis
from router.keys import Keys
from telecom.secrets import new_secret
from tests import pg
from tests.archive.traffic import fill

TARGET = 2_000


def measure(url: str, redis_url: str, conversations: int, label: str) -> tuple[str, int, float]:
    migrate.upgrade(url)
    engine = engine_for(url)
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    keys = Keys(f"bench{time.time_ns()}:")
    expected = fill(client, keys, conversations)
    consumer = Consumer(client, engine, keys, new_secret(), batch_size=500, block_ms=10)
    start = time.perf_counter()
    written = consumer.run(lambda: False, once=True)
    elapsed = time.perf_counter() - start
    assert written == expected.events + expected.feed, (written, expected)
    engine.dispose()
    client.close()
    return label, written, elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--conversations", type=int, default=3000)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        server = start_redis(Path(tmp) / "redis", appendonly=False)
        try:
            url = f"sqlite:///{Path(tmp) / 'archive.sqlite3'}"
            results.append(measure(url, server.url, args.conversations, "SQLite"))
            if not args.no_postgres and pg.bindir() is not None:
                with pg.cluster() as cluster, pg.database(cluster) as pg_url:
                    results.append(measure(pg_url, server.url, args.conversations, "PostgreSQL"))
        finally:
            server.stop()
    load = os.getloadavg()[0]
    print(f"archive ingest, consumer alone, {args.conversations} conversations, load {load:.2f}")
    print(f"{'database':<12}{'entries':>10}{'seconds':>10}{'entries/s':>12}  target ≥ {TARGET}")
    for label, written, elapsed in results:
        rate = written / elapsed
        mark = "ok" if rate >= TARGET else "BELOW"
        print(f"{label:<12}{written:>10}{elapsed:>10.2f}{rate:>12.0f}  {mark}")


if __name__ == "__main__":
    main()
