"""The access audit: every agent read of a conversation and every admin read is recorded;
only admins read the audit."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
import redis

from router.events import _new_conversations
from router.keys import Keys
from router.settings import Settings
from tests.router.conftest import ADMIN, SERVICE, bearer
from tests.router.helpers import available_agent_http

pytestmark = pytest.mark.anyio
MakeClient = Callable[..., Awaitable[httpx.AsyncClient]]
AGENT = {"display_name": "李", "skills": {"billing": 3}, "languages": ["zh"], "max_concurrent": 2}


def _handoff(conversation_id: str) -> dict[str, Any]:
    return {
        "conversation_id": conversation_id,
        "skills": ["billing"],
        "customer": {"id": "c-1", "tier": "gold"},
        "summary": "客户：138****8000",
        "transcript": [{"role": "customer", "text": "我的号码 138****8000"}],
    }


async def _audit(client: httpx.AsyncClient, **query: str) -> list[dict[str, Any]]:
    r = await client.get("/v1/audit", params=query, headers=bearer(ADMIN))
    assert r.status_code == 200, r.text
    entries: list[dict[str, Any]] = r.json()
    return entries


async def test_agent_and_admin_reads_are_recorded(make_client: MakeClient) -> None:
    client = await make_client()
    li = await available_agent_http(client, "li", AGENT)
    r = await client.post("/v1/handoffs", json=_handoff("conv-a"), headers=bearer(SERVICE))
    hid = r.json()["handoff_id"]
    offers = (await client.get("/v1/agents/li/offers", headers=bearer(li))).json()
    assert [o["handoff"]["conversation_id"] for o in offers] == ["conv-a"]
    assert (await client.get(f"/v1/handoffs/{hid}", headers=bearer(ADMIN))).status_code == 200
    assert (await client.get(f"/v1/handoffs/{hid}", headers=bearer(SERVICE))).status_code == 200

    read_by_li = await _audit(client, actor="agent:li")
    assert [(e["action"], e["conversation"]) for e in read_by_li] == [("offers", "conv-a")]
    about_a = await _audit(client, conversation="conv-a")
    assert [(e["actor"], e["action"], e["handoff"]) for e in about_a] == [
        ("agent:li", "offers", None),
        ("admin", "handoff", hid),
        ("admin", "audit", None),  # the query just before, about conv-a, is a read too
    ]
    # the service (the assistant) is not a person reading: not recorded
    assert not [e for e in await _audit(client) if e["actor"] == "service"]
    # ids only: nothing of the customer's text or numbers
    raw = json.dumps(await _audit(client))
    assert "138" not in raw and "c-1" not in raw and "gold" not in raw


async def test_only_admins_read_the_audit(make_client: MakeClient) -> None:
    client = await make_client()
    li = await available_agent_http(client, "li", AGENT)
    assert (await client.get("/v1/audit")).status_code == 401
    assert (await client.get("/v1/audit", headers=bearer(li))).status_code == 403
    assert (await client.get("/v1/audit", headers=bearer(SERVICE))).status_code == 403


async def test_since_and_limit(make_client: MakeClient) -> None:
    client = await make_client()
    for _ in range(3):
        await client.get("/v1/queues", headers=bearer(ADMIN))
    entries = await _audit(client, limit="2")
    assert len(entries) == 2 and entries[0]["id"] < entries[1]["id"]
    assert await _audit(client, since="2999-01-01T00:00:00Z") == []


def test_an_event_stream_records_each_conversation_once() -> None:
    entries = [
        ("1-0", {"type": "offered", "handoff": "h1"}),
        ("2-0", {"type": "customer_message", "conversation": "conv-a", "text": "…"}),
        ("3-0", {"type": "customer_message", "conversation": "conv-b", "text": "…"}),
        ("4-0", {"type": "customer_message", "conversation": "conv-a", "text": "…"}),
    ]
    assert _new_conversations(entries, set()) == ["conv-a", "conv-b"]
    assert _new_conversations(entries, {"conv-a"}) == ["conv-b"]


@pytest.mark.slow
def test_the_event_stream_records_the_conversations_it_delivers(
    serve: Callable[..., str], make_settings: Callable[..., Settings]
) -> None:
    base = serve()
    settings = make_settings()  # the served app's (same Redis, same key prefix)
    li = httpx.put(f"{base}/v1/agents/li", json=AGENT, headers=bearer(ADMIN)).json()["token"]
    got: list[str] = []

    def listen() -> None:
        with httpx.stream(
            "GET", f"{base}/v1/agents/li/events", headers=bearer(li), timeout=20
        ) as stream:
            for line in stream.iter_lines():
                if line.startswith("event: customer_message"):
                    got.append(line)
                    return

    reader = threading.Thread(target=listen)
    reader.start()
    deadline = time.monotonic() + 10
    while not [e for e in _audit_sync(base) if e["action"] == "events"]:  # the stream is open
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert settings.redis_url is not None
    client = redis.Redis.from_url(settings.redis_url.get_secret_value(), decode_responses=True)
    # what the CUSTOMER_TURN script emits when a customer of li's conversation speaks
    client.xadd(
        Keys(settings.key_prefix).agent_events("li"),
        {"type": "customer_message", "conversation": "conv-z", "text": "好的"},
    )
    reader.join(20)
    client.close()
    assert got
    events = [e for e in _audit_sync(base) if e["action"] == "events"]
    assert [(e["actor"], e["conversation"]) for e in events] == [
        ("agent:li", None),  # opened
        ("agent:li", "conv-z"),  # delivered a message of conv-z
    ]


def _audit_sync(base: str) -> list[dict[str, Any]]:
    r = httpx.get(f"{base}/v1/audit", headers=bearer(ADMIN))
    assert r.status_code == 200
    entries: list[dict[str, Any]] = r.json()
    return entries
