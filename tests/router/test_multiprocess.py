"""Three `python -m router` processes on one Redis under load; one is SIGKILLed mid-run.

200 agents, 5,000 handoffs from 16 concurrent clients, random accepts, rejects, ignored offers
(timeouts), transfers, abandons and agents dropping out. Afterwards, from the event stream and the
final state: no handoff ever had two agents, no agent ever exceeded max_concurrent, and every
handoff is completed, abandoned or still queued.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis

from router.embedded_redis import RedisServer, free_port
from router.keys import Keys
from tests.router.conftest import ADMIN, PSEUDONYM, RASA, ROOT, SERVICE
from tests.router.helpers import RawHTTP, Reply, check_invariants

pytestmark = [pytest.mark.slow, pytest.mark.anyio]

N_ROUTERS, N_AGENTS, N_CLIENTS = 3, 200, 16
N_HANDOFFS = int(os.environ.get("ROUTER_TEST_HANDOFFS", "5000"))  # smaller to debug
SKILLS = ["billing", "roaming", "network", "sales"]


@dataclass
class Routers:
    urls: list[str]
    procs: list[subprocess.Popen[bytes]]
    prefix: str
    dead: set[int] = field(default_factory=set)


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "router exited"
        try:
            if httpx.get(f"{url}/healthz", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError("router did not become healthy")


@pytest.fixture
def routers(redis_server: RedisServer, tmp_path: Path) -> Iterator[Routers]:
    prefix = f"mp{uuid.uuid4().hex[:8]}:"
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "REDIS_URL": redis_server.url,
        "ROUTER_KEY_PREFIX": prefix,
        "ROUTER_ADMIN_TOKEN": ADMIN,
        "ROUTER_SERVICE_TOKEN": SERVICE,
        "ROUTER_RASA_TOKEN": RASA,
        "ROUTER_PSEUDONYM_SECRET": PSEUDONYM,
        "ROUTER_OFFER_TIMEOUT_S": "1.0",
        "ROUTER_HEARTBEAT_TIMEOUT_S": "12.0",
        "ROUTER_REOFFER_DELAY_S": "0.5",
        "ROUTER_TICK_S": "0.2",
        "ROUTER_LOG_LEVEL": "warning",
    }
    urls, procs, logs = [], [], []
    for i in range(N_ROUTERS):
        port = free_port()
        log = (tmp_path / f"router{i}.log").open("wb")  # closed in finally
        logs.append(log)
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "router"],
                env={**env, "ROUTER_PORT": str(port)},
                cwd=tmp_path,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
        urls.append(f"http://127.0.0.1:{port}")
    try:
        for url, proc in zip(urls, procs, strict=True):
            _wait_healthy(url, proc)
        yield Routers(urls, procs, prefix)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        for log in logs:
            log.close()


class Driver:
    """Customers, agents and the service talking to whichever router is alive."""

    def __init__(self, routers: Routers, r: aioredis.Redis) -> None:
        self.routers = routers
        self.r = r
        self.keys = Keys(routers.prefix)
        self.pools: list[asyncio.Queue[RawHTTP]] = []
        for url in routers.urls:
            pool: asyncio.Queue[RawHTTP] = asyncio.Queue()
            for _ in range(48):
                pool.put_nowait(RawHTTP(url))
            self.pools.append(pool)
        self.rng = random.Random(2026)
        self.tokens: dict[str, str] = {}
        self.maxc: dict[str, int] = {}
        self.dropped: set[str] = set()
        self.handoffs: list[str] = []
        self.cooperative = False  # at the end: accept and complete everything
        self.tasks: set[asyncio.Task[None]] = set()
        self._next = 0
        self.completing: set[str] = set()

    async def finish(self, aid: str, hid: str) -> None:
        self.completing.add(hid)
        resp = await self.call(
            "POST", f"/v1/handoffs/{hid}/complete", self.tokens[aid], {"disposition": "resolved"}
        )
        assert resp.status_code in (200, 403, 409), resp.text

    async def call(self, method: str, path: str, token: str, body: Any = None) -> Reply:
        for _ in range(20):
            alive = [i for i in range(len(self.pools)) if i not in self.routers.dead]
            i = alive[self._next % len(alive)]
            self._next += 1
            conn = await self.pools[i].get()
            try:
                return await conn.request(method, path, token, body)
            except (OSError, asyncio.IncompleteReadError):
                if self.routers.procs[i].poll() is not None:
                    self.routers.dead.add(i)
                await asyncio.sleep(0.01)
            finally:
                self.pools[i].put_nowait(conn)
        raise AssertionError(f"no router answered {method} {path}")

    async def presence(self, aid: str, status: str) -> None:
        resp = await self.call(
            "POST", f"/v1/agents/{aid}/presence", self.tokens[aid], {"status": status}
        )
        assert resp.status_code == 200, resp.text

    def spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def create_agents(self) -> None:
        async def one(i: int) -> None:
            aid = f"agent{i:03d}"
            skills = {
                s: self.rng.randint(1, 5) for s in self.rng.sample(SKILLS, self.rng.randint(1, 3))
            }
            langs = ["zh"] if self.rng.random() < 0.8 else ["zh", "en"]
            maxc = self.rng.randint(1, 4)
            body = {
                "display_name": aid,
                "skills": skills,
                "languages": langs,
                "max_concurrent": maxc,
            }
            resp = await self.call("PUT", f"/v1/agents/{aid}", ADMIN, body)
            assert resp.status_code == 201, resp.text
            self.tokens[aid], self.maxc[aid] = resp.json()["token"], maxc
            await self.call(
                "POST", f"/v1/agents/{aid}/presence", self.tokens[aid], {"status": "available"}
            )

        await asyncio.gather(*(one(i) for i in range(N_AGENTS)))

    async def heartbeats(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            live = [a for a in self.tokens if a not in self.dropped]
            for start in range(0, len(live), 40):
                await asyncio.gather(
                    *(self.presence(a, "available") for a in live[start : start + 40])
                )
            await asyncio.sleep(5.0)

    async def dropouts(self, stop: asyncio.Event) -> None:
        """Every few seconds some agents fall silent (heartbeat lapse) or log off, then return."""
        while not stop.is_set():
            await asyncio.sleep(5.0)
            if stop.is_set():
                break
            gone = self.rng.sample(sorted(set(self.tokens) - self.dropped), 8)
            self.dropped.update(gone)
            for a in gone[:2]:
                await self.call(
                    "POST", f"/v1/agents/{a}/presence", self.tokens[a], {"status": "offline"}
                )
            self.spawn(self._return_later(gone, 15.0))

    async def _return_later(self, agents: list[str], after: float) -> None:
        await asyncio.sleep(after)
        self.dropped.difference_update(agents)

    async def customers(self, client_no: int, per_client: int) -> None:
        for n in range(per_client):
            body = {
                "conversation_id": f"conv-{client_no}-{n}",
                "language": "zh" if self.rng.random() < 0.9 else "en",
                "urgency": self.rng.choice(["low", "normal", "high", "critical"]),
                "skills": self.rng.sample(SKILLS, 1 if self.rng.random() < 0.8 else 2),
                "customer": {"id": f"cust{self.rng.randint(1, 1500)}", "tier": "regular"},
                "summary": "s",
            }
            resp = await self.call("POST", "/v1/handoffs", SERVICE, body)
            # 200: a retry after the killed router had already created it (same conversation)
            assert resp.status_code in (200, 201), resp.text
            hid = resp.json()["handoff_id"]
            self.handoffs.append(hid)
            if self.rng.random() < 0.03:
                self.spawn(self._abandon_later(hid))

    async def _abandon_later(self, hid: str) -> None:
        await asyncio.sleep(self.rng.uniform(0.0, 2.0))
        resp = await self.call("DELETE", f"/v1/handoffs/{hid}", SERVICE)
        assert resp.status_code in (200, 409), resp.text

    async def on_offer(self, aid: str, oid: str, hid: str) -> None:
        if aid in self.dropped and not self.cooperative:
            return  # silent agent: the offer times out
        roll = 1.0 if self.cooperative else self.rng.random()
        await asyncio.sleep(self.rng.uniform(0.0, 0.2))
        if roll < 0.15:
            return  # ignored: times out
        if roll < 0.30:
            resp = await self.call("POST", f"/v1/offers/{oid}/reject", self.tokens[aid])
            assert resp.status_code in (200, 409), resp.text
            return
        resp = await self.call("POST", f"/v1/offers/{oid}/accept", self.tokens[aid])
        assert resp.status_code in (200, 409), resp.text
        if resp.status_code != 200:
            return
        await asyncio.sleep(self.rng.uniform(0.05, 0.5))
        if aid in self.dropped and not self.cooperative:
            return  # gone silent with the conversation: the router rescues it
        if not self.cooperative and self.rng.random() < 0.05:
            body = {"skills": [self.rng.choice(SKILLS)]}
            resp = await self.call("POST", f"/v1/handoffs/{hid}/transfer", self.tokens[aid], body)
        else:
            body = {"disposition": "resolved"}
            resp = await self.call("POST", f"/v1/handoffs/{hid}/complete", self.tokens[aid], body)
        # 403/409: rescued from a silent agent or abandoned by the customer meanwhile
        assert resp.status_code in (200, 403, 409), resp.text

    async def watch_offers(self, stop: asyncio.Event) -> None:
        cursor = "0-0"
        while not stop.is_set():
            reply = await self.r.xread({self.keys.events(): cursor}, block=200, count=2000)
            for _stream, entries in reply or []:
                for entry_id, f in entries:
                    cursor = entry_id
                    if f["type"] == "offered":
                        self.spawn(self.on_offer(f["agent"], f["offer"], f["handoff"]))

    async def close(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        for pool in self.pools:
            while not pool.empty():
                await pool.get_nowait().aclose()


async def read_all(r: aioredis.Redis, stream: str) -> list[tuple[str, dict[str, str]]]:
    """The whole stream, page by page (one huge reply can outlast the client's read timeout)."""
    out: list[tuple[str, dict[str, str]]] = []
    start = "-"
    while page := await r.xrange(stream, min=start, count=5000):
        out.extend(page)
        start = "(" + page[-1][0]
    return out


def _replay(events: list[tuple[str, dict[str, str]]], maxc: dict[str, int]) -> None:
    """Check the invariants at every step of the whole history."""
    load = dict.fromkeys(maxc, 0)
    holder: dict[str, str] = {}
    pending: dict[str, str] = {}
    for entry_id, f in events:
        kind, hid, aid = f["type"], f.get("handoff"), f.get("agent")
        if kind == "offered":
            assert hid not in pending and hid not in holder, (entry_id, f)
            pending[hid] = f["offer"]
            load[aid] += 1
            assert load[aid] <= maxc[aid], f"{aid} over capacity at {entry_id}"
        elif kind in ("offer_rejected", "offer_expired", "offer_rescinded"):
            assert pending.pop(hid) == f["offer"], (entry_id, f)
            load[aid] -= 1
        elif kind == "accepted":
            assert pending.pop(hid) == f["offer"], (entry_id, f)
            assert hid not in holder, f"{hid} given to {aid} while held by {holder.get(hid)}"
            holder[hid] = aid
        elif kind in ("completed", "transferred", "rescued") or (kind == "abandoned" and aid):
            assert holder.pop(hid) == aid, (entry_id, f)
            load[aid] -= 1
        assert all(v >= 0 for v in load.values()), entry_id
    assert not pending and not holder, (pending, holder)


@pytest.mark.timeout(600)
async def test_three_routers_one_killed_keep_every_invariant(
    routers: Routers, redis_server: RedisServer
) -> None:
    r = aioredis.from_url(redis_server.url, decode_responses=True, socket_timeout=120)
    driver = Driver(routers, r)
    stop = asyncio.Event()
    try:
        started = time.monotonic()
        await driver.create_agents()
        background = [
            asyncio.create_task(driver.watch_offers(stop)),
            asyncio.create_task(driver.heartbeats(stop)),
        ]
        chaos = asyncio.Event()
        background.append(asyncio.create_task(driver.dropouts(chaos)))
        per_client = N_HANDOFFS // N_CLIENTS
        customers = asyncio.gather(*(driver.customers(c, per_client) for c in range(N_CLIENTS)))
        deadline = time.monotonic() + 300
        while len(driver.handoffs) < N_HANDOFFS // 3:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        routers.procs[1].send_signal(signal.SIGKILL)  # mid-run, no goodbye
        await customers
        assert len(driver.handoffs) == per_client * N_CLIENTS
        assert routers.procs[1].wait(10) == -signal.SIGKILL
        assert all(routers.procs[i].poll() is None for i in (0, 2))

        # the end of the day: everyone back, every offer accepted, every conversation closed
        chaos.set()
        driver.cooperative = True
        driver.dropped.clear()
        print(f"\nload phase {time.monotonic() - started:.1f}s")
        keys = Keys(routers.prefix)
        deadline = time.monotonic() + 180
        while True:
            async with r.pipeline(transaction=False) as pipe:
                for hid in driver.handoffs:
                    pipe.hmget(keys.handoff(hid), "status", "agent_id")
                rows = await pipe.execute()
            statuses = [row[0] for row in rows]
            busy = [s for s in statuses if s in ("offered", "assigned")]
            if not busy and not driver.tasks:
                break
            if time.monotonic() > deadline:
                stuck = [
                    h
                    for h, row in zip(driver.handoffs, rows, strict=True)
                    if row[0] in ("offered", "assigned")
                ]
                for hid in stuck[:5]:
                    print(hid, await r.hgetall(keys.handoff(hid)))
                raise AssertionError(f"{len(busy)} handoffs still busy")
            for hid, (status, aid) in zip(driver.handoffs, rows, strict=True):
                if status == "assigned" and hid not in driver.completing:
                    driver.spawn(driver.finish(aid, hid))  # held by an agent who forgot it
            await asyncio.sleep(1.0)
        print(f"settled {time.monotonic() - started:.1f}s")
        stop.set()
        await asyncio.gather(*background)

        assert set(statuses) <= {"completed", "abandoned", "queued"}
        assert len(set(driver.handoffs)) == len(driver.handoffs)
        events = await read_all(r, keys.events())
        created = [f["handoff"] for _, f in events if f["type"] == "created"]
        assert sorted(created) == sorted(driver.handoffs)  # nothing created twice or lost
        _replay(events, driver.maxc)
        await check_invariants(driver_engine_view(r, keys), sorted(driver.tokens), driver.handoffs)
        kinds = {f["type"] for _, f in events}
        assert {"offer_expired", "offer_rejected", "transferred", "abandoned"} <= kinds
        # Whether a silent agent lapses while holding a chat depends on timing (it failed one
        # fresh-clone run of 2026-12-05): rescue is checked deterministically in
        # tests/router/test_engine.py and test_agent_admin.py, and any rescue here is checked by
        # _replay and the invariants above.
        completed = statuses.count("completed")
        print(f"\ncompleted={completed} abandoned={statuses.count('abandoned')} "
              f"queued={statuses.count('queued')} events={len(events)}")  # fmt: skip
    finally:
        stop.set()
        await driver.close()
        await r.aclose()


@dataclass
class _EngineView:
    redis: aioredis.Redis
    keys: Keys


def driver_engine_view(r: aioredis.Redis, keys: Keys) -> Any:
    return _EngineView(r, keys)
