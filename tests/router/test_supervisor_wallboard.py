"""The wallboard's push (server-sent events) under a real server: a change in the router shows in
the next snapshot without asking again; a supervisor's stream ends when its token is rotated."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from router.wallboard import agent_state, china_day_start, fingerprint
from tests.router import supervisor_data as data
from tests.router.conftest import ADMIN, SERVICE, bearer


async def snapshots(reply: httpx.Response) -> AsyncIterator[dict[str, Any]]:
    """The `snapshot` events of an SSE reply, in order."""
    event = None
    async for line in reply.aiter_lines():
        if line.startswith("event: "):
            event = line[len("event: ") :]
        elif line.startswith("data: ") and event == "snapshot":
            yield json.loads(line[len("data: ") :])


@pytest.mark.anyio
async def test_a_change_is_pushed_and_a_rotated_token_ends_the_stream(
    serve: Callable[..., str], tmp_path: Path
) -> None:
    url = data.archive_url(tmp_path)
    data.fill(url)
    base = serve(archive_url=SecretStr(url), wallboard_min_interval_s=0.05, wallboard_refresh_s=0.5)
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        r = await client.put("/v1/supervisors/sup-li", json={"display_name": "李主管"},
                             headers=bearer(ADMIN))  # fmt: skip
        token = r.json()["token"]
        async with client.stream("GET", "/v1/supervisor/wallboard/events",
                                 headers=bearer(token)) as reply:  # fmt: skip
            assert reply.status_code == 200
            assert reply.headers["content-type"].startswith("text/event-stream")
            stream = snapshots(reply)
            first = await anext(stream)
            assert first["queues"] == [] or all(q["depth"] == 0 for q in first["queues"])
            created = await client.post(
                "/v1/handoffs",
                json={"conversation_id": "conv-push", "skills": ["roaming"], "urgency": "high"},
                headers=bearer(SERVICE),
            )
            assert created.status_code == 201, created.text
            pushed = await anext(stream)
            roaming = [q for q in pushed["queues"] if q["queue"] == "roaming"]
            assert roaming and roaming[0]["depth"] == 1
            # the old token stops working: the stream ends (no more snapshots)
            rotated = await client.post("/v1/supervisors/sup-li/token", headers=bearer(ADMIN))
            assert rotated.status_code == 200
            assert [s async for s in stream] == []


def test_agent_states_and_what_counts_as_a_change() -> None:
    assert agent_state("available", 0, 2) == "available"
    assert agent_state("available", 2, 2) == "busy"
    assert agent_state("away", 2, 2) == "away"
    assert agent_state("offline", 0, 1) == "offline"
    assert agent_state("gone?", 0, 1) == "offline"
    # 2026-09-20 23:59:59 China time is still that day; a second later the next one starts
    assert china_day_start(data.BASE + 86_399_999) == data.BASE
    assert china_day_start(data.BASE + 86_400_000) == data.BASE + 86_400_000
    one = {"generated_ms": 1, "queues": [{"queue": "a", "depth": 1, "oldest_wait_s": 3.0}]}
    later = {"generated_ms": 9, "queues": [{"queue": "a", "depth": 1, "oldest_wait_s": 9.0}]}
    deeper = {"generated_ms": 9, "queues": [{"queue": "a", "depth": 2, "oldest_wait_s": 9.0}]}
    assert fingerprint(one) == fingerprint(later) != fingerprint(deeper)
