"""Gateway relay latency: customer → agent and agent → customer through the router on loopback.

    .venv-router/bin/python -m bench.gateway [--conversations 200] [--rounds 10] [--timeline]

Starts a throwaway redis-server and two router processes with the gateway (customers on one,
agents on the other), hands 200 conversations to 20 agents (10 each), and connects everything:
each customer over its own WebSocket, each agent's events push (SSE) on its own connection, and a
keep-alive HTTP connection per conversation for the agent's POST /v1/conversations/{id}/messages.

The load: every conversation first does one untimed exchange (warm-up, --warmup), then, once all
200 are ready, starts at a random offset in [0, 1) s and does `rounds` exchanges — the customer
sends a message, waits U(0.2, 0.6) s, the agent posts a reply, waits U(0.2, 0.6) s — all 200
conversations at once: ≈ 2.5 messages/s each, ≈ 400–500 messages/s through the gateway. Each
latency is from just before the send to the moment the client reads the message on the other
side (the agent's SSE customer_message, the customer's socket message), on one perf_counter.
Prints p50/p99/max per direction (target p99 ≤ 50 ms), the CPU each process used and the load
average: the machine is shared, so run it several times.

The timed client is lean (raw asyncio HTTP/1.1 and uvloop; httpx only for the untimed set-up)
and does not collect garbage while timing, so the CPU it shares with the servers goes to them.
Its sockets offer permessage-deflate, as browsers do.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import psutil
import uvloop
from websockets.asyncio.client import connect

from router.embedded_redis import free_port, start_redis
from tests.gateway.serve import ADMIN, SERVICE

ROOT = Path(__file__).resolve().parent.parent


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def start_router(redis_url: str, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    handle = log.open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.gateway.serve", "--port", str(port), "--redis-url", redis_url,
         "--prefix", "bench:", "--bot", "fake"],
        cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    handle.close()
    return process, f"http://127.0.0.1:{port}"


async def wait_ready(url: str) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(300):
            try:
                if (await client.get(url + "/healthz")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)
    raise TimeoutError(url)


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


async def run(
    customer_url: str, agent_url: str, args: argparse.Namespace, pids: dict[str, int]
) -> None:
    n, agents = args.conversations, args.agents
    http = httpx.AsyncClient(limits=httpx.Limits(max_connections=400), timeout=30)
    tokens: dict[str, str] = {}
    for i in range(agents):
        aid = f"bench{i}"
        body = {"display_name": f"坐席{i}", "skills": {"billing": 3}, "languages": ["zh"],
                "max_concurrent": n // agents + 1}  # fmt: skip
        tokens[aid] = (
            await http.put(f"{agent_url}/v1/agents/{aid}", json=body, headers=auth(ADMIN))
        ).json()["token"]
        await http.post(
            f"{agent_url}/v1/agents/{aid}/presence",
            json={"status": "available"},
            headers=auth(tokens[aid]),
        )
    # conversations are opened by the server: an id and its resume token each
    resume: dict[str, str] = {}
    for _ in range(n):
        opened = (await http.post(f"{customer_url}/v1/chat/conversations", json={})).json()
        resume[opened["conversation_id"]] = opened["resume_token"]
    cids = list(resume)
    for cid in cids:
        r = await http.post(
            f"{agent_url}/v1/handoffs",
            headers=auth(SERVICE),
            json={"conversation_id": cid, "skills": ["billing"], "summary": "bench"},
        )
        r.raise_for_status()
    owner: dict[str, str] = {}
    while len(owner) < n:
        for aid, token in tokens.items():
            for offer in (
                await http.get(f"{agent_url}/v1/agents/{aid}/offers", headers=auth(token))
            ).json():
                r = await http.post(
                    f"{agent_url}/v1/offers/{offer['offer_id']}/accept", headers=auth(token)
                )
                if r.status_code == 200:
                    owner[offer["handoff"]["conversation_id"]] = aid
        await asyncio.sleep(0.05)
    print(f"{n} conversations assigned to {agents} agents", flush=True)

    await http.aclose()
    await measure(customer_url, agent_url, owner, tokens, resume, args, pids)


class RawHttp:
    """A keep-alive HTTP/1.1 connection on asyncio streams: the timed part of the client stays
    lean, so the CPU it shares with the servers goes to the servers (httpx costs far more CPU
    per request: docs/benchmarks.md)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, base: str) -> RawHttp:
        host, _, port = base.removeprefix("http://").partition(":")
        return cls(*await asyncio.open_connection(host, int(port)))

    def send(self, method: str, path: str, token: str, body: bytes = b"") -> None:
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        self.writer.write(head.encode() + body)

    async def head(self) -> tuple[int, dict[str, str]]:
        status = int((await self.reader.readline()).split()[1])
        headers: dict[str, str] = {}
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            headers[name.strip().lower()] = value.strip()
        return status, headers

    async def response(self) -> tuple[int, bytes]:
        status, headers = await self.head()
        return status, await self.reader.readexactly(int(headers.get("content-length", 0)))

    async def chunks(self) -> AsyncIterator[bytes]:
        """The body of a chunked response (the SSE stream), chunk by chunk."""
        while size := int((await self.reader.readline()).strip() or b"0", 16):
            yield (await self.reader.readexactly(size + 2))[:-2]

    def close(self) -> None:
        self.writer.close()


def cpu_seconds(pids: dict[str, int]) -> dict[str, float]:
    times = {name: psutil.Process(pid).cpu_times() for name, pid in pids.items()}
    return {name: t.user + t.system for name, t in times.items()}


async def measure(
    customer_url: str,
    agent_url: str,
    owner: dict[str, str],
    tokens: dict[str, str],
    resume: dict[str, str],
    args: argparse.Namespace,
    pids: dict[str, int],
) -> None:
    """The timed part. Each conversation, concurrently: `rounds` times, the customer sends a
    message over its WebSocket, waits U(0.2, 0.6) s, its agent POSTs a reply, waits U(0.2, 0.6) s
    (≈ 2.5 messages/s per conversation, ≈ 500/s over 200). A latency is the time from just
    before the send to the moment the client reads the message on the other side."""
    n, rounds, warmup = len(owner), args.rounds, args.warmup
    sent_at: dict[str, float] = {}
    points: list[tuple[float, float]] = []  # (sent, latency) for --timeline
    c2a: list[float] = []
    a2c: list[float] = []
    done = asyncio.Event()
    expected = n * rounds * 2
    clock = time.perf_counter

    def received(key: str, into: list[float]) -> None:
        at = sent_at.pop(key, None)
        if at is not None:
            latency = clock() - at
            into.append(latency)
            points.append((at, latency))
            if len(c2a) + len(a2c) >= expected:
                done.set()

    async def agent_stream(aid: str, ready: asyncio.Event) -> None:
        conn = await RawHttp.open(agent_url)
        conn.send("GET", f"/v1/agents/{aid}/events", tokens[aid])
        status, _ = await conn.head()
        assert status == 200, status
        ready.set()
        buffer = b""
        try:
            async for chunk in conn.chunks():
                buffer += chunk
                *frames, buffer = buffer.split(b"\n\n")
                for frame in frames:
                    if b"event: customer_message" in frame:
                        data = frame[frame.index(b"data: ") + 6 :].split(b"\n", 1)[0]
                        received(json.loads(data)["text"], c2a)
        finally:
            conn.close()

    # each agent is its own browser: a keep-alive connection per conversation it serves
    streams, ready = [], []
    for aid in tokens:
        ready.append(asyncio.Event())
        streams.append(asyncio.create_task(agent_stream(aid, ready[-1])))
    await asyncio.wait_for(asyncio.gather(*(r.wait() for r in ready)), 30)
    errors: list[int] = []

    async def conversation(cid: str) -> None:
        url = customer_url.replace("http", "ws", 1) + "/v1/chat/ws"
        aid = owner[cid]
        post = await RawHttp.open(agent_url)
        path = f"/v1/conversations/{cid}/messages"
        async with connect(url, max_queue=None) as ws:
            await ws.send(json.dumps({"type": "resume", "conversation_id": cid,
                                      "resume_token": resume[cid]}))  # fmt: skip
            assert json.loads(await ws.recv())["type"] == "hello"

            async def reader() -> None:
                async for raw in ws:
                    if '"sender":"agent"' in raw or '"sender": "agent"' in raw:
                        event = json.loads(raw)
                        if event.get("type") == "message" and event.get("sender") == "agent":
                            received(event["text"], a2c)

            async def exchange(round_: str, timed: bool) -> None:
                key = f"c{cid}-{round_}"
                frame = json.dumps({"type": "message", "text": key})
                if timed:
                    sent_at[key] = clock()
                await ws.send(frame)
                await asyncio.sleep(random.uniform(0.2, 0.6))
                key = f"a{cid}-{round_}"
                body = json.dumps({"text": key}).encode()
                if timed:
                    sent_at[key] = clock()
                post.send("POST", path, tokens[aid], body)
                status, _ = await post.response()
                if status != 201:
                    errors.append(status)
                await asyncio.sleep(random.uniform(0.2, 0.6))

            task = asyncio.create_task(reader())
            # untimed warm-up: one exchange each, so pools and connections are in use
            await asyncio.sleep(random.uniform(0, 1))
            for w in range(warmup):
                await exchange(f"warm{w}", timed=False)
            connected.append(clock())
            if len(connected) == n:
                go.set()
            await go.wait()  # the timed exchange starts once every conversation is ready
            await asyncio.sleep(random.uniform(0, 1))
            for r in range(rounds):
                await exchange(str(r), timed=True)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), 20)
            task.cancel()
        post.close()

    connected: list[float] = []
    go = asyncio.Event()
    started = clock()
    tasks = [asyncio.create_task(conversation(cid)) for cid in owner]
    await asyncio.wait_for(go.wait(), 60)
    print(
        f"{n} customer sockets connected and warmed up ({warmup} exchange each) in "
        f"{clock() - started:.2f} s",
        flush=True,
    )
    # the client is the measuring instrument: no collector pause of its own in the timings
    gc.collect()
    gc.freeze()
    gc.disable()
    started, cpu_before = clock(), cpu_seconds(pids)
    await asyncio.gather(*tasks)
    elapsed = clock() - started
    gc.enable()
    cpu = {k: v - cpu_before[k] for k, v in cpu_seconds(pids).items()}
    for s in streams:
        s.cancel()
    await asyncio.gather(*streams, return_exceptions=True)
    if args.timeline:
        buckets: dict[int, list[float]] = {}
        for at, lat in points:
            buckets.setdefault(int((at - started) * 2), []).append(lat * 1000)
        for b in sorted(buckets):
            v = buckets[b]
            print(
                f"t={b / 2:4.1f}s n={len(v):4d} p50={statistics.median(v):6.1f} max={max(v):6.1f}"
            )
    relayed = len(c2a) + len(a2c)
    print(
        f"{relayed} of {expected} messages relayed in {elapsed:.1f} s "
        f"({relayed / elapsed:.0f} msg/s), {n} concurrent conversations"
        + (f"; {len(errors)} agent posts failed: {sorted(set(errors))}" if errors else "")
    )
    print(
        "CPU during the exchange (s): "
        + ", ".join(f"{k} {v:.1f}" for k, v in cpu.items())
        + f"; load average {os.getloadavg()[0]:.1f} (2 cores shared with other jobs)"
    )
    for name, values in (("customer → agent", c2a), ("agent → customer", a2c)):
        ms = [v * 1000 for v in values]
        if ms:
            print(
                f"{name}: n={len(ms)} p50={statistics.median(ms):.1f} ms "
                f"p99={pct(ms, 99):.1f} ms max={max(ms):.1f} ms "
                f"{'OK' if pct(ms, 99) <= 50 else 'ABOVE TARGET'} (target p99 ≤ 50 ms)"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--agents", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=1, help="untimed exchanges first")
    parser.add_argument(
        "--timeline", action="store_true", help="latencies per half second of sending"
    )
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-gateway-"))
    redis = start_redis(tmp, appendonly=False)
    procs = []
    try:
        customer, customer_url = start_router(redis.url, tmp / "customer.log")
        agent, agent_url = start_router(redis.url, tmp / "agent.log")
        procs = [customer, agent]

        async def go() -> None:
            await wait_ready(customer_url)
            await wait_ready(agent_url)
            pids = {
                "customer router": customer.pid,
                "agent router": agent.pid,
                "client": os.getpid(),
            }
            if redis.process is not None:
                pids["redis"] = redis.process.pid
            await run(customer_url, agent_url, args, pids)

        uvloop.run(go())
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        redis.stop()


if __name__ == "__main__":
    main()
