"""Estimated wait of a queued handoff: pure arithmetic on what the router measures.

The inputs are read inside a Lua script (`wait_inputs` in router/lua_lib/queues.py), in the
same call that creates the handoff or reads its queue position:

- `free`: agents under capacity who hold the handoff's skill at its required level and speak its
  language (the first skill's agent index; counted only for single-skill handoffs, for which the
  index alone says who could take it);
- `capacity`: the chats the available agents who hold its skills and language can carry at
  once (sum of their max_concurrent; the smallest over its skills), busy or not;
- `handle_ms`, `measured`: the average handle time (accept to completion) of handoffs of its
  first skill, and how many completions it was measured from.

Like the estimated wait of contact-centre routers: the first `free` positions are served now, the
others wait for chats to end, `capacity` at a time, each taking the average handle time:
ceil((position - free) / capacity) x handle time. Before anything is measured, or while nobody
is staffed for the handoff, each position counts `prior_s` (Settings.estimate_s_per_position).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class WaitInputs:
    free: int
    capacity: int
    handle_ms: int
    measured: int

    @classmethod
    def from_reply(cls, values: Sequence[str]) -> WaitInputs:
        """From the four values `wait_inputs` returns (router/lua_lib/queues.py), as strings."""
        free, capacity, handle_ms, measured = (int(float(v)) for v in values)
        return cls(free, capacity, handle_ms, measured)


def estimated_wait_s(position: int, inputs: WaitInputs, prior_s: float) -> int:
    """Seconds a handoff at 1-based `position` in its queue should expect to wait."""
    ahead = position - max(inputs.free, 0)  # positions left once the free agents take theirs
    if ahead <= 0:
        return 0
    if inputs.measured <= 0 or inputs.handle_ms <= 0 or inputs.capacity <= 0:
        return round(ahead * prior_s)
    rounds = -(-ahead // inputs.capacity)  # ceil: each round, `capacity` chats end
    return round(rounds * inputs.handle_ms / 1000)
