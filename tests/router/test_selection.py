"""Pure choice and ordering rules (router/selection.py), and the Lua scripts agreeing with them."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from router.engine import Engine
from router.models import Presence
from router.selection import (
    AgentView,
    HandoffView,
    agent_score,
    choose_agent,
    choose_handoff,
    effective_min_level,
    eligible,
    level_bound,
)
from tests.router.conftest import FakeClock
from tests.router.helpers import handoff, status_of

NOW = 1_790_000_000_000


def view(agent_id: str, level: int = 3, load: int = 0, maxc: int = 2, idle: int = NOW) -> AgentView:
    return AgentView(agent_id, {"billing": level}, frozenset({"zh"}), maxc, load, idle)


def ticket(hid: str = "h1", **kw: object) -> HandoffView:
    base: dict[str, object] = {
        "skills": ("billing",), "language": "zh", "created_ms": NOW, "deadline_ms": NOW + 60_000,
    }  # fmt: skip
    base.update(kw)
    return HandoffView(hid, **base)  # type: ignore[arg-type]


def test_score_orders_level_then_load_ratio_then_idle() -> None:
    assert agent_score(5, 3, 3, NOW) < agent_score(4, 0, 3, NOW - 10**9)
    assert agent_score(4, 1, 4, NOW) < agent_score(4, 1, 2, NOW - 10**9)
    assert agent_score(4, 1, 2, NOW - 1) < agent_score(4, 1, 2, NOW)
    assert agent_score(1, 1000, 1000, 2**45) < 2**53  # exact in a double


@pytest.mark.parametrize("level", [1, 2, 3, 4, 5])
def test_level_bound_separates_levels(level: int) -> None:
    worst_ok = agent_score(level, 99, 100, 2**44)
    best_too_low = agent_score(level - 1, 0, 100, 0) if level > 1 else None
    assert worst_ok < level_bound(level)
    assert best_too_low is None or best_too_low >= level_bound(level)


def test_choose_agent_prefers_level_then_load_then_idle() -> None:
    h = ticket()
    agents = [view("a", 3), view("b", 4, load=1), view("c", 4, load=1, idle=NOW - 5)]
    assert choose_agent(h, agents, NOW, 0) == "c"
    assert choose_agent(h, [*agents, view("d", 4, load=0)], NOW, 0) == "d"


def test_preferred_agent_first_when_eligible() -> None:
    h = ticket(preferred=("slow",))
    assert choose_agent(h, [view("slow", 1), view("fast", 5)], NOW, 0) == "slow"
    assert choose_agent(h, [view("slow", 1, load=2), view("fast", 5)], NOW, 0) == "fast"


def test_eligibility_rules() -> None:
    h = ticket(skills=("billing", "roaming"), min_level=3)
    a = AgentView("a", {"billing": 3, "roaming": 3}, frozenset({"zh"}), 1)
    assert eligible(a, h, NOW, 0)
    assert not eligible(AgentView("a", {"billing": 3}, frozenset({"zh"}), 1), h, NOW, 0)
    assert not eligible(AgentView("a", a.skills, frozenset({"en"}), 1), h, NOW, 0)
    assert eligible(AgentView("a", a.skills, frozenset({"en"}), 1), ticket(
        skills=("billing",), language_relaxed=True), NOW, 0)  # fmt: skip
    assert not eligible(AgentView("a", a.skills, frozenset({"zh"}), 1, load=1), h, NOW, 0)
    assert not eligible(a, h, NOW, 0, exclude="a")
    skipped = ticket(skip_agent="a", skip_until_ms=NOW + 1)
    assert not eligible(a, skipped, NOW, 0) and eligible(a, skipped, NOW + 1, 0)


def test_widening_lowers_the_required_level_one_step_per_wait() -> None:
    h = ticket(min_level=4)
    assert [effective_min_level(h, NOW + s * 1000, 30_000) for s in (0, 29, 30, 60, 600)] == [
        4, 4, 3, 2, 1
    ]  # fmt: skip
    assert effective_min_level(h, NOW + 10**9, 0) == 4


def test_handoff_order_is_slack_then_age() -> None:
    a = view("a")
    queued = [
        ticket("h3", deadline_ms=NOW + 10),
        ticket("h2", deadline_ms=NOW + 10),
        ticket("h1", deadline_ms=NOW + 20),
    ]
    assert choose_handoff(a, queued, NOW, 0) == "h2"
    assert choose_handoff(a, queued, NOW, 0, exclude="h2") == "h3"


agent_strategy = st.lists(
    st.tuples(
        st.integers(1, 5),  # level in billing
        st.integers(0, 2),  # extra: roaming level (0 = none)
        st.integers(1, 4),  # max_concurrent
        st.integers(0, 3),  # offers to fill before the test handoff
        st.sampled_from([("zh",), ("en",), ("zh", "en")]),
        st.booleans(),  # available
    ),
    min_size=1,
    max_size=8,
)


@pytest.mark.anyio
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(agents=agent_strategy, needs_roaming=st.booleans(), min_level=st.integers(1, 5))
async def test_lua_choice_matches_the_pure_rule(
    make_engine: Callable[..., Engine],
    clock: FakeClock,
    agents: list[tuple[int, int, int, int, tuple[str, ...], bool]],
    needs_roaming: bool,
    min_level: int,
) -> None:
    # a fresh key prefix per example: a clean routing state on the same Redis
    e = make_engine(widen_after_s=0.0, sticky_grace_s=0.0, key_prefix=f"sel{uuid.uuid4().hex}:")
    views = []
    for i, (level, roaming, maxc, fill, langs, available) in enumerate(agents):
        skills = {"billing": level} | ({"roaming": roaming} if roaming else {})
        aid = f"a{i}"
        await e.upsert_agent(aid, aid, skills, list(langs), maxc, "h")
        await e.presence(aid, Presence.available)
        for j in range(min(fill, maxc)):  # load it with filler handoffs it alone can take
            await e.upsert_agent(aid, aid, skills | {f"only{i}": 5}, list(langs), maxc, "h")
            await e.create_handoff(handoff(f"fill-{i}-{j}", skills=[f"only{i}"], language=langs[0]))
        await e.upsert_agent(aid, aid, skills, list(langs), maxc, "h")
        if not available:
            await e.presence(aid, Presence.away)
        clock.advance(0.001)
        state = await e.redis.hgetall(e.keys.agent(aid))
        views.append(
            AgentView(aid, skills, frozenset(langs), maxc,
                      int(state["offers"]) + int(state["assigned"]), int(state["idle_since"]),
                      available, int(state["hb_until"]))
        )  # fmt: skip
    skills_needed = ("billing", "roaming") if needs_roaming else ("billing",)
    created = await e.create_handoff(
        handoff("probe", skills=list(skills_needed), language="zh", min_level=min_level)
    )
    probe = HandoffView(created.handoff_id, skills_needed, "zh", clock(), clock(), min_level)
    expected = choose_agent(probe, views, clock(), 0)
    got = (await status_of(e, created.handoff_id)).get("offered_to") or None
    assert got == expected
