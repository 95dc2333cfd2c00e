"""Turns through the gateway: in-memory vs durable tracker store, one assistant instance vs two.

    .venv-router/bin/python -m bench.durable [--repeats 3] [--no-postgres]

Starts the product as `make run` does (tests/stack.py: scripts.run, its own Redis, free ports)
once per configuration — the tracker store in each instance's memory, SQLite (make run's
default) and PostgreSQL (a throwaway cluster, tests/pg.py, when it is installed: fsync off,
as for tests, so its writes cost less than a production server's), each with
ASSISTANT_INSTANCES=1 and 2 — all at once, then measures them in turn, `repeats` rounds, so a
change of the machine's load falls on every configuration alike; the table gives medians of the
rounds.

Each round, per configuration: 20 conversations of 10 turns through the router's customer REST
API (POST /v1/chat/{id}/messages answers once the assistant has), each customer signed in (an
app login: no verification form) asking balance questions with a pause of U(1, 3) s before each
message (seeded) → p50/p99 turn latency (target p99 ≤ 150 ms with the durable store); then 20
conversations sending back to back → saturation turns/s, with the CPU each process used during
it (which process limits). After the rounds: resident memory per instance, and the durable
store's size per 1,000 stored conversations (of the 10-turn shape above). Target: two
instances ≥ 1.3× the saturation turns/s of one.

The client (httpx, asyncio) shares the 2 cores with the product; the load average is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

from actions.identity import login_metadata
from bench.report import median, percentile, table
from tests.stack import Stack, start_stack

TURNS = 10
CONVERSATIONS = 20
THINK_S = (1.0, 3.0)
MESSAGES = ["你好", "帮我查一下话费", "这个月花了多少", "上个月账单多少", "查一下余额"]
PHONES = [f"1380013800{n}" for n in range(7)]  # the demo subscribers
# the bench's customers all come from one address: the per-address limits are lifted
BENCH_ENV = {
    "ROUTER_GATEWAY__RATE_MESSAGES": "1000000/minute",
    "ROUTER_GATEWAY__RATE_CONVERSATIONS": "1000000/minute",
    "ROUTER_GATEWAY__RATE_CONVERSATION_MESSAGES": "1000000/minute",
}


@dataclass
class Config:
    store: str  # memory, sqlite, postgresql
    instances: int
    stack: Stack | None = None
    paced: list[list[float]] = field(default_factory=list)  # per round: latencies, ms
    rates: list[float] = field(default_factory=list)  # per round: saturation turns/s
    cpu: list[dict[str, float]] = field(default_factory=list)  # per round: share of a core

    @property
    def name(self) -> str:
        return f"{self.store}, {self.instances} instance{'s' if self.instances > 1 else ''}"


async def conversation(
    http: httpx.AsyncClient, secret: str, phone: str, rng: random.Random, paced: bool
) -> list[float]:
    opened = (await http.post("/v1/chat/conversations", json={"channel": "app"})).json()
    cid, headers = opened["conversation_id"], {"X-Resume-Token": opened["resume_token"]}
    timings = []
    if paced:
        await asyncio.sleep(rng.uniform(0, THINK_S[1]))
    for n in range(TURNS):
        if paced and n:
            await asyncio.sleep(rng.uniform(*THINK_S))
        body = {
            "text": MESSAGES[n % len(MESSAGES)],
            "metadata": login_metadata(phone, int(time.time()), cid, secret),
        }
        started = time.perf_counter()
        reply = await http.post(f"/v1/chat/{cid}/messages", json=body, headers=headers)
        timings.append((time.perf_counter() - started) * 1000)
        assert reply.status_code == 201, reply.text
    return timings


async def load(stack: Stack, paced: bool, seed: int) -> tuple[list[float], float]:
    """CONVERSATIONS at once; the turn latencies (ms) and the turns per second."""
    rng = random.Random(seed)
    secret = stack.secrets["ASSISTANT_IDENTITY_SECRET"]
    limits = httpx.Limits(max_connections=CONVERSATIONS * 2)
    async with httpx.AsyncClient(base_url=stack.router_url, timeout=60, limits=limits) as http:
        started = time.perf_counter()
        results = await asyncio.gather(
            *(
                conversation(http, secret, PHONES[n % len(PHONES)], random.Random(rng.random()),
                             paced)
                for n in range(CONVERSATIONS)
            )
        )  # fmt: skip
        elapsed = time.perf_counter() - started
    timings = [t for r in results for t in r]
    return timings, len(timings) / elapsed


def processes(stack: Stack) -> dict[str, psutil.Process]:
    return {name: psutil.Process(pid) for name, pid in stack.pids().items()}


def cpu_seconds(procs: dict[str, psutil.Process]) -> dict[str, float]:
    return {name: sum(p.cpu_times()[:2]) for name, p in procs.items()}


def measure(config: Config, round_: int) -> None:
    assert config.stack is not None
    paced, _ = asyncio.run(load(config.stack, True, seed=round_))
    procs = processes(config.stack)
    before, started = cpu_seconds(procs), time.perf_counter()
    _, rate = asyncio.run(load(config.stack, False, seed=round_))
    elapsed = time.perf_counter() - started
    after = cpu_seconds(procs)
    config.paced.append(paced)
    config.rates.append(rate)
    config.cpu.append({name: (after[name] - before[name]) / elapsed for name in procs})
    print(
        f"round {round_ + 1} {config.name}: paced p99 {percentile(paced, 99):.0f} ms, "
        f"saturation {rate:.1f} turns/s, load {os.getloadavg()[0]:.2f}",
        flush=True,
    )


def rss_mb(stack: Stack) -> float:
    """Mean resident memory of the Rasa instances, MB."""
    rss = [p.memory_info().rss for n, p in processes(stack).items() if n.startswith("rasa")]
    return statistics.mean(rss) / 2**20


def sqlite_per_1000(stack: Stack) -> tuple[float, int]:
    """The SQLite tracker store's size per 1,000 stored conversations (MB), and how many."""
    path = Path(stack.secrets_file).parent / "assistant" / "trackers.sqlite3"
    with contextlib.closing(sqlite3.connect(path)) as db:
        count = db.execute("SELECT COUNT(DISTINCT sender_id) FROM events").fetchone()[0]
    size = sum(p.stat().st_size for p in path.parent.glob("trackers.sqlite3*"))
    return size / 2**20 / max(count, 1) * 1000, count


@contextlib.contextmanager
def postgres() -> Iterator[str | None]:
    from tests import pg

    if pg.bindir() is None:
        yield None
        return
    with pg.cluster() as url:  # a fresh cluster: its `postgres` database is empty
        yield url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    load_before = os.getloadavg()
    base = Path(tempfile.mkdtemp(prefix="bench-durable-"))
    with contextlib.ExitStack() as cleanup:
        pg_url = None if args.no_postgres else cleanup.enter_context(postgres())
        stores = {"memory": "memory", "sqlite": ""}
        if pg_url:
            stores["postgresql"] = pg_url
        configs = [Config(store, n) for store in stores for n in (1, 2)]
        for config in configs:
            env = {
                **BENCH_ENV,
                "ASSISTANT_INSTANCES": str(config.instances),
                "ASSISTANT_TRACKER_STORE_URL": stores[config.store],
            }
            folder = base / f"{config.store}-{config.instances}"
            print(f"starting {config.name} …", flush=True)
            config.stack = start_stack(folder, env=env)
            cleanup.callback(config.stack.stop)
        for config in configs:  # warm-up: caches, connections, the store's first writes
            assert config.stack is not None
            asyncio.run(load(config.stack, False, seed=99))
        for round_ in range(args.repeats):
            for config in configs if round_ % 2 == 0 else reversed(configs):
                measure(config, round_)
        memory = {c.name: rss_mb(c.stack) for c in configs if c.stack is not None}
        sqlite_stack = next(c.stack for c in configs if c.store == "sqlite" and c.stack)
        per_1000, stored = sqlite_per_1000(sqlite_stack)
    one = {c.store: median(c.rates) for c in configs if c.instances == 1}
    rows = []
    for c in configs:
        paced = [t for r in c.paced for t in r]
        cpu = {k: median([r[k] for r in c.cpu]) for k in c.cpu[0]}
        busiest = ", ".join(f"{k} {v:.0%}" for k, v in sorted(cpu.items(), key=lambda kv: -kv[1]))
        rows.append(
            [
                c.name,
                median([median(r) for r in c.paced]),
                median([percentile(r, 99) for r in c.paced]),
                len(paced),
                median(c.rates),
                f"{median(c.rates) / one[c.store]:.2f}×",
                memory[c.name],
                busiest,
            ]
        )
    header = [
        "configuration",
        "paced p50 ms",
        "paced p99 ms",
        "turns",
        "saturation turns/s",
        "vs 1 instance",
        "RSS/instance MB",
        "CPU during saturation (share of a core)",
    ]
    title = (
        f"Turns through the gateway, {CONVERSATIONS} conversations × {TURNS} turns, "
        f"medians of {args.repeats} rounds"
    )
    print(table(title, header, rows))
    print(
        f"SQLite tracker store: {per_1000:.1f} MB per 1,000 stored conversations "
        f"({stored} stored, {TURNS} turns each)"
    )
    load_after = os.getloadavg()
    print(
        f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f} "
        "(2 cores; the client shares them)"
    )
    print("targets: durable paced p99 ≤ 150 ms; two instances ≥ 1.3× the saturation of one")


if __name__ == "__main__":
    main()
