"""The HTTP contract through the ASGI app: auth, status codes, payloads."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from tests.router.conftest import ADMIN, SERVICE, FakeClock, bearer

pytestmark = pytest.mark.anyio
MakeClient = Callable[..., Awaitable[httpx.AsyncClient]]
AGENT_BODY = {
    "display_name": "Li",
    "skills": {"billing": 4},
    "languages": ["zh"],
    "max_concurrent": 2,
}
HANDOFF_BODY: dict[str, Any] = {
    "conversation_id": "conv-1",
    "channel": "web",
    "language": "zh",
    "intent": "complain",
    "urgency": "high",
    "skills": ["billing"],
    "customer": {"id": "cust-1", "tier": "gold"},
    "summary": "bill too high",
    "transcript": [{"role": "customer", "text": "话费太高了"}, "plain line"],
}


async def _agent(client: httpx.AsyncClient, agent_id: str = "li") -> str:
    r = await client.put(f"/v1/agents/{agent_id}", json=AGENT_BODY, headers=bearer(ADMIN))
    assert r.status_code == 201, r.text
    token: str = r.json()["token"]
    r = await client.post(
        f"/v1/agents/{agent_id}/presence", json={"status": "available"}, headers=bearer(token)
    )
    assert r.status_code == 200 and r.json()["status"] == "available"
    return token


async def test_full_flow(make_client: MakeClient) -> None:
    client = await make_client()
    token = await _agent(client)
    r = await client.post("/v1/handoffs", json=HANDOFF_BODY, headers=bearer(SERVICE))
    assert r.status_code == 201
    created = r.json()
    assert created["status"] == "offered" and created["queue_position"] is None
    again = await client.post("/v1/handoffs", json=HANDOFF_BODY, headers=bearer(SERVICE))
    assert again.status_code == 200 and again.json()["handoff_id"] == created["handoff_id"]

    offers = (await client.get("/v1/agents/li/offers", headers=bearer(token))).json()
    assert [o["handoff"]["handoff_id"] for o in offers] == [created["handoff_id"]]
    assert offers[0]["handoff"]["transcript"][0]["text"] == "话费太高了"
    r = await client.post(f"/v1/offers/{offers[0]['offer_id']}/accept", headers=bearer(token))
    assert r.status_code == 200
    r = await client.post(f"/v1/offers/{offers[0]['offer_id']}/accept", headers=bearer(token))
    assert r.status_code == 409

    hid = created["handoff_id"]
    h = (await client.get(f"/v1/handoffs/{hid}", headers=bearer(SERVICE))).json()
    assert (h["status"], h["agent_id"]) == ("assigned", "li")
    me = (await client.get("/v1/agents/li", headers=bearer(token))).json()
    assert (me["load"], me["assigned"]) == (1, 1)
    r = await client.post(
        f"/v1/handoffs/{hid}/complete", json={"disposition": "resolved"}, headers=bearer(token)
    )
    assert r.status_code == 200 and r.json()["status"] == "completed"

    queues = await client.get("/v1/queues", headers=bearer(ADMIN))
    assert queues.status_code == 200
    assert queues.json() == [
        {"skill": "billing", "depth": 0, "oldest_wait_s": 0.0, "agents_available": 1}
    ]
    assert (await client.get("/metrics")).status_code == 401  # closed by default
    metrics = (await client.get("/metrics", headers=bearer(ADMIN))).text
    assert "router_accepts_total 1.0" in metrics
    assert "router_answered_within_sla_ratio 1.0" in metrics
    assert 'router_assignment_latency_seconds_count{op="create_handoff"}' in metrics
    assert (await client.get("/healthz")).json() == {"status": "ok"}


async def test_auth_and_ownership(make_client: MakeClient) -> None:
    client = await make_client()
    li = await _agent(client, "li")
    wang = await _agent(client, "wang")
    assert (await client.get("/v1/agents/li")).status_code == 401
    assert (await client.get("/v1/agents/li", headers=bearer("li.wrong"))).status_code == 401
    assert (await client.get("/v1/agents/li", headers=bearer(wang))).status_code == 403
    assert (await client.get("/v1/agents/li/offers", headers=bearer(ADMIN))).status_code == 403
    assert (
        await client.put("/v1/agents/x", json=AGENT_BODY, headers=bearer(SERVICE))
    ).status_code == 403
    assert (
        await client.post("/v1/handoffs", json=HANDOFF_BODY, headers=bearer(li))
    ).status_code == 403
    r = await client.post("/v1/handoffs", json=HANDOFF_BODY, headers=bearer(SERVICE))
    hid = r.json()["handoff_id"]
    h = (await client.get(f"/v1/handoffs/{hid}", headers=bearer(ADMIN))).json()
    owner, other = (li, wang) if h["offered_to"] == "li" else (wang, li)
    assert (await client.get(f"/v1/handoffs/{hid}", headers=bearer(owner))).status_code == 200
    assert (await client.get(f"/v1/handoffs/{hid}", headers=bearer(other))).status_code == 403
    offers = (
        await client.get(f"/v1/agents/{h['offered_to']}/offers", headers=bearer(owner))
    ).json()
    oid = offers[0]["offer_id"]
    assert (await client.post(f"/v1/offers/{oid}/accept", headers=bearer(other))).status_code == 403
    r = await client.post(
        f"/v1/handoffs/{hid}/complete", json={"disposition": "x"}, headers=bearer(other)
    )
    assert r.status_code == 403
    # updating an agent keeps its token
    r = await client.put("/v1/agents/li", json=AGENT_BODY, headers=bearer(ADMIN))
    assert r.status_code == 200 and "token" not in r.json()
    assert (await client.get("/v1/agents/li", headers=bearer(li))).status_code == 200


async def test_bad_input_is_422_naming_the_field_404_unknown_413_too_big(
    make_client: MakeClient,
) -> None:
    client = await make_client()
    r = await client.post(
        "/v1/handoffs", json={**HANDOFF_BODY, "urgency": "whenever"}, headers=bearer(SERVICE)
    )
    assert r.status_code == 422
    assert [f["field"] for f in r.json()["fields"]] == ["body.urgency"]
    assert "whenever" not in r.text  # input is never echoed
    r = await client.put(
        "/v1/agents/li", json={**AGENT_BODY, "skills": {"billing": 9}}, headers=bearer(ADMIN)
    )
    assert r.status_code == 422 and r.json()["fields"][0]["field"] == "body.skills.billing"
    assert (await client.get("/v1/agents/bad:id", headers=bearer(ADMIN))).status_code == 422
    assert (await client.get("/v1/agents/nobody", headers=bearer(ADMIN))).status_code == 404
    assert (await client.get("/v1/handoffs/h999", headers=bearer(ADMIN))).status_code == 404
    assert (await client.delete("/v1/handoffs/h999", headers=bearer(SERVICE))).status_code == 404
    big = {**HANDOFF_BODY, "summary": "x" * (300 * 1024)}
    r = await client.post("/v1/handoffs", json=big, headers=bearer(SERVICE))
    assert r.status_code == 413
    r = await client.post(
        "/v1/handoffs",
        content=b"{not json",
        headers={**bearer(SERVICE), "content-type": "application/json"},
    )
    assert r.status_code == 422


async def test_create_handoff_fast_path_keeps_the_contract(make_client: MakeClient) -> None:
    """POST /v1/handoffs is served before FastAPI when it succeeds (router/api/fast.py); every
    other case falls through to the route and answers as documented."""
    client = await make_client()
    li = await _agent(client)
    url, body = "/v1/handoffs", {**HANDOFF_BODY, "skills": ["roaming"]}  # nobody can take it
    r = await client.post(url, json=body, headers=bearer(SERVICE))
    assert r.status_code == 201 and r.headers["content-type"] == "application/json"
    assert r.json() == {
        "handoff_id": r.json()["handoff_id"],
        "status": "queued",
        "queue_position": 1,
        "estimated_wait_s": 30,
    }

    async def chunks() -> Any:  # no content-length: the body arrives in pieces
        raw = json.dumps({**body, "conversation_id": "conv-2"}).encode()
        for i in range(0, len(raw), 7):
            yield raw[i : i + 7]

    r = await client.post(
        url, content=chunks(), headers={**bearer(SERVICE), "content-type": "application/json"}
    )
    assert r.status_code == 201 and r.json()["queue_position"] == 2
    r = await client.post(url, json=body, headers=bearer(SERVICE))
    assert r.status_code == 200 and r.json()["queue_position"] == 1  # already active
    r = await client.post(url, json=body)
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    assert (await client.post(url, json=body, headers=bearer("nope"))).status_code == 401
    assert (await client.post(url, json=body, headers=bearer(ADMIN))).status_code == 403
    assert (await client.post(url, json=body, headers=bearer(li))).status_code == 403
    r = await client.post(url, json={**body, "skills": []}, headers=bearer(SERVICE))
    assert r.status_code == 422 and [f["field"] for f in r.json()["fields"]] == ["body.skills"]


async def test_abandon_and_offer_expiry(make_client: MakeClient, clock: FakeClock) -> None:
    client = await make_client(offer_timeout_s=5.0)
    token = await _agent(client)
    hid = (await client.post("/v1/handoffs", json=HANDOFF_BODY, headers=bearer(SERVICE))).json()[
        "handoff_id"
    ]
    oid = (await client.get("/v1/agents/li/offers", headers=bearer(token))).json()[0]["offer_id"]
    clock.advance(6)
    assert (await client.post(f"/v1/offers/{oid}/accept", headers=bearer(token))).status_code == 409
    r = await client.delete(f"/v1/handoffs/{hid}", headers=bearer(SERVICE))
    assert r.status_code == 200 and r.json()["status"] == "abandoned"
    assert (await client.get("/v1/agents/li/offers", headers=bearer(token))).json() == []


async def test_priority_and_transfer(make_client: MakeClient) -> None:
    client = await make_client()
    token = await _agent(client)
    body = {**HANDOFF_BODY, "urgency": "low"}
    hid = (await client.post("/v1/handoffs", json=body, headers=bearer(SERVICE))).json()[
        "handoff_id"
    ]
    r = await client.post(
        f"/v1/handoffs/{hid}/priority", json={"urgency": "critical"}, headers=bearer(SERVICE)
    )
    assert r.status_code == 200 and r.json()["urgency"] == "critical"
    oid = (await client.get("/v1/agents/li/offers", headers=bearer(token))).json()[0]["offer_id"]
    await client.post(f"/v1/offers/{oid}/accept", headers=bearer(token))
    r = await client.post(f"/v1/handoffs/{hid}/transfer", json={}, headers=bearer(token))
    assert r.status_code == 422
    r = await client.post(
        f"/v1/handoffs/{hid}/transfer", json={"skills": ["roaming"]}, headers=bearer(token)
    )
    assert r.status_code == 200 and r.json()["status"] == "queued"
    assert r.json()["skills"] == ["roaming"]


@pytest.mark.slow
async def test_agent_events_are_pushed_over_sse(serve: Callable[..., str]) -> None:
    base = serve()
    async with httpx.AsyncClient(base_url=base, timeout=10.0) as client:
        token = await _agent(client)
        async with client.stream("GET", "/v1/agents/li/events", headers=bearer(token)) as stream:
            assert stream.status_code == 200
            assert stream.headers["content-type"].startswith("text/event-stream")
            created = await client.post("/v1/handoffs", json=HANDOFF_BODY, headers=bearer(SERVICE))
            hid = created.json()["handoff_id"]
            frame: list[str] = []
            async for line in stream.aiter_lines():
                if line:
                    frame.append(line)
                    continue
                if frame and frame[1] == "event: offered":
                    break
                frame = []
        assert frame[0].startswith("id: ")
        data = json.loads(frame[2].removeprefix("data: "))
        assert (data["type"], data["handoff"], data["agent"]) == ("offered", hid, "li")
        other = await _agent(client, "wang")
        r = await client.get("/v1/agents/li/events", headers=bearer(other))
        assert r.status_code == 403
