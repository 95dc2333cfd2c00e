"""The exact arithmetic and boundaries of router/selection.py's pure rules (no Redis): the score's
parts, the clamps, the defaults the Lua side relies on, and every `<` against `<=`."""

from __future__ import annotations

import dataclasses

import pytest

from router.selection import (
    EPOCH_MS,
    AgentView,
    HandoffView,
    agent_score,
    choose_agent,
    choose_handoff,
    effective_min_level,
    eligible,
    level_bound,
)

SPAN = 10**12  # idle milliseconds one score step holds
STEPS = 1001  # load ratio steps: 0..1000 permille
NOW = EPOCH_MS + 3_600_000


def agent(agent_id: str = "a", level: int = 3, **kw: object) -> AgentView:
    return AgentView(agent_id, {"billing": level}, frozenset({"zh"}), 2, **kw)  # type: ignore[arg-type]


def handoff(**kw: object) -> HandoffView:
    base: dict[str, object] = {
        "skills": ("billing",), "language": "zh", "created_ms": NOW, "deadline_ms": NOW + 60_000,
    }  # fmt: skip
    base.update(kw)
    return HandoffView("h", **base)  # type: ignore[arg-type]


def test_the_epoch_is_2026_01_01_utc() -> None:
    assert EPOCH_MS == 1_767_225_600_000


def test_score_is_level_then_permille_load_then_idle_ms() -> None:
    assert agent_score(5, 0, 2, EPOCH_MS) == 0
    assert agent_score(5, 0, 2, EPOCH_MS + 7) == 7
    assert agent_score(4, 0, 2, EPOCH_MS) == STEPS * SPAN
    assert agent_score(5, 1, 3, EPOCH_MS) == 333 * SPAN  # permille, rounded down
    assert agent_score(5, 3, 3, EPOCH_MS) == 1000 * SPAN
    assert agent_score(1, 2, 2, EPOCH_MS + 5) == (4 * STEPS + 1000) * SPAN + 5
    assert type(agent_score(5, 1, 3, EPOCH_MS)) is int


def test_idle_is_clamped_to_its_span() -> None:
    assert agent_score(5, 0, 1, EPOCH_MS - 5) == 0  # idle since before the epoch: none
    assert agent_score(5, 0, 1, EPOCH_MS + SPAN - 1) == SPAN - 1
    assert agent_score(5, 0, 1, EPOCH_MS + SPAN + 10**6) == SPAN - 1  # never into the next step


def test_level_bound_is_the_first_score_of_the_next_lower_level() -> None:
    assert level_bound(5) == STEPS * SPAN
    assert level_bound(1) == 5 * STEPS * SPAN
    assert agent_score(5, 2, 2, EPOCH_MS + SPAN) < level_bound(5) <= agent_score(4, 0, 1, EPOCH_MS)


def test_views_are_immutable_with_these_defaults() -> None:
    a = AgentView("a", {}, frozenset(), 1)
    assert a == AgentView("a", {}, frozenset(), 1, 0, 0, True, 2**62)
    h = HandoffView("h", (), "zh", 1, 2)
    assert h == HandoffView("h", (), "zh", 1, 2, 1, False, "", 0, ())
    assert h.language_relaxed is False and h.skip_agent == "" and a.idle_since_ms == 0
    for view, name in ((a, "load"), (h, "min_level")):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(view, name, 5)


def test_widening_steps_every_widen_ms_even_when_it_is_one() -> None:
    h = handoff(min_level=3, created_ms=0)
    assert effective_min_level(h, 1, 1) == 2
    assert effective_min_level(h, 0, 1) == 3
    assert effective_min_level(h, 10**6, 0) == 3  # 0: never widen


def test_heartbeat_ends_at_its_deadline() -> None:
    assert eligible(agent(heartbeat_until_ms=NOW + 1), handoff(), NOW, 0)
    assert not eligible(agent(heartbeat_until_ms=NOW), handoff(), NOW, 0)


def test_a_missing_skill_is_level_zero() -> None:
    other = AgentView("a", {"roaming": 5}, frozenset({"zh"}), 2)
    assert not eligible(other, handoff(min_level=1), NOW, 0)


def test_skip_until_is_exclusive() -> None:
    h = handoff(skip_agent="a", skip_until_ms=NOW + 1)
    assert not eligible(agent(), h, NOW, 0)
    assert eligible(agent(), handoff(skip_agent="a", skip_until_ms=NOW), NOW, 0)


def test_nothing_is_excluded_by_default() -> None:
    # an agent (and a handoff) whose id is any string is chosen when nothing is excluded
    for name in ("XXXX", "a"):
        assert eligible(agent(name), handoff(), NOW, 0)
        assert choose_agent(handoff(), [agent(name)], NOW, 0) == name
    assert choose_handoff(agent(), [HandoffView("XXXX", ("billing",), "zh", NOW, NOW)], NOW, 0) == (
        "XXXX"
    )
