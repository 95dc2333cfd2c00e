"""Verification lockout, decided from the attempt history alone (the store keeps the history).

A number: five failures in a row lock verification for that number for 30 minutes; a success
resets the count; when a lock ends the count starts again. Attempts made while locked do not
count (they are refused before any comparison and not recorded).

A conversation and a client (the gateway's pseudonymous key of the client address): failures
across every number are counted in a sliding window (`Limits`; by default 5 per conversation in
30 minutes, 20 per client in an hour), so nobody can cycle through numbers with a few guesses
each. Successes do not reset these counts. An unknown number counts like a wrong ID.
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
    "Decision",
    "Limits",
    "Lock",
    "VerificationState",
    "decide",
    "evaluate",
    "window_lock",
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


@dataclass(frozen=True)
class Limits:
    """Failures allowed across numbers, per conversation and per client, in a sliding window."""

    conversation_failures: int = 5
    conversation_window: timedelta = timedelta(minutes=30)
    client_failures: int = 20
    client_window: timedelta = timedelta(hours=1)


@dataclass(frozen=True)
class Lock:
    scope: str  # number | conversation | client
    until: datetime


def window_lock(
    failures: Iterable[datetime], now: datetime, limit: int, window: timedelta
) -> datetime | None:
    """Until when `limit` failures within the `window` before `now` lock, or None."""
    recent = sorted(at for at in failures if now - window < at <= now)
    if len(recent) < limit:
        return None
    return recent[len(recent) - limit] + window  # when fewer than `limit` are left in the window


@dataclass(frozen=True)
class Decision:
    lock: Lock | None
    remaining: int  # failures allowed before a lock, over every scope (0 when locked)


def _left(failures: Iterable[datetime], now: datetime, limit: int, window: timedelta) -> int:
    return max(limit - sum(1 for at in failures if now - window < at <= now), 0)


def decide(
    number_attempts: Iterable[Attempt] | None,
    conversation_failures: Iterable[datetime] | None,
    client_failures: Iterable[datetime] | None,
    now: datetime,
    limits: Limits = Limits(),
) -> Decision:
    """The lock that applies at `now` — the number's first, then the conversation's, then the
    client's — and how many failures are left before one. A scope given as None is not known
    (e.g. no client key) and not counted."""
    number_attempts = None if number_attempts is None else list(number_attempts)
    conversation_failures = None if conversation_failures is None else list(conversation_failures)
    client_failures = None if client_failures is None else list(client_failures)
    left: list[int] = []
    if number_attempts is not None:
        state = evaluate(number_attempts, now)
        if state.locked_until is not None:
            return Decision(Lock("number", state.locked_until), 0)
        left.append(state.remaining)
    checks = (
        ("conversation", conversation_failures, limits.conversation_failures,
         limits.conversation_window),
        ("client", client_failures, limits.client_failures, limits.client_window),
    )  # fmt: skip
    for scope, failures, limit, window in checks:
        if failures is None:
            continue
        until = window_lock(failures, now, limit, window)
        if until is not None:
            return Decision(Lock(scope, until), 0)
        left.append(_left(failures, now, limit, window))
    return Decision(None, min(left, default=MAX_FAILURES))
