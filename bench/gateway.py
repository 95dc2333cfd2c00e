"""Gateway relay latency: customer → agent and agent → customer through the router on loopback.

    .venv-router/bin/python -m bench.gateway [--conversations 200] [--rounds 10]

Starts a throwaway redis-server and two router processes with the gateway (customers on one,
agents on the other), hands 200 conversations to 20 agents, then each conversation exchanges
messages both ways concurrently: the customer over WebSocket, the agent over its events push
(SSE) and POST /v1/conversations/{id}/messages. Prints p50/p99 per direction; target p99 ≤ 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from websockets.asyncio.client import connect

from router.embedded_redis import free_port, start_redis

ROOT = Path(__file__).resolve().parent.parent
ADMIN, SERVICE = "gw-admin-token", "gw-service-token"


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


async def run(customer_url: str, agent_url: str, n: int, rounds: int, agents: int) -> None:
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
    cids = [f"bench-conv-{i:04d}" for i in range(n)]
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

    sent_at: dict[str, float] = {}
    c2a: list[float] = []
    a2c: list[float] = []
    done = asyncio.Event()
    expected = n * rounds * 2

    def check() -> None:
        if len(c2a) + len(a2c) >= expected:
            done.set()

    async def agent_stream(aid: str) -> None:
        async with (
            httpx.AsyncClient(timeout=None) as own,
            own.stream(
                "GET", f"{agent_url}/v1/agents/{aid}/events", headers=auth(tokens[aid])
            ) as response,
        ):
            async for line in response.aiter_lines():
                if line.startswith("data: ") and "customer_message" in line:
                    text = json.loads(line[6:])["text"]
                    if text in sent_at:
                        c2a.append(time.perf_counter() - sent_at.pop(text))
                        check()

    # one connection pool per agent, as each agent is its own browser
    pools = {aid: httpx.AsyncClient(timeout=30) for aid in tokens}
    streams = [asyncio.create_task(agent_stream(aid)) for aid in tokens]
    await asyncio.sleep(1.0)

    async def conversation(cid: str) -> None:
        url = customer_url.replace("http", "ws", 1) + f"/v1/chat/ws?conversation_id={cid}"
        async with connect(url, max_queue=None) as ws:

            async def reader() -> None:
                async for raw in ws:
                    event = json.loads(raw)
                    if event.get("type") == "message" and event.get("sender") == "agent":
                        key = event["text"]
                        if key in sent_at:
                            a2c.append(time.perf_counter() - sent_at.pop(key))
                            check()

            task = asyncio.create_task(reader())
            await asyncio.sleep(random.uniform(0, 1))
            aid = owner[cid]
            for r in range(rounds):
                key = f"c{cid}-{r}"
                sent_at[key] = time.perf_counter()
                await ws.send(json.dumps({"type": "message", "text": key}))
                await asyncio.sleep(random.uniform(0.2, 0.6))
                key = f"a{cid}-{r}"
                sent_at[key] = time.perf_counter()
                await pools[aid].post(
                    f"{agent_url}/v1/conversations/{cid}/messages",
                    json={"text": key},
                    headers=auth(tokens[aid]),
                )
                await asyncio.sleep(random.uniform(0.2, 0.6))
            with __import__("contextlib").suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), 20)
            task.cancel()

    started = time.perf_counter()
    await asyncio.gather(*(conversation(cid) for cid in cids))
    elapsed = time.perf_counter() - started
    for s in streams:
        s.cancel()
    await http.aclose()
    for pool in pools.values():
        await pool.aclose()
    print(
        f"{len(c2a) + len(a2c)} of {expected} messages relayed in {elapsed:.1f} s "
        f"({(len(c2a) + len(a2c)) / elapsed:.0f} msg/s), {n} concurrent conversations"
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
            await run(customer_url, agent_url, args.conversations, args.rounds, args.agents)

        asyncio.run(go())
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
