"""Removing an agent and rotating its token: the engine's scripts, the HTTP contract, the
agent's live event stream, and the other router processes' token caches."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
from fastapi import FastAPI

from router import errors
from router.app import create_app
from router.engine import Engine
from router.models import Presence
from router.runtime import Runtime
from router.settings import Settings
from tests.router.conftest import ADMIN, SERVICE, FakeClock, bearer
from tests.router.helpers import (
    agent,
    agent_state,
    available_agent_http,
    check_invariants,
    handoff,
    offers_of,
    status_of,
)

pytestmark = pytest.mark.anyio
MakeEngine = Callable[..., Engine]
MakeClient = Callable[..., Awaitable[httpx.AsyncClient]]
AGENT_BODY = {"display_name": "Li", "skills": {"billing": 4}, "languages": ["zh"]}
HANDOFF_BODY = {"conversation_id": "c-1", "language": "zh", "skills": ["billing"]}


async def _events_since(e: Engine, last_id: str) -> list[tuple[str, str | None, str | None]]:
    return [
        (f["type"], f.get("handoff"), f.get("agent"))
        for _, f in await e.redis.xrange(e.keys.events(), min=f"({last_id}")
    ]


async def _last_event_id(e: Engine) -> str:
    last = await e.redis.xrevrange(e.keys.events(), count=1)
    return str(last[0][0])


# -- the engine ------------------------------------------------------------------------------


async def test_deleting_an_agent_returns_its_handoffs_and_another_agent_gets_them(
    make_engine: MakeEngine, clock: FakeClock
) -> None:
    e = make_engine()
    await agent(e, "a", {"billing": 5}, max_concurrent=2)
    await agent(e, "b", {"billing": 2}, max_concurrent=2)
    held = await e.create_handoff(handoff("c1"))
    await e.accept(next(iter(await offers_of(e, "a"))), "a")
    clock.advance(1)
    offered = await e.create_handoff(handoff("c2"))
    (offer_id,) = await offers_of(e, "a")
    ids = [held.handoff_id, offered.handoff_id]
    before = {hid: await status_of(e, hid) for hid in ids}
    assert [before[hid]["status"] for hid in ids] == ["assigned", "offered"]
    mark = await _last_event_id(e)
    clock.advance(1)

    deleted = await e.delete_agent("a")

    assert deleted.returned == [offered.handoff_id, held.handoff_id]
    assert (deleted.fields["status"], deleted.fields["offers"], deleted.fields["assigned"]) == (
        "offline",
        "0",
        "0",
    )
    assert "token_hash" not in deleted.fields
    for hid in ids:
        h = await status_of(e, hid)
        assert (h["status"], h["offered_to"]) == ("offered", "b")
        # back at their original age
        assert (h["created_ms"], h["deadline_ms"]) == (
            before[hid]["created_ms"],
            before[hid]["deadline_ms"],
        )
    assert (await status_of(e, held.handoff_id))["rescued"] == "1"
    assert (await e.redis.hget(e.keys.offer(offer_id), "status")) == "rescinded"
    await check_invariants(e, ["b"], ids, gone=["a"])
    h1, h2 = ids
    assert await _events_since(e, mark) == [
        ("offer_rescinded", h2, "a"),
        ("requeued", h2, None),
        ("rescued", h1, "a"),
        ("requeued", h1, None),
        ("presence", None, "a"),
        ("offered", h2, "b"),
        ("offered", h1, "b"),
        ("agent_deleted", None, "a"),
    ]
    with pytest.raises(errors.NoSuchAgent):
        await e.delete_agent("a")
    with pytest.raises(errors.NoSuchAgent):
        await e.presence("a", Presence.available)


async def test_deleting_the_only_agent_queues_its_handoffs_at_their_original_age(
    make_engine: MakeEngine, clock: FakeClock
) -> None:
    e = make_engine()
    await agent(e, "a", max_concurrent=1)
    h = await e.create_handoff(handoff("c1"))
    deadline = (await status_of(e, h.handoff_id))["deadline_ms"]
    clock.advance(5)
    assert (await e.delete_agent("a")).returned == [h.handoff_id]
    state = await status_of(e, h.handoff_id)
    assert (state["status"], state["deadline_ms"]) == ("queued", deadline)
    await check_invariants(e, [], [h.handoff_id], gone=["a"])
    # a new agent takes it
    await agent(e, "b")
    assert (await status_of(e, h.handoff_id))["offered_to"] == "b"


async def test_deleting_an_offline_agent_and_creating_the_id_again(
    make_engine: MakeEngine,
) -> None:
    e = make_engine()
    await agent(e, "a", status=None)
    mark = await _last_event_id(e)
    assert (await e.delete_agent("a")).returned == []
    assert await _events_since(e, mark) == [("agent_deleted", None, "a")]  # no presence change
    # its own stream outlives it a little, for its live readers
    stream = e.keys.agent_events("a")
    assert 0 < await e.redis.pttl(stream) <= 60_000
    assert await e.upsert_agent("a", "A", {"billing": 3}, ["zh"], 1, "new-hash")
    state = await agent_state(e, "a")
    assert (state["status"], state["token_hash"], state["offers"]) == ("offline", "new-hash", "0")
    # the new agent's stream starts afresh, kept as long as any agent's
    assert await e.redis.pttl(stream) == -1
    assert [f["type"] for _, f in await e.redis.xrange(stream)] == ["agent_created"]


async def test_rotating_a_token_changes_nothing_but_the_token(make_engine: MakeEngine) -> None:
    e = make_engine()
    await agent(e, "a", max_concurrent=2)
    first = await e.create_handoff(handoff("c1"))
    await e.accept(next(iter(await offers_of(e, "a"))), "a")
    second = await e.create_handoff(handoff("c2"))
    before = await agent_state(e, "a")
    await e.rotate_token("a", "rotated")
    after = await agent_state(e, "a")
    assert after.pop("token_hash") == "rotated" and after.pop("token_rotated_ms")
    before.pop("token_hash")
    assert after == before
    await check_invariants(e, ["a"], [first.handoff_id, second.handoff_id])
    kinds = [f["type"] for _, f in await e.redis.xrange(e.keys.agent_events("a"))]
    assert kinds[-1] == "token_rotated"
    with pytest.raises(errors.NoSuchAgent):
        await e.rotate_token("nobody", "x")


# -- HTTP ------------------------------------------------------------------------------------


async def _create(client: httpx.AsyncClient, agent_id: str = "li") -> str:
    return await available_agent_http(client, agent_id, AGENT_BODY)


async def test_delete_agent_over_http(make_client: MakeClient) -> None:
    client = await make_client()
    li = await _create(client, "li")
    wang = await _create(client, "wang")
    r = await client.post("/v1/handoffs", json=HANDOFF_BODY, headers=bearer(SERVICE))
    hid = r.json()["handoff_id"]
    holder = (await client.get(f"/v1/handoffs/{hid}", headers=bearer(ADMIN))).json()["offered_to"]
    token = li if holder == "li" else wang

    assert (await client.delete(f"/v1/agents/{holder}")).status_code == 401
    assert (await client.delete(f"/v1/agents/{holder}", headers=bearer(SERVICE))).status_code == 403
    assert (await client.delete(f"/v1/agents/{holder}", headers=bearer(token))).status_code == 403
    assert (await client.delete("/v1/agents/nobody", headers=bearer(ADMIN))).status_code == 404
    assert (await client.delete("/v1/agents/bad:id", headers=bearer(ADMIN))).status_code == 422

    r = await client.delete(f"/v1/agents/{holder}", headers=bearer(ADMIN))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body == {
        "agent_id": holder,
        "display_name": "Li",
        "skills": {"billing": 4},
        "languages": ["zh"],
        "max_concurrent": 1,
        "status": "offline",
        "load": 0,
        "pending_offers": 0,
        "assigned": 0,
        "missed_offers": 0,
        "heartbeat_expires_at": None,
        "returned_handoffs": [hid],
    }
    other = "wang" if holder == "li" else "li"
    h = (await client.get(f"/v1/handoffs/{hid}", headers=bearer(ADMIN))).json()
    assert (h["status"], h["offered_to"]) == ("offered", other)
    for method, path, payload in [
        ("GET", f"/v1/agents/{holder}", None),
        ("GET", f"/v1/agents/{holder}/offers", None),
        ("GET", f"/v1/agents/{holder}/events", None),
        ("POST", f"/v1/agents/{holder}/presence", {"status": "available"}),
    ]:
        r = await client.request(method, path, json=payload, headers=bearer(token))
        assert r.status_code == 401, (method, path)
    assert (await client.get(f"/v1/agents/{holder}", headers=bearer(ADMIN))).status_code == 404
    assert (await client.delete(f"/v1/agents/{holder}", headers=bearer(ADMIN))).status_code == 404

    # the same id again: a fresh agent with a new token; the old token stays refused
    r = await client.put(f"/v1/agents/{holder}", json=AGENT_BODY, headers=bearer(ADMIN))
    assert r.status_code == 201
    fresh = r.json()
    assert (fresh["status"], fresh["load"]) == ("offline", 0)
    assert fresh["token"] != token
    assert (await client.get(f"/v1/agents/{holder}", headers=bearer(token))).status_code == 401
    r = await client.get(f"/v1/agents/{holder}", headers=bearer(fresh["token"]))
    assert r.status_code == 200


async def test_rotate_token_over_http(make_client: MakeClient) -> None:
    client = await make_client()
    old = await _create(client, "li")
    wang = await _create(client, "wang")
    r = await client.post("/v1/handoffs", json=HANDOFF_BODY, headers=bearer(SERVICE))
    hid = r.json()["handoff_id"]
    before = (await client.get("/v1/agents/li", headers=bearer(ADMIN))).json()

    assert (await client.post("/v1/agents/li/token")).status_code == 401
    assert (await client.post("/v1/agents/li/token", headers=bearer(old))).status_code == 403
    assert (await client.post("/v1/agents/li/token", headers=bearer(wang))).status_code == 403
    assert (await client.post("/v1/agents/li/token", headers=bearer(SERVICE))).status_code == 403
    assert (await client.post("/v1/agents/nobody/token", headers=bearer(ADMIN))).status_code == 404

    r = await client.post("/v1/agents/li/token", headers=bearer(ADMIN))
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    new = r.json()["token"]
    assert r.json() == {"agent_id": "li", "token": new} and new not in (old, wang)
    assert new.startswith("li.")
    assert (await client.get("/v1/agents/li", headers=bearer(old))).status_code == 401
    r = await client.get("/v1/agents/li", headers=bearer(new))
    assert r.status_code == 200
    assert r.json() == before  # presence, load, offers untouched
    # its offer is still its own, under the new token
    offers = (await client.get("/v1/agents/li/offers", headers=bearer(new))).json()
    assert [o["handoff"]["handoff_id"] for o in offers] == [hid]
    r = await client.post(f"/v1/offers/{offers[0]['offer_id']}/accept", headers=bearer(old))
    assert r.status_code == 401
    r = await client.post(f"/v1/offers/{offers[0]['offer_id']}/accept", headers=bearer(new))
    assert r.status_code == 200


# -- other processes -------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def _router(
    settings: Settings, clock: FakeClock
) -> AsyncIterator[tuple[Runtime, httpx.AsyncClient]]:
    """One router app (a process of its own in production) and an HTTP client on it."""
    app: FastAPI = create_app(settings, clock=clock, timers=False, gateway=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://router") as client:
            yield app.state.runtime, client


async def _until(condition: Callable[[], Awaitable[bool]], timeout_s: float = 5.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not await condition():
            await asyncio.sleep(0.01)


async def test_a_revoked_token_is_refused_by_every_router_process(
    make_settings: Callable[..., Settings], clock: FakeClock
) -> None:
    settings = make_settings()
    async with _router(settings, clock) as (rt_a, a), _router(settings, clock) as (rt_b, b):
        old = await _create(a, "li")

        def b_caches(token: str) -> Callable[[], Awaitable[bool]]:
            async def cached() -> bool:  # B uses its cache once it hears the revocations
                r = await b.get("/v1/agents/li", headers=bearer(token))
                assert r.status_code == 200
                return rt_b.store.tokens.get("li") is not None

            return cached

        async def b_forgot() -> bool:
            return rt_b.store.tokens.get("li") is None

        await _until(b_caches(old))
        r = await a.post("/v1/agents/li/token", headers=bearer(ADMIN))
        new = r.json()["token"]
        assert rt_a.store.tokens.get("li") is None  # at once where it was rotated
        await _until(b_forgot)  # the others through pub/sub, in milliseconds
        assert (await b.get("/v1/agents/li", headers=bearer(old))).status_code == 401

        await _until(b_caches(new))
        assert (await a.delete("/v1/agents/li", headers=bearer(ADMIN))).status_code == 200
        await _until(b_forgot)
        assert (await b.get("/v1/agents/li", headers=bearer(new))).status_code == 401


# -- the live event stream -------------------------------------------------------------------


async def _frames(stream: httpx.Response) -> AsyncIterator[dict[str, str]]:
    """The SSE frames of a response as {id, event, data}, until the server ends it."""
    frame: dict[str, str] = {}
    async for line in stream.aiter_lines():
        if line:
            name, _, value = line.partition(": ")
            frame[name] = value
        elif frame:
            yield frame
            frame = {}


async def _read_until_closed(stream: httpx.Response, stop_at: str) -> list[str]:
    """The event names read until the server closes the stream (`stop_at` must come first)."""
    kinds = []
    async for frame in _frames(stream):
        if "event" in frame:
            kinds.append(frame["event"])
    assert stop_at in kinds, kinds
    return kinds


@pytest.mark.slow
async def test_live_streams_end_when_their_token_is_revoked(serve: Callable[..., str]) -> None:
    base = serve()
    async with httpx.AsyncClient(base_url=base, timeout=10.0) as client:
        old = await _create(client, "li")
        url = "/v1/agents/li/events"
        async with client.stream("GET", url, headers=bearer(old)) as stream:
            assert stream.status_code == 200
            r = await client.post("/v1/agents/li/token", headers=bearer(ADMIN))
            new = r.json()["token"]
            # the token_rotated event is the last it sends, then the server ends the stream
            assert (await _read_until_closed(stream, "token_rotated"))[-1] == "token_rotated"
        # resumed with the new token from before the rotation: it replays it and goes on
        async with client.stream(
            "GET", url, headers={**bearer(new), "Last-Event-ID": "0-0"}
        ) as stream:
            assert stream.status_code == 200
            frames = _frames(stream)
            kinds = []
            async for frame in frames:
                kinds.append(frame.get("event"))
                if frame.get("event") == "token_rotated":
                    break
            r = await client.post(
                "/v1/handoffs", json=HANDOFF_BODY, headers=bearer(SERVICE)
            )  # still live: the offer arrives
            async for frame in frames:
                if frame.get("event") == "offered":
                    data = json.loads(frame["data"])
                    assert data["handoff"] == r.json()["handoff_id"]
                    break
            assert (await client.delete("/v1/agents/li", headers=bearer(ADMIN))).status_code == 200
            rest = [frame.get("event") async for frame in frames]
            assert rest[-1] == "agent_deleted", rest
        assert kinds[:2] == ["agent_created", "presence"]
