"""Pure ordering and choice rules. The Lua scripts (router/lua_lib/) implement the same rules.

Agents are indexed per (skill, language) in sorted sets scored by `agent_score`, so the best agent
is the lowest score: highest level in the skill, then least loaded (load / max_concurrent), then
longest idle. Handoffs are queued scored by their SLA deadline; equal deadlines fall back to the
member, and handoff ids are zero-padded sequence numbers, so ties go to the oldest.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

EPOCH_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z
_IDLE_SPAN = 10**12  # ms of idle time representable (about 31 years)
_RATIO_STEPS = 1001  # load ratio in permille, 0..1000


@dataclass(frozen=True)
class AgentView:
    agent_id: str
    skills: dict[str, int]
    languages: frozenset[str]
    max_concurrent: int
    load: int = 0
    idle_since_ms: int = 0
    available: bool = True
    heartbeat_until_ms: int = 2**62


@dataclass(frozen=True)
class HandoffView:
    handoff_id: str
    skills: tuple[str, ...]
    language: str
    created_ms: int
    deadline_ms: int
    min_level: int = 1
    language_relaxed: bool = False
    skip_agent: str = ""
    skip_until_ms: int = 0
    preferred: tuple[str, ...] = field(default=())


def agent_score(level: int, load: int, max_concurrent: int, idle_since_ms: int) -> int:
    """Index score: lower is better. Exact in a double (< 2**53)."""
    ratio = load * 1000 // max_concurrent
    idle = min(max(idle_since_ms - EPOCH_MS, 0), _IDLE_SPAN - 1)
    return ((5 - level) * _RATIO_STEPS + ratio) * _IDLE_SPAN + idle


def level_bound(min_level: int) -> int:
    """Scores strictly below this belong to agents with level >= min_level."""
    return (6 - min_level) * _RATIO_STEPS * _IDLE_SPAN


def effective_min_level(h: HandoffView, now_ms: int, widen_ms: int) -> int:
    """The required level drops by one for every `widen_ms` waited (never below 1)."""
    if widen_ms <= 0:
        return h.min_level
    return max(1, h.min_level - (now_ms - h.created_ms) // widen_ms)


def eligible(a: AgentView, h: HandoffView, now_ms: int, widen_ms: int, exclude: str = "") -> bool:
    if not a.available or a.load >= a.max_concurrent or a.heartbeat_until_ms <= now_ms:
        return False
    if a.agent_id == exclude or (a.agent_id == h.skip_agent and now_ms < h.skip_until_ms):
        return False
    level = effective_min_level(h, now_ms, widen_ms)
    if any(a.skills.get(s, 0) < level for s in h.skills):
        return False
    return h.language_relaxed or h.language in a.languages


def choose_agent(
    h: HandoffView, agents: Iterable[AgentView], now_ms: int, widen_ms: int, exclude: str = ""
) -> str | None:
    """The agent a handoff is offered to: a preferred (transfer target, sticky) agent if eligible,
    else the eligible agent with the lowest score in the handoff's first skill."""
    pool = {a.agent_id: a for a in agents}
    for agent_id in h.preferred:
        a = pool.get(agent_id)
        if a is not None and eligible(a, h, now_ms, widen_ms, exclude):
            return agent_id
    ranked = sorted(
        (agent_score(a.skills[h.skills[0]], a.load, a.max_concurrent, a.idle_since_ms), a.agent_id)
        for a in pool.values()
        if eligible(a, h, now_ms, widen_ms, exclude)
    )
    return ranked[0][1] if ranked else None


def queue_key(h: HandoffView) -> tuple[float, str]:
    """Queue order: earliest SLA deadline (least slack) first, then oldest (lowest id)."""
    return (h.deadline_ms, h.handoff_id)


def choose_handoff(
    a: AgentView, queued: Sequence[HandoffView], now_ms: int, widen_ms: int, exclude: str = ""
) -> str | None:
    """The handoff an agent with free capacity is offered: the most urgent it is eligible for."""
    ranked = sorted(
        queue_key(h) for h in queued if h.handoff_id != exclude and eligible(a, h, now_ms, widen_ms)
    )
    return ranked[0][1] if ranked else None
