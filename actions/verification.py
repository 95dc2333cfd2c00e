"""Verification lockout, decided from the attempt history alone (the store keeps the history).

Five failures in a row lock verification for that number for 30 minutes; a success resets the
count; when a lock ends the count starts again. Attempts made while locked do not count.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

__all__ = [
    "ATTEMPT_WINDOW",
    "LOCK_DURATION",
    "MAX_FAILURES",
    "Attempt",
    "VerificationState",
    "evaluate",
]

MAX_FAILURES = 5
LOCK_DURATION = timedelta(minutes=30)
ATTEMPT_WINDOW = timedelta(hours=24)  # older attempts are forgotten (the store loads only these)


@dataclass(frozen=True)
class Attempt:
    at: datetime
    success: bool


@dataclass(frozen=True)
class VerificationState:
    failures: int  # failures in a row, in the current round
    locked_until: datetime | None

    @property
    def remaining(self) -> int:
        """Attempts left before the lock (0 when locked)."""
        return 0 if self.locked_until else max(MAX_FAILURES - self.failures, 0)


def evaluate(
    attempts: Iterable[Attempt],
    now: datetime,
    *,
    max_failures: int = MAX_FAILURES,
    lock_duration: timedelta = LOCK_DURATION,
) -> VerificationState:
    """The lock state at `now` given the attempts (any order) of the last ATTEMPT_WINDOW."""
    failures = 0
    locked_until: datetime | None = None
    for attempt in sorted(attempts, key=lambda a: a.at):
        if attempt.at > now:
            break
        if attempt.at < now - ATTEMPT_WINDOW:
            continue
        if locked_until is not None:
            if attempt.at < locked_until:
                continue
            locked_until, failures = None, 0
        if attempt.success:
            failures = 0
        else:
            failures += 1
            if failures >= max_failures:
                locked_until = attempt.at + lock_duration
    if locked_until is not None and now >= locked_until:
        return VerificationState(failures=0, locked_until=None)
    return VerificationState(failures=failures, locked_until=locked_until)
