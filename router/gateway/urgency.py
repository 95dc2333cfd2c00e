"""Raising a queued handoff's priority when the waiting customer writes something more urgent.

While a handoff waits, the customer's turns still go to the assistant; the assistant's NLU puts
an urgency on every message (components/urgency.py). When that urgency is above the handoff's,
the router moves the handoff's SLA deadline earlier (POST /v1/handoffs/{id}/priority does the
same over HTTP). The decision is this pure function; the gateway does the I/O.
"""

from __future__ import annotations

LEVELS = ("low", "normal", "high", "critical")


def should_raise(current: str | None, new: str | None) -> bool:
    """True when `new` is a known urgency strictly above `current` (unknown current = normal)."""
    if new not in LEVELS:
        return False
    base = current if current in LEVELS else "normal"
    return LEVELS.index(new) > LEVELS.index(base)
