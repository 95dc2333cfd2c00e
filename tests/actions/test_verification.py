from __future__ import annotations

from datetime import timedelta

import pytest

from actions.verification import LOCK_DURATION, MAX_FAILURES, Attempt, evaluate


@pytest.fixture
def history(now):
    """create('FFS', step=timedelta(minutes=1)) → attempts ending at now, F = fail, S = success."""

    def create(pattern: str, step: timedelta = timedelta(minutes=1)) -> list[Attempt]:
        start = now - step * (len(pattern) - 1)
        return [Attempt(at=start + step * i, success=c == "S") for i, c in enumerate(pattern)]

    return create


def test_no_attempts(now):
    state = evaluate([], now)
    assert state.failures == 0 and state.locked_until is None and state.remaining == MAX_FAILURES


def test_four_failures_do_not_lock(history, now):
    state = evaluate(history("FFFF"), now)
    assert state.failures == 4 and state.locked_until is None and state.remaining == 1


def test_fifth_failure_locks_for_30_minutes(history, now):
    state = evaluate(history("FFFFF"), now)
    assert state.failures == 5
    assert state.locked_until == now + LOCK_DURATION
    assert state.remaining == 0


def test_lock_expires_after_30_minutes(history, now):
    attempts = history("FFFFF")
    assert evaluate(attempts, now + LOCK_DURATION - timedelta(seconds=1)).locked_until
    state = evaluate(attempts, now + LOCK_DURATION)
    assert state.locked_until is None and state.failures == 0


def test_success_resets_the_count(history, now):
    state = evaluate(history("FFFFSFFFF"), now)
    assert state.failures == 4 and state.locked_until is None


def test_attempts_during_a_lock_do_not_extend_it(history, now):
    attempts = [*history("FFFFF"), Attempt(now + timedelta(minutes=10), False)]
    state = evaluate(attempts, now + timedelta(minutes=11))
    assert state.locked_until == now + LOCK_DURATION


def test_after_a_lock_a_new_round_starts(history, now):
    attempts = [*history("FFFFF"), Attempt(now + LOCK_DURATION + timedelta(minutes=1), False)]
    state = evaluate(attempts, now + LOCK_DURATION + timedelta(minutes=2))
    assert state.failures == 1 and state.locked_until is None


def test_order_of_input_does_not_matter(history, now):
    attempts = history("FFFFF")
    assert evaluate(list(reversed(attempts)), now) == evaluate(attempts, now)


def test_old_failures_are_forgotten(history, now):
    state = evaluate(history("FFFF", step=timedelta(hours=10)), now)
    assert state.failures < 4
