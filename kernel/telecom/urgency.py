"""Urgency levels, defined once: the NLU component reads them from text, the actions raise them from
context, the router queues by them (its `Urgency` enum is checked against `LEVELS`), the gateway
raises a queued handoff with `should_raise`, and the agent console gets `LEVELS` and `LABELS` from
the page the router serves.
"""

from __future__ import annotations

__all__ = ["ANSWER_TARGET_S", "DEFAULT", "LABELS", "LEVELS", "known", "rank", "should_raise"]

LEVELS: tuple[str, ...] = ("low", "normal", "high", "critical")  # lowest first
DEFAULT = "normal"
# What an agent reads in the handoff summary and the console.
LABELS: dict[str, str] = {"low": "低", "normal": "普通", "high": "高", "critical": "紧急"}
# How soon an agent should answer a handoff of each level, in seconds: the router's SLA deadlines
# (ROUTER_SLA_<LEVEL>_S default to these) and the archive's service-level threshold of a queue
# that has none of its own.
ANSWER_TARGET_S: dict[str, float] = {"low": 300.0, "normal": 120.0, "high": 60.0, "critical": 30.0}


def rank(level: str | None) -> int:
    """0 (low) … 3 (critical); -1 for None or an unknown level."""
    return LEVELS.index(level) if level in LEVELS else -1


def known(level: object) -> str:
    """`level` when it is one of `LEVELS`, else the default (normal)."""
    return level if isinstance(level, str) and level in LEVELS else DEFAULT


def should_raise(current: str | None, new: str | None) -> bool:
    """True when `new` is a known level strictly above `current` (an unknown current counts as
    normal): the one test for raising a waiting customer's urgency."""
    return rank(new) > rank(known(current))
