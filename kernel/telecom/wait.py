"""What a queued customer is told about the wait: one rule for the assistant's reply and the
gateway's queue message.

The estimate is rounded *up* to whole minutes: a waiting customer is told where they stand
(../shared/domain.md), and a wait that turns out shorter than promised does no harm while a
longer one does. Under a minute is said as such.
"""

from __future__ import annotations

import math

__all__ = ["wait_minutes", "wait_text"]


def wait_minutes(seconds: float | None) -> int:
    """Whole minutes to announce, rounded up; 0 when under a minute (or unknown)."""
    if seconds is None or seconds < 60:
        return 0
    return math.ceil(seconds / 60)


def wait_text(seconds: float | None) -> str:
    """'预计等待不到1分钟' or '预计等待约N分钟'."""
    minutes = wait_minutes(seconds)
    return f"预计等待约{minutes}分钟" if minutes else "预计等待不到1分钟"
