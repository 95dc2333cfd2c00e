"""Estimated wait: the pure arithmetic (router/wait.py), what the scripts measure for it (handle
time, staffing), and the estimate a queued handoff gets through the HTTP API."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Awaitable, Callable

import httpx
import pytest

from router.engine import Engine, QueueWait
from router.models import Presence
from router.wait import WaitInputs, estimated_wait_s
from tests.router.conftest import SERVICE, FakeClock, bearer
from tests.router.helpers import (
    agent,
    available_agent_http,
    check_invariants,
    handoff,
    offers_of,
)

MakeEngine = Callable[..., Engine]
MakeClient = Callable[..., Awaitable[httpx.AsyncClient]]
MIN = 60_000  # ms

# position, free agents, staffed capacity, handle ms, completions measured, prior s -> wait s
CASES = [
    pytest.param(1, 0, 2, 5 * MIN, 8, 30.0, 300, id="first of two rounds"),
    pytest.param(2, 0, 2, 5 * MIN, 8, 30.0, 300, id="same round"),
    pytest.param(3, 0, 2, 5 * MIN, 8, 30.0, 600, id="next round"),
    pytest.param(10, 0, 3, 2 * MIN, 1, 30.0, 480, id="ceil(10 / 3) rounds"),
    pytest.param(1, 0, 1, 90_400, 3, 30.0, 90, id="rounded to the second"),
    pytest.param(1, 1, 2, 5 * MIN, 8, 30.0, 0, id="a free agent takes it"),
    pytest.param(3, 3, 3, 5 * MIN, 8, 30.0, 0, id="enough free agents"),
    pytest.param(2, 1, 2, 5 * MIN, 8, 30.0, 300, id="one ahead once the free one is taken"),
    pytest.param(3, 0, 2, 0, 0, 30.0, 90, id="nothing measured: the prior per position"),
    pytest.param(3, 1, 2, 0, 0, 30.0, 60, id="nothing measured, one free"),
    pytest.param(2, 0, 0, 5 * MIN, 8, 30.0, 60, id="nobody staffed: the prior"),
    pytest.param(2, 0, -1, 5 * MIN, 8, 30.0, 60, id="negative capacity counts as none"),
    pytest.param(3, 0, 2, 5 * MIN, 8, 12.4, 600, id="the prior does not matter once measured"),
    pytest.param(3, 0, 0, 0, 0, 12.4, 37, id="fractional prior"),
    pytest.param(4, 0, 0, 0, 0, 0.0, 0, id="zero prior"),
    pytest.param(0, 0, 2, 5 * MIN, 8, 30.0, 0, id="not queued"),
    pytest.param(2, 0, 1, 5 * MIN, 0, 30.0, 60, id="a handle time with no completion: the prior"),
    pytest.param(2, 0, 1, 0, 3, 30.0, 60, id="completions with no handle time: the prior"),
    pytest.param(1, 0, 1, 1, 1, 30.0, 0, id="a 1 ms handle time is measured, not the prior"),
]


@pytest.mark.parametrize(
    ("position", "free", "capacity", "handle_ms", "measured", "prior_s", "expected"), CASES
)
def test_estimated_wait(
    position: int,
    free: int,
    capacity: int,
    handle_ms: int,
    measured: int,
    prior_s: float,
    expected: int,
) -> None:
    inputs = WaitInputs(free, capacity, handle_ms, measured)
    wait = estimated_wait_s(position, inputs, prior_s)
    assert type(wait) is int and wait == expected


def test_estimate_grows_with_position_and_shrinks_with_capacity() -> None:
    # every combination of a grid (deterministic: a property test here was made flaky by other
    # threads drawing from the global random generator while hypothesis drew its examples)
    for free, capacity, handle_ms, measured in itertools.product(
        range(0, 6), range(-2, 8), (0, 1, 90_400, 5 * MIN, 4 * 3600_000), (0, 1, 8)
    ):
        inputs = WaitInputs(free, capacity, handle_ms, measured)
        more = WaitInputs(free, capacity + 1, handle_ms, measured)
        waits = [estimated_wait_s(p, inputs, 30.0) for p in range(1, 41)]
        assert all(w >= 0 for w in waits)
        assert waits == sorted(waits), inputs  # never shorter further back
        if capacity > 0:
            assert all(estimated_wait_s(p, more, 30.0) <= w for p, w in enumerate(waits, 1))


def test_inputs_from_a_script_reply() -> None:
    assert WaitInputs.from_reply(["1", "4", "300000", "12"]) == WaitInputs(1, 4, 300_000, 12)
    with pytest.raises(dataclasses.FrozenInstanceError):
        WaitInputs(1, 4, 300_000, 12).free = 2  # type: ignore[misc]


# -- what the scripts measure ----------------------------------------------------------------
async def _handle_time(e: Engine, skill: str) -> dict[str, str]:
    return dict(await e.redis.hgetall(e.keys.handle_time(skill)))


async def _accept_next(e: Engine, agent_id: str) -> str:
    """Accept the agent's one pending offer; returns its handoff id."""
    ((offer_id, handoff_id),) = (await offers_of(e, agent_id)).items()
    await e.accept(offer_id, agent_id)
    return handoff_id


@pytest.mark.anyio
async def test_handle_time_is_measured_from_accept_to_completion(
    make_engine: MakeEngine, clock: FakeClock
) -> None:
    e = make_engine(handle_time_window=2, handle_time_cap_s=1000.0, heartbeat_timeout_s=1e5)
    await agent(e, "a", max_concurrent=1)
    durations = [100, 300, 500, 5000]  # the last is capped at 1000
    for i, seconds in enumerate(durations):
        await e.create_handoff(handoff(f"c{i}"))
        clock.advance(3)  # offered, not yet accepted: not handle time
        hid = await _accept_next(e, "a")
        clock.advance(seconds)
        await e.complete(hid, "a", "resolved")
    # mean of the first two (200 s), then weight 1/2: 350 s, then 675 s
    assert await _handle_time(e, "billing") == {"avg_ms": "675000", "n": "4"}


@pytest.mark.anyio
async def test_transfers_and_abandons_are_not_handle_time(
    make_engine: MakeEngine, clock: FakeClock
) -> None:
    e = make_engine(heartbeat_timeout_s=1e5)
    await agent(e, "a", {"billing": 3}, max_concurrent=1)
    await agent(e, "b", {"roaming": 3}, max_concurrent=1)
    first = await e.create_handoff(handoff("c1"))
    await _accept_next(e, "a")
    clock.advance(900)
    await e.transfer(first.handoff_id, "a", ["roaming"], None)  # a's 900 s: not recorded
    await _accept_next(e, "b")
    clock.advance(60)
    await e.complete(first.handoff_id, "b", "resolved")  # b's 60 s, under its new skill
    second = await e.create_handoff(handoff("c2"))
    await _accept_next(e, "a")
    clock.advance(1200)
    await e.abandon(second.handoff_id)
    assert await _handle_time(e, "billing") == {}
    assert await _handle_time(e, "roaming") == {"avg_ms": "60000", "n": "1"}


@pytest.mark.anyio
async def test_staffing_counts_the_capacity_of_available_agents(
    make_engine: MakeEngine, clock: FakeClock
) -> None:
    e = make_engine(max_missed_offers=1, offer_timeout_s=5.0, heartbeat_timeout_s=10.0)

    async def staffing() -> dict[str, int]:
        raw = await e.redis.hgetall(e.keys.staffing())
        return {field: int(n) for field, n in raw.items() if int(n)}

    await agent(e, "a", {"billing": 3, "roaming": 2}, ["zh", "en"], max_concurrent=2)
    await agent(e, "b", {"billing": 4}, ["zh"], max_concurrent=3, status=None)
    both = {"billing|zh": 2, "billing|en": 2, "billing|_any": 2}
    assert await staffing() == {**both, "roaming|zh": 2, "roaming|en": 2, "roaming|_any": 2}
    await e.presence("b", Presence.available)
    await e.presence("b", Presence.available)  # a heartbeat counts nothing twice
    assert await staffing() == {
        **both, "roaming|zh": 2, "roaming|en": 2, "roaming|_any": 2,
        "billing|zh": 5, "billing|_any": 5,
    }  # fmt: skip
    await e.upsert_agent("a", "A", {"billing": 3}, ["zh"], 4, "h")  # new definition
    assert await staffing() == {"billing|zh": 7, "billing|_any": 7}
    await e.presence("a", Presence.away)
    assert await staffing() == {"billing|zh": 3, "billing|_any": 3}
    await e.presence("a", Presence.offline)
    await e.create_handoff(handoff("c1"))  # offered to b, who misses it: away
    clock.advance(6)
    await e.tick()
    assert await staffing() == {}
    await e.presence("b", Presence.available)
    clock.advance(11)  # no heartbeat: offline
    await e.tick()
    assert await staffing() == {}
    await check_invariants(e, ["a", "b"], [])


@pytest.mark.anyio
async def test_queue_wait_reads_rank_and_inputs(make_engine: MakeEngine, clock: FakeClock) -> None:
    e = make_engine(reoffer_delay_s=10.0)
    await agent(e, "a", max_concurrent=1)
    first = await e.create_handoff(handoff("c1"))
    assert await e.queue_wait(first.handoff_id) == QueueWait("offered")
    second = await e.create_handoff(handoff("c2"))
    assert second.queue_rank == 0 and second.wait == WaitInputs(0, 1, 0, 0)
    assert await e.queue_wait(second.handoff_id) == QueueWait("queued", 0, second.wait)
    assert await e.queue_wait("h-none") == QueueWait("")
    # a rejects c1 (held back from a for the re-offer delay) and is offered c2 at once: not free
    ((offer_id, _),) = (await offers_of(e, "a")).items()
    await e.reject(offer_id, "a")
    found = await e.queue_wait(first.handoff_id)
    assert found.status == "queued" and found.wait is not None and found.wait.free == 0
    await e.abandon(second.handoff_id)  # a is free now, c1 first in the queue
    found = await e.queue_wait(first.handoff_id)
    assert found == QueueWait("queued", 0, WaitInputs(1, 1, 0, 0))
    assert estimated_wait_s(1, WaitInputs(1, 1, 0, 0), 30.0) == 0
    # free a is no use to a handoff above its level (3), or needing a skill it lacks
    expert = await e.create_handoff(handoff("c3", min_level=5))
    assert expert.wait == WaitInputs(0, 1, 0, 0)
    both = await e.create_handoff(handoff("c4", skills=["billing", "roaming"]))
    assert both.status == "queued" and both.wait == WaitInputs(0, 0, 0, 0)


# -- through the HTTP API --------------------------------------------------------------------
async def _agent(client: httpx.AsyncClient, agent_id: str) -> str:
    body = {"display_name": agent_id, "skills": {"billing": 4}, "languages": ["zh"]}
    return await available_agent_http(client, agent_id, {**body, "max_concurrent": 1})


async def _post(client: httpx.AsyncClient, conversation_id: str) -> httpx.Response:
    body = {"conversation_id": conversation_id, "skills": ["billing"], "urgency": "normal"}
    return await client.post("/v1/handoffs", json=body, headers=bearer(SERVICE))


async def _serve(client: httpx.AsyncClient, tokens: dict[str, str], conversation_id: str) -> str:
    """A new handoff, accepted by the agent it is offered to; returns its id."""
    r = await _post(client, conversation_id)
    assert r.status_code == 201 and r.json()["status"] == "offered", r.text
    hid: str = r.json()["handoff_id"]
    agent_id = (await client.get(f"/v1/handoffs/{hid}", headers=bearer(SERVICE))).json()[
        "offered_to"
    ]
    offers = await client.get(f"/v1/agents/{agent_id}/offers", headers=bearer(tokens[agent_id]))
    (offer,) = offers.json()
    r = await client.post(
        f"/v1/offers/{offer['offer_id']}/accept", headers=bearer(tokens[agent_id])
    )
    assert r.status_code == 200
    return hid


async def _complete(client: httpx.AsyncClient, token: str, hid: str) -> None:
    r = await client.post(f"/v1/handoffs/{hid}/complete", json={}, headers=bearer(token))
    assert r.status_code == 200 and r.json()["status"] == "completed"


@pytest.mark.anyio
async def test_queued_handoff_waits_measured_handle_time_per_agent(
    make_client: MakeClient, clock: FakeClock
) -> None:
    client = await make_client(estimate_s_per_position=30.0, heartbeat_timeout_s=1e5)
    tokens = {name: await _agent(client, name) for name in ("li", "wang")}
    holder: dict[str, str] = {}  # handoff id -> its agent
    for conversation_id in ("c1", "c2"):
        hid = await _serve(client, tokens, conversation_id)
        holder[hid] = (await client.get(f"/v1/handoffs/{hid}", headers=bearer(SERVICE))).json()[
            "agent_id"
        ]
    first, second = holder
    clock.advance(200)
    await _complete(client, tokens[holder[first]], first)  # 200 s
    clock.advance(200)
    await _complete(client, tokens[holder[second]], second)  # 400 s: average 300 s
    for conversation_id in ("c3", "c4"):  # both agents busy again
        await _serve(client, tokens, conversation_id)

    replies = [await _post(client, f"q{i}") for i in range(1, 4)]
    assert [r.status_code for r in replies] == [201, 201, 201]
    # two agents: positions 1 and 2 wait one handle time, position 3 two (the constant: 30/60/90)
    assert [(r.json()["queue_position"], r.json()["estimated_wait_s"]) for r in replies] == [
        (1, 300),
        (2, 300),
        (3, 600),
    ]
    # one agent away: each position waits a whole handle time (the same handoff again: 200)
    r = await client.post(
        "/v1/agents/li/presence", json={"status": "away"}, headers=bearer(tokens["li"])
    )
    assert r.status_code == 200
    again = [await _post(client, f"q{i}") for i in range(1, 4)]
    assert [r.status_code for r in again] == [200, 200, 200]
    assert [r.json()["estimated_wait_s"] for r in again] == [300, 600, 900]
    # nobody available: the configured estimate per position
    r = await client.post(
        "/v1/agents/wang/presence", json={"status": "away"}, headers=bearer(tokens["wang"])
    )
    assert r.status_code == 200
    assert (await _post(client, "q3")).json()["estimated_wait_s"] == 90
