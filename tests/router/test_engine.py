"""The routing engine against a real Redis: each rule of the issue, one scenario each."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from router import errors
from router.engine import Engine
from router.models import Presence
from router.store import Store
from tests.router.conftest import FakeClock
from tests.router.helpers import agent, agent_state, handoff, offers_of, status_of

pytestmark = pytest.mark.anyio
MakeEngine = Callable[..., Engine]


async def test_offer_goes_to_highest_level_then_least_loaded_then_longest_idle(
    make_engine: MakeEngine, clock: FakeClock
) -> None:
    e = make_engine()
    await agent(e, "low", {"billing": 2}, max_concurrent=4)
    await agent(e, "high", {"billing": 5}, max_concurrent=4)
    first = await e.create_handoff(handoff("c1"))
    assert (await status_of(e, first.handoff_id))["offered_to"] == "high"
    await agent(e, "high2", {"billing": 5}, max_concurrent=4)
    second = await e.create_handoff(handoff("c2"))
    assert (await status_of(e, second.handoff_id))["offered_to"] == "high2"  # less loaded
    clock.advance(1)
    third = await e.create_handoff(handoff("c3"))
    # equal load ratio: "high" has been idle longer (its offer came first)
    assert (await status_of(e, third.handoff_id))["offered_to"] == "high"


async def test_agent_never_receives_more_than_max_concurrent(make_engine: MakeEngine) -> None:
    e = make_engine()
    await agent(e, "a", max_concurrent=2)
    results = [await e.create_handoff(handoff(f"c{i}")) for i in range(4)]
    assert [r.status for r in results] == ["offered", "offered", "queued", "queued"]
    assert [r.queue_rank for r in results[2:]] == [0, 1]
    assert len(await offers_of(e, "a")) == 2


async def test_queue_orders_by_sla_slack_so_nothing_starves(
    make_engine: MakeEngine, clock: FakeClock
) -> None:
    e = make_engine(sla_low_s=300.0, sla_high_s=60.0)
    await agent(e, "a", max_concurrent=1, status=None)
    old_low = await e.create_handoff(handoff("old-low", urgency="low"))
    clock.advance(250)  # old-low now has 50 s of slack
    fresh_high = await e.create_handoff(handoff("fresh-high", urgency="high"))  # 60 s of slack
    fresh_low = await e.create_handoff(handoff("fresh-low", urgency="low"))
    await e.presence("a", Presence.available)
    assert set((await offers_of(e, "a")).values()) == {old_low.handoff_id}
    await e.reject(next(iter(await offers_of(e, "a"))), "a")
    # old-low is held back from "a" for the re-offer delay; next by slack is fresh-high
    assert set((await offers_of(e, "a")).values()) == {fresh_high.handoff_id}
    assert fresh_low.status == "queued"


async def test_equal_deadlines_go_oldest_first(make_engine: MakeEngine) -> None:
    e = make_engine()
    await agent(e, "a", max_concurrent=1, status=None)
    ids = [(await e.create_handoff(handoff(f"c{i}"))).handoff_id for i in range(3)]
    await e.presence("a", Presence.available)
    assert set((await offers_of(e, "a")).values()) == {ids[0]}


async def test_required_skills_and_language(make_engine: MakeEngine) -> None:
    e = make_engine()
    await agent(e, "billing-only", {"billing": 5})
    await agent(e, "english", {"billing": 3, "roaming": 3}, languages=["en"])
    await agent(e, "both", {"billing": 1, "roaming": 2}, languages=["zh", "en"])
    h = await e.create_handoff(handoff("c1", skills=["billing", "roaming"], language="zh"))
    assert (await status_of(e, h.handoff_id))["offered_to"] == "both"


async def test_offer_timeout_requeues_at_original_age_and_misses_set_agent_away(
    make_engine: MakeEngine, clock: FakeClock
) -> None:
    e = make_engine(
        max_missed_offers=2, offer_timeout_s=5.0, reoffer_delay_s=100.0, heartbeat_timeout_s=600.0
    )
    await agent(e, "a", max_concurrent=1)
    h1 = await e.create_handoff(handoff("c1"))
    h2 = await e.create_handoff(handoff("c2"))
    clock.advance(5)
    assert (await e.tick()).expired == 1
    # h1 is back in the queue; "a" got h2 meanwhile (h1 is held back from "a" for a while)
    assert (await status_of(e, h1.handoff_id))["status"] == "queued"
    assert set((await offers_of(e, "a")).values()) == {h2.handoff_id}
    clock.advance(5)
    await e.tick()
    assert (await agent_state(e, "a"))["status"] == "away"
    queued = await e.redis.zrange(e.keys.queue("billing", "zh"), 0, -1, withscores=True)
    deadlines = [float((await status_of(e, h.handoff_id))["deadline_ms"]) for h in (h1, h2)]
    assert queued == list(zip([h1.handoff_id, h2.handoff_id], deadlines, strict=True))


async def test_accept_after_expiry_is_a_conflict(make_engine: MakeEngine, clock: FakeClock) -> None:
    e = make_engine(offer_timeout_s=5.0)
    await agent(e, "a")
    await e.create_handoff(handoff("c1"))
    (offer_id,) = await offers_of(e, "a")
    clock.advance(6)
    with pytest.raises(errors.OfferClosed):
        await e.accept(offer_id, "a")
    with pytest.raises(errors.NoSuchOffer):
        await e.accept("o999", "a")


async def test_reject_offers_to_the_next_agent(make_engine: MakeEngine) -> None:
    e = make_engine()
    await agent(e, "a", {"billing": 5})
    await agent(e, "b", {"billing": 1})
    h = await e.create_handoff(handoff("c1"))
    (offer_id,) = await offers_of(e, "a")
    with pytest.raises(errors.Forbidden):
        await e.reject(offer_id, "b")
    await e.reject(offer_id, "a")
    assert (await status_of(e, h.handoff_id))["offered_to"] == "b"


async def test_rejected_handoff_comes_back_to_the_same_agent_after_the_delay(
    make_engine: MakeEngine, clock: FakeClock
) -> None:
    e = make_engine(reoffer_delay_s=2.0)
    await agent(e, "a")
    h = await e.create_handoff(handoff("c1"))
    (offer_id,) = await offers_of(e, "a")
    await e.reject(offer_id, "a")
    assert (await status_of(e, h.handoff_id))["status"] == "queued"
    clock.advance(2)
    await e.tick()
    assert set((await offers_of(e, "a")).values()) == {h.handoff_id}


async def test_heartbeat_lapse_rescinds_offers_and_rescues_assigned(
    make_engine: MakeEngine, clock: FakeClock
) -> None:
    e = make_engine(heartbeat_timeout_s=10.0, offer_timeout_s=30.0)
    await agent(e, "a", max_concurrent=2)
    h1 = await e.create_handoff(handoff("c1"))
    h2 = await e.create_handoff(handoff("c2"))
    offers = {v: k for k, v in (await offers_of(e, "a")).items()}
    await e.accept(offers[h1.handoff_id], "a")
    clock.advance(10)
    assert (await e.tick()).offline == 1
    one, two = await status_of(e, h1.handoff_id), await status_of(e, h2.handoff_id)
    assert (one["status"], one["rescued"], one["agent_id"]) == ("queued", "1", "")
    assert two["status"] == "queued"
    a = await agent_state(e, "a")
    assert (a["status"], a["offers"], a["assigned"]) == ("offline", "0", "0")
    await agent(e, "b")
    assert set((await offers_of(e, "b")).values()) == {h1.handoff_id, h2.handoff_id}


async def test_backlog_drains_when_an_agent_comes_online(make_engine: MakeEngine) -> None:
    e = make_engine()
    ids = [(await e.create_handoff(handoff(f"c{i}"))).handoff_id for i in range(5)]
    await agent(e, "a", max_concurrent=3)
    assert set((await offers_of(e, "a")).values()) == set(ids[:3])


async def test_complete_offers_the_next_queued_handoff_and_returns_its_offer(
    make_engine: MakeEngine,
) -> None:
    e = make_engine()
    first = (await e.create_handoff(handoff("c1"))).handoff_id
    second = (await e.create_handoff(handoff("c2"))).handoff_id
    await agent(e, "a", max_concurrent=1)
    (oid,) = await offers_of(e, "a")
    assert await e.accept(oid, "a") == first
    made = await e.complete(first, "a", "resolved")
    assert len(made) == 1 and await offers_of(e, "a") == {made[0]: second}
    assert await e.accept(made[0], "a") == second
    assert await e.complete(second, "a", "resolved") == []  # the queue is empty


async def test_sticky_returning_customer_goes_to_last_agent_within_grace(
    make_engine: MakeEngine, clock: FakeClock
) -> None:
    e = make_engine(sticky_grace_s=60.0)
    await agent(e, "a", {"billing": 2}, max_concurrent=3)
    h = await e.create_handoff(handoff("c1", customer={"id": "cust-1"}))
    await e.accept(next(iter(await offers_of(e, "a"))), "a")
    await e.complete(h.handoff_id, "a", "resolved")
    await agent(e, "best", {"billing": 5}, max_concurrent=3)
    again = await e.create_handoff(handoff("c2", customer={"id": "cust-1"}))
    assert (await status_of(e, again.handoff_id))["offered_to"] == "a"
    other = await e.create_handoff(handoff("c3", customer={"id": "cust-2"}))
    assert (await status_of(e, other.handoff_id))["offered_to"] == "best"
    clock.advance(61)
    await e.presence("a", Presence.available)
    await e.presence("best", Presence.available)
    late = await e.create_handoff(handoff("c4", customer={"id": "cust-1"}))
    assert (await status_of(e, late.handoff_id))["offered_to"] == "best"


async def test_level_widens_after_the_configured_wait(
    make_engine: MakeEngine, clock: FakeClock
) -> None:
    e = make_engine(widen_after_s=30.0, heartbeat_timeout_s=600.0)
    await agent(e, "junior", {"billing": 2})
    h = await e.create_handoff(handoff("c1", min_level=4))
    assert h.status == "queued"
    clock.advance(30)
    await e.tick()
    assert (await status_of(e, h.handoff_id))["status"] == "queued"  # level 3 still required
    clock.advance(30)
    await e.tick()
    assert (await status_of(e, h.handoff_id))["offered_to"] == "junior"


async def test_language_widens_only_when_configured(
    make_engine: MakeEngine, clock: FakeClock
) -> None:
    e = make_engine(widen_language_after_s=20.0, heartbeat_timeout_s=600.0)
    await agent(e, "english", languages=["en"])
    h = await e.create_handoff(handoff("c1", language="zh"))
    clock.advance(19)
    await e.tick()
    assert (await status_of(e, h.handoff_id))["status"] == "queued"
    clock.advance(1)
    await e.tick()
    assert (await status_of(e, h.handoff_id))["offered_to"] == "english"

    never = make_engine(widen_language_after_s=0.0, heartbeat_timeout_s=600.0)
    await agent(never, "english", languages=["en"])
    h2 = await never.create_handoff(handoff("c1", language="zh"))
    clock.advance(3600)
    await never.presence("english", Presence.available)
    await never.tick()
    assert (await status_of(never, h2.handoff_id))["status"] == "queued"


async def test_same_conversation_returns_the_active_handoff(make_engine: MakeEngine) -> None:
    e = make_engine()
    first = await e.create_handoff(handoff("c1"))
    again = await e.create_handoff(handoff("c1"))
    assert (again.handoff_id, again.created) == (first.handoff_id, False)
    await e.abandon(first.handoff_id)
    fresh = await e.create_handoff(handoff("c1"))
    assert fresh.created and fresh.handoff_id != first.handoff_id


async def test_abandon_rescinds_the_offer_and_frees_the_agent(make_engine: MakeEngine) -> None:
    e = make_engine()
    await agent(e, "a", max_concurrent=1)
    h1 = await e.create_handoff(handoff("c1"))
    h2 = await e.create_handoff(handoff("c2"))
    await e.abandon(h1.handoff_id)
    assert (await status_of(e, h1.handoff_id))["status"] == "abandoned"
    assert set((await offers_of(e, "a")).values()) == {h2.handoff_id}
    await e.abandon(h1.handoff_id)  # idempotent
    with pytest.raises(errors.NoSuchHandoff):
        await e.abandon("h404")


async def test_complete_and_transfer_only_by_its_agent(make_engine: MakeEngine) -> None:
    e = make_engine()
    await agent(e, "a", {"billing": 3, "roaming": 1})
    await agent(e, "b", {"roaming": 4})
    h = await e.create_handoff(handoff("c1"))
    (offer_id,) = await offers_of(e, "a")
    with pytest.raises(errors.WrongState):
        await e.complete(h.handoff_id, "a", "resolved")
    await e.accept(offer_id, "a")
    with pytest.raises(errors.Forbidden):
        await e.complete(h.handoff_id, "b", "resolved")
    status = await e.transfer(h.handoff_id, "a", ["roaming"], None)
    assert status == "offered"
    assert (await status_of(e, h.handoff_id))["offered_to"] == "b"
    (offer_b,) = await offers_of(e, "b")
    await e.accept(offer_b, "b")
    await e.transfer(h.handoff_id, "b", None, "a")  # straight to a named agent
    assert (await status_of(e, h.handoff_id))["offered_to"] == "a"
    await e.accept(next(iter(await offers_of(e, "a"))), "a")
    with pytest.raises(errors.NoSuchAgent):
        await e.transfer(h.handoff_id, "a", None, "nobody")


async def test_priority_only_moves_the_deadline_earlier(make_engine: MakeEngine) -> None:
    e = make_engine()
    await agent(e, "a", max_concurrent=1, status=None)
    first = await e.create_handoff(handoff("c1", urgency="normal"))
    second = await e.create_handoff(handoff("c2", urgency="normal"))
    await e.raise_priority(second.handoff_id, "critical", 30_000)
    await e.raise_priority(second.handoff_id, "low", 300_000)  # no effect
    assert (await status_of(e, second.handoff_id))["urgency"] == "critical"
    await e.presence("a", Presence.available)
    assert set((await offers_of(e, "a")).values()) == {second.handoff_id}
    assert first.status == "queued"


async def test_updating_an_agent_reindexes_it(make_engine: MakeEngine) -> None:
    e = make_engine()
    await agent(e, "a", {"billing": 3})
    await e.upsert_agent("a", "A", {"roaming": 3}, ["zh"], 2, "ignored")
    assert await e.redis.zscore(e.keys.idx("billing", "zh"), "a") is None
    h = await e.create_handoff(handoff("c1", skills=["roaming"]))
    assert (await status_of(e, h.handoff_id))["offered_to"] == "a"


async def test_every_change_is_in_the_event_stream(make_engine: MakeEngine) -> None:
    e = make_engine()
    await agent(e, "a")
    h = await e.create_handoff(handoff("c1"))
    await e.accept(next(iter(await offers_of(e, "a"))), "a")
    await e.complete(h.handoff_id, "a", "resolved")
    kinds = [f["type"] for _, f in await e.redis.xrange(e.keys.events())]
    assert kinds == ["agent_created", "presence", "created", "offered", "accepted", "completed"]


async def test_queue_rank_of_a_multi_skill_handoff(make_engine: MakeEngine) -> None:
    e = make_engine()
    store = Store(e.redis, e.keys)
    ids = [
        (await e.create_handoff(handoff(f"c{i}", skills=["billing", "roaming"]))).handoff_id
        for i in range(3)
    ]
    assert [await store.queue_rank(h) for h in ids] == [0, 1, 2]
    await agent(e, "a", {"billing": 2, "roaming": 2}, max_concurrent=1)
    assert [await store.queue_rank(h) for h in ids] == [None, 0, 1]


async def test_counters_of_created_handoffs_and_offers_come_from_their_sequences(
    make_engine: MakeEngine,
) -> None:
    e = make_engine()
    store = Store(e.redis, e.keys)
    await agent(e, "a", max_concurrent=1)
    h = await e.create_handoff(handoff("c1"))
    await e.create_handoff(handoff("c2"))  # queued
    await e.accept(next(iter(await offers_of(e, "a"))), "a")
    await e.complete(h.handoff_id, "a", "resolved")  # offers c2 to "a"
    stats = await store.stats()
    assert (stats["created"], stats["offers"], stats["accepts"], stats["completed"]) == (2, 2, 1, 1)


def test_each_script_carries_only_the_library_it_uses_and_the_configuration() -> None:
    from router import scripts
    from router.lua_lib import script_source
    from router.settings import Settings

    config = Settings(offer_timeout_s=12.5).engine_config()
    priority = script_source(scripts.PRIORITY, config)
    assert "local function load_handoff" in priority
    assert "make_offer" not in priority and "k_agent(" not in priority
    create = script_source(scripts.CREATE_HANDOFF, config)
    assert "local function make_offer" in create and "(12500)" in create
    for body in scripts.ALL.values():
        assert "CFG" not in script_source(body, config)


def test_key_calls_are_written_out_as_their_names() -> None:
    import re

    from router import scripts
    from router.lua_lib import inline_keys, script_source
    from router.settings import Settings

    assert inline_keys("redis.call('GET', k_agent(a.id))") == (
        "redis.call('GET', (P .. 'agent:' .. a.id))"
    )
    assert inline_keys("k_queue(qsig(h), f(x, ')'))") == (
        "(P .. 'queue:' .. (qsig(h)) .. ':' .. (f(x, ')')))"
    )
    assert inline_keys("k_events() .. k_skill_queues(h.skills[1])") == (
        "(P .. 'events') .. (P .. 'queues:' .. (h.skills[1]))"
    )
    config = Settings().engine_config()
    for body in scripts.ALL.values():
        assert not re.search(r"\bk_\w+", script_source(body, config))
