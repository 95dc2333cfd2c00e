"""Property tests: random sequences of arrivals, accepts, rejects, timeouts, presence changes,
transfers, abandons, completions, agents deleted and created again and token rotations against
the real engine keep every routing invariant."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from router import errors
from router.engine import Engine
from router.models import Presence
from tests.router.conftest import FakeClock
from tests.router.helpers import check_invariants, handoff

pytestmark = pytest.mark.anyio

AGENTS = {
    "a0": ({"billing": 5, "roaming": 2}, ["zh"], 2),
    "a1": ({"billing": 2}, ["zh", "en"], 1),
    "a2": ({"roaming": 4}, ["en"], 3),
    "a3": ({"billing": 3, "roaming": 3}, ["zh"], 2),
}
agent_ids = st.sampled_from(sorted(AGENTS))
ops = st.one_of(
    st.tuples(
        st.just("arrive"),
        st.sampled_from([["billing"], ["roaming"], ["billing", "roaming"]]),
        st.sampled_from(["zh", "en"]),
        st.sampled_from(["low", "normal", "high", "critical"]),
        st.integers(1, 4),
    ),
    st.tuples(st.just("presence"), agent_ids, st.sampled_from(list(Presence))),
    st.tuples(st.just("accept"), agent_ids),
    st.tuples(st.just("reject"), agent_ids),
    st.tuples(st.just("complete"), agent_ids),
    st.tuples(st.just("transfer"), agent_ids, st.sampled_from(["billing", "roaming"])),
    st.tuples(st.just("abandon"), st.integers(0, 50)),
    st.tuples(st.just("advance"), st.sampled_from([0.5, 2.0, 6.0, 12.0, 40.0])),
    st.tuples(st.just("heartbeat"), agent_ids),
    st.tuples(st.just("delete"), agent_ids),
    st.tuples(st.just("create"), agent_ids),  # created again when deleted, else updated
    st.tuples(st.just("rotate"), agent_ids),
)


async def _apply(
    e: Engine, clock: FakeClock, op: tuple[object, ...], created: list[str], live: set[str]
) -> None:
    kind = op[0]
    r, k = e.redis, e.keys
    if kind in ("delete", "create", "rotate"):
        await _apply_admin(e, str(kind), str(op[1]), live)
    elif kind == "arrive":
        _, skills, lang, urgency, level = op
        result = await e.create_handoff(
            handoff(
                uuid.uuid4().hex, skills=skills, language=lang, urgency=urgency, min_level=level
            )
        )
        created.append(result.handoff_id)
    elif kind == "presence":
        with contextlib.suppress(errors.NoSuchAgent):  # deleted
            await e.presence(str(op[1]), Presence(str(op[2])))
    elif kind == "heartbeat":
        status = await r.hget(k.agent(str(op[1])), "status")
        if status not in ("offline", None):
            await e.presence(str(op[1]), Presence(status))
    elif kind in ("accept", "reject"):
        offers = sorted(await r.smembers(k.agent_offers(str(op[1]))))
        if offers:
            call = e.accept if kind == "accept" else e.reject
            with contextlib.suppress(errors.OfferClosed):  # it expired at this very instant
                await call(offers[0], str(op[1]))
    elif kind in ("complete", "transfer"):
        held = sorted(await r.smembers(k.agent_handoffs(str(op[1]))))
        if held:
            if kind == "complete":
                await e.complete(held[0], str(op[1]), "resolved")
            else:
                await e.transfer(held[0], str(op[1]), [str(op[2])], None)
    elif kind == "abandon":
        if created:
            with contextlib.suppress(errors.WrongState):  # already completed: refused, rightly
                await e.abandon(created[int(str(op[1])) % len(created)])
    elif kind == "advance":
        clock.advance(float(str(op[1])))
        await e.tick()


async def _apply_admin(e: Engine, kind: str, aid: str, live: set[str]) -> None:
    if kind == "create":
        skills, langs, maxc = AGENTS[aid]
        await e.upsert_agent(aid, aid, skills, langs, maxc, "h")
        live.add(aid)
    elif aid not in live:
        with pytest.raises(errors.NoSuchAgent):
            await (e.delete_agent(aid) if kind == "delete" else e.rotate_token(aid, "h2"))
    elif kind == "delete":
        await e.delete_agent(aid)
        live.discard(aid)
    else:
        await e.rotate_token(aid, uuid.uuid4().hex)


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(sequence=st.lists(ops, min_size=5, max_size=40), available=st.sets(agent_ids))
async def test_random_sequences_keep_the_invariants(
    make_engine: Callable[..., Engine],
    clock: FakeClock,
    sequence: list[tuple[object, ...]],
    available: set[str],
) -> None:
    e = make_engine(
        key_prefix=f"inv{uuid.uuid4().hex}:",
        offer_timeout_s=5.0,
        heartbeat_timeout_s=10.0,
        widen_after_s=30.0,
        widen_language_after_s=60.0,
        max_missed_offers=2,
        reoffer_delay_s=3.0,
    )
    for aid, (skills, langs, maxc) in AGENTS.items():
        await e.upsert_agent(aid, aid, skills, langs, maxc, "h")
    for aid in sorted(available):  # the others start offline
        await e.presence(aid, Presence.available)
    created: list[str] = []
    live = set(AGENTS)
    for op in sequence:
        await _apply(e, clock, op, created, live)
        await check_invariants(e, sorted(live), created, gone=sorted(set(AGENTS) - live))
    # whatever happened, once agents are back nothing stays offered forever
    for aid in sorted(live):
        await e.presence(aid, Presence.available)
    clock.advance(3600)
    await e.tick()
    await check_invariants(e, sorted(live), created, gone=sorted(set(AGENTS) - live))
