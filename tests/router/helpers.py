"""Small builders shared by the router tests (imported as tests.router.helpers)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from router.engine import Engine
from router.models import HandoffCreate, Presence
from router.selection import agent_score
from tests.router.conftest import ADMIN, bearer


async def agent(
    engine: Engine,
    agent_id: str,
    skills: dict[str, int] | None = None,
    languages: list[str] | None = None,
    max_concurrent: int = 2,
    status: Presence | None = Presence.available,
) -> str:
    await engine.upsert_agent(
        agent_id,
        agent_id.upper(),
        skills or {"billing": 3},
        languages or ["zh"],
        max_concurrent,
        "h",
    )
    if status is not None:
        await engine.presence(agent_id, status)
    return agent_id


def handoff(conversation_id: str, **fields: Any) -> HandoffCreate:
    fields.setdefault("skills", ["billing"])
    return HandoffCreate(conversation_id=conversation_id, **fields)


async def offers_of(engine: Engine, agent_id: str) -> dict[str, str]:
    """offer id -> handoff id of the agent's pending offers."""
    out = {}
    for oid in await engine.redis.smembers(engine.keys.agent_offers(agent_id)):
        out[oid] = await engine.redis.hget(engine.keys.offer(oid), "handoff_id")
    return out


async def status_of(engine: Engine, handoff_id: str) -> dict[str, str]:
    return dict(await engine.redis.hgetall(engine.keys.handoff(handoff_id)))


async def agent_state(engine: Engine, agent_id: str) -> dict[str, str]:
    return dict(await engine.redis.hgetall(engine.keys.agent(agent_id)))


async def check_invariants(
    engine: Engine, agent_ids: list[str], handoff_ids: list[str], gone: Sequence[str] = ()
) -> None:
    """The state in Redis is consistent: each handoff is in exactly one place, no agent is over
    capacity, counters match the sets; the agents `gone` (deleted) left nothing behind."""
    await check_gone(engine, gone)
    r, k = engine.redis, engine.keys
    holder: dict[str, str] = {}
    offered: dict[str, str] = {}
    staffed: Counter[str] = Counter()  # "skill|language" -> capacity of the available agents
    for aid in agent_ids:
        a = await r.hgetall(k.agent(aid))
        if a["status"] == "available":
            for skill in json.loads(a["skills"]):
                for lang in [*json.loads(a["languages"]), "_any"]:
                    staffed[f"{skill}|{lang}"] += int(a["max_concurrent"])
        offers = await r.smembers(k.agent_offers(aid))
        assigned = await r.smembers(k.agent_handoffs(aid))
        assert int(a["offers"]) == len(offers), (aid, a, offers)
        assert int(a["assigned"]) == len(assigned), (aid, a, assigned)
        assert len(offers) + len(assigned) <= int(a["max_concurrent"]), (aid, a)
        for oid in offers:
            o = await r.hgetall(k.offer(oid))
            assert o["status"] == "pending" and o["agent_id"] == aid, o
            assert o["handoff_id"] not in offered, "two pending offers for one handoff"
            offered[o["handoff_id"]] = aid
        for hid in assigned:
            assert hid not in holder, f"{hid} held by {holder.get(hid)} and {aid}"
            holder[hid] = aid
        # in the index of each (skill, language) it holds exactly when available and under
        # capacity (the scripts rely on it), scored by its level, load and idle time
        on = a["status"] == "available" and len(offers) + len(assigned) < int(a["max_concurrent"])
        for skill, level in json.loads(a["skills"]).items():
            expected = float(
                agent_score(
                    level, len(offers) + len(assigned), int(a["max_concurrent"]),
                    int(a["idle_since"]),
                )
            )  # fmt: skip
            for lang in [*json.loads(a["languages"]), "_any"]:
                score = await r.zscore(k.idx(skill, lang), aid)
                assert score == (expected if on else None), (aid, skill, lang, a, score)
    staffing = {f: int(n) for f, n in (await r.hgetall(k.staffing())).items() if int(n)}
    assert staffing == dict(staffed), (staffing, staffed)
    for hid in handoff_ids:
        h = await r.hgetall(k.handoff(hid))
        assert h, f"handoff {hid} lost"
        skills = json.loads(h["skills"])
        lang = "_any" if h.get("lang_relaxed") == "1" else h["language"]
        score = await r.zscore(k.queue(",".join(skills), lang), hid)
        status = h["status"]
        if status == "queued":
            assert score == float(h["deadline_ms"]), (hid, h, score)
        else:
            assert score is None, (hid, status)
        assert (status == "offered") == (hid in offered), (hid, status)
        assert (status == "assigned") == (hid in holder), (hid, status)
        if status == "offered":
            assert h["offered_to"] == offered[hid]
        if status == "assigned":
            assert h["agent_id"] == holder[hid]
        # a re-evaluation is scheduled only for a queued handoff, as its due_ms field says
        due = await r.zscore(k.due(), hid)
        if due is not None:
            assert status == "queued" and float(h.get("due_ms") or -1) == due, (hid, h, due)


async def check_gone(engine: Engine, agent_ids: Sequence[str]) -> None:
    """Deleted agents left no record, offer or handoff set, heartbeat deadline or index entry
    (their staffing is checked by check_invariants, which counts the agents left)."""
    r, k = engine.redis, engine.keys
    # an agent is in an index only while available, and then counted in staffing under that
    # index's "skill|language" (fields stay, at 0, when nobody is): every index there has been
    indexes = [k.idx(*field.split("|")) for field in await r.hkeys(k.staffing())]
    for aid in agent_ids:
        keys = (k.agent(aid), k.agent_offers(aid), k.agent_handoffs(aid))
        assert await r.exists(*keys) == 0, aid
        assert await r.zscore(k.heartbeats(), aid) is None, aid
        for key in indexes:
            assert await r.zscore(key, aid) is None, (aid, key)


@dataclass
class Reply:
    status_code: int
    text: str

    def json(self) -> Any:
        return json.loads(self.text)


class RawHTTP:
    """A lean HTTP/1.1 keep-alive connection for load tests: httpx's pool costs more CPU per
    request than the router does, and the test machine has two cores."""

    def __init__(self, url: str) -> None:
        host, _, port = url.removeprefix("http://").partition(":")
        self.host, self.port = host, int(port)
        self.conn: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def request(self, method: str, path: str, token: str, body: Any = None) -> Reply:
        """Raises OSError or asyncio.IncompleteReadError when the connection breaks."""
        try:
            if self.conn is None:
                self.conn = await asyncio.open_connection(self.host, self.port)
            reader, writer = self.conn
            payload = b"" if body is None else json.dumps(body).encode()
            head = (
                f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\n"
                f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(payload)}\r\n\r\n"
            )
            writer.write(head.encode() + payload)
            status = await reader.readline()
            if not status:
                raise ConnectionResetError("closed")
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode().partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            data = await reader.readexactly(length)
            return Reply(int(status.split()[1]), data.decode())
        except (OSError, asyncio.IncompleteReadError):
            self.close()
            raise

    def close(self) -> None:
        if self.conn is not None:
            self.conn[1].close()
            self.conn = None

    async def aclose(self) -> None:
        if self.conn is not None:
            writer = self.conn[1]
            self.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


async def available_agent_http(
    client: httpx.AsyncClient, agent_id: str, body: dict[str, Any]
) -> str:
    """Create the agent through the API (`body` as PUT /v1/agents takes it), make it available,
    and return its token."""
    r = await client.put(f"/v1/agents/{agent_id}", json=body, headers=bearer(ADMIN))
    assert r.status_code == 201, r.text
    token: str = r.json()["token"]
    r = await client.post(
        f"/v1/agents/{agent_id}/presence", json={"status": "available"}, headers=bearer(token)
    )
    assert r.status_code == 200, r.text
    return token
