"""The archive consumer's ingest rate: alone, and while the product serves live traffic.

    .venv-router/bin/python -m bench.archive_ingest [--conversations 3000] [--no-postgres]
        [--no-live] [--repeats 2]

Each measurement fills the streams `events` and `gw:archive` under a key prefix of its own
(tests/archive/traffic.py: the realistic mix of contained, handed-off, abandoned, missed,
transferred, rated conversations, about 10 entries each), then times the archive Consumer
(batch_size 500, one transaction per batch, XACK after commit) until both are drained, into a
fresh archive built by the migrations: SQLite in a temporary folder (WAL, synchronous=NORMAL)
and PostgreSQL on a throwaway cluster (tests/pg.py: fsync off, as for tests).

Live traffic: the product runs as `make run` starts it (tests/stack.py, with its own archive
consumer writing the live conversations) on the same Redis, and 20 customers hold paced
conversations through the gateway (bench/durable.py's load: a message every 1–3 s) for the
whole of the measurement. "Alone" is the same drain with that stack idle. The two alternate,
`repeats` rounds, so a change of the machine's load falls on both; the table gives medians.
Target: ≥ 2,000 entries/s. Numbers go to docs/benchmarks.md, never into this file.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import redis

from archive import migrate
from archive.consumer import Consumer
from archive.db import engine_for
from bench import durable
from bench.report import median, table
from router.embedded_redis import start_redis
from router.keys import Keys
from telecom.secrets import new_secret
from tests import pg
from tests.archive.traffic import fill
from tests.stack import Stack, start_stack

TARGET = 2_000


def drain(url: str, redis_url: str, conversations: int) -> tuple[int, float]:
    """Fill a fresh prefix, drain it into the fresh archive at `url`: (entries, seconds)."""
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
    client.delete(keys.events(), keys.archive())
    engine.dispose()
    client.close()
    return written, elapsed


@contextlib.contextmanager
def live_traffic(stack: Stack) -> Iterator[list[float]]:
    """Paced customer conversations through the gateway until the block ends (the last round
    of them finishes); yields a list that then holds the turns per second served."""
    stop = threading.Event()
    served = [0.0]

    def run() -> None:
        seed, turns, started = 0, 0, time.perf_counter()
        while not stop.is_set():
            timings, _ = asyncio.run(durable.load(stack, paced=True, seed=seed))
            turns, seed = turns + len(timings), seed + 1
        served[0] = turns / (time.perf_counter() - started)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    time.sleep(3.0)  # the customers are in their conversations
    try:
        yield served
    finally:
        stop.set()
        thread.join()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--conversations", type=int, default=3000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-live", action="store_true", help="only the consumer alone")
    args = parser.parse_args()
    rates: dict[tuple[str, str], list[float]] = {}
    entries: dict[str, int] = {}
    load_before = os.getloadavg()[0]
    with contextlib.ExitStack() as context:
        tmp = Path(context.enter_context(tempfile.TemporaryDirectory()))
        server = start_redis(tmp / "redis", appendonly=False)
        context.callback(server.stop)
        databases = ["SQLite"]
        if not args.no_postgres and pg.bindir() is not None:
            cluster = context.enter_context(pg.cluster())
            databases.append("PostgreSQL")
        stack = None
        if not args.no_live:
            stack = start_stack(tmp / "stack", env=durable.BENCH_ENV, redis=server)
            context.callback(stack.stop)
        modes = ["alone"] if stack is None else ["alone", "live traffic"]
        for round_ in range(args.repeats):
            for mode in modes:
                for database in databases:
                    name = f"{round_}-{mode.split()[0]}"
                    if database == "SQLite":
                        url = f"sqlite:///{tmp / f'archive-{name}.sqlite3'}"
                        written, elapsed = _measure(url, server.url, args, stack, mode)
                    else:
                        with pg.database(cluster) as url:
                            written, elapsed = _measure(url, server.url, args, stack, mode)
                    entries[database] = written
                    rates.setdefault((database, mode), []).append(written / elapsed)
                    print(
                        f"round {round_ + 1} {database}, {mode}: {written / elapsed:.0f}"
                        f" entries/s, load {os.getloadavg()[0]:.2f}",
                        flush=True,
                    )
    rows = []
    for (database, mode), values in rates.items():
        rate = median(values)
        mark = "met" if rate >= TARGET else "BELOW"
        rows.append((database, mode, entries[database], f"{rate:.0f}", f"≥ {TARGET} — {mark}"))
    title = (
        f"archive ingest, {args.conversations} conversations, medians of {args.repeats} rounds,"
        f" load {load_before:.2f} → {os.getloadavg()[0]:.2f}"
    )
    print(table(title, ("database", "while", "entries", "entries/s", "target"), rows))
    for database in databases:
        alone = median(rates[(database, "alone")])
        if (database, "live traffic") in rates:
            ratio = median(rates[(database, "live traffic")]) / alone
            print(f"{database}: under live traffic {ratio:.2f}× the rate alone")


def _measure(
    url: str, redis_url: str, args: argparse.Namespace, stack: Stack | None, mode: str
) -> tuple[int, float]:
    if mode == "alone" or stack is None:
        return drain(url, redis_url, args.conversations)
    with live_traffic(stack) as served:
        result = drain(url, redis_url, args.conversations)
    print(f"  live traffic meanwhile: {served[0]:.1f} turns/s served", flush=True)
    return result


if __name__ == "__main__":
    main()
