from __future__ import annotations

from datetime import timedelta

import pytest

from actions.verification import (
    LOCK_DURATION,
    MAX_FAILURES,
    Attempt,
    Limits,
    Lock,
    decide,
    evaluate,
    window_lock,
)


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


# ------------------------------------------------------------ across numbers: decide, window_lock

LIMITS = Limits()  # 5 per conversation in 30 min, 20 per client in an hour


def _times(now, count: int, step: timedelta = timedelta(minutes=1)) -> list:
    return [now - step * i for i in range(count)]


def test_window_lock_counts_failures_in_the_window_only(now):
    window = timedelta(minutes=30)
    assert window_lock(_times(now, 4), now, 5, window) is None
    five = _times(now, 5)
    assert window_lock(five, now, 5, window) == min(five) + window
    old = [now - timedelta(minutes=31)] * 10
    assert window_lock(old + _times(now, 4), now, 5, window) is None


def test_window_lock_ends_when_the_oldest_counted_failure_leaves_the_window(now):
    window = timedelta(minutes=30)
    failures = _times(now, 6, step=timedelta(minutes=2))  # now, -2, … -10 minutes
    until = window_lock(failures, now, 5, window)
    assert until == now - timedelta(minutes=8) + window  # the 5th newest
    assert window_lock(failures, until, 5, window) is None


def test_cycling_numbers_locks_the_conversation(now):
    """One failure on each of five numbers: no number is locked, the conversation is."""
    per_number = [Attempt(now, False)]
    decision = decide(per_number, _times(now, 5), [], now, LIMITS)
    assert decision.lock == Lock("conversation", now - timedelta(minutes=4) + timedelta(minutes=30))
    assert decision.remaining == 0


def test_a_client_is_locked_across_conversations(now):
    decision = decide([], [], _times(now, 20, step=timedelta(minutes=2)), now, LIMITS)
    assert decision.lock is not None and decision.lock.scope == "client"
    assert decide([], [], _times(now, 19), now, LIMITS).lock is None


def test_the_number_lock_comes_first(now):
    number = [Attempt(now - timedelta(seconds=i), False) for i in range(5)]
    decision = decide(number, _times(now, 5), _times(now, 20), now, LIMITS)
    assert decision.lock.scope == "number"


def test_successes_do_not_reset_the_conversation_count(now):
    """The decision counts failures only; the store passes failures, whatever came between."""
    decision = decide(None, _times(now, 4), None, now, LIMITS)
    assert decision.lock is None and decision.remaining == 1


def test_remaining_is_the_smallest_over_every_scope(now):
    number = [Attempt(now, False)]  # 4 left for the number
    assert decide(number, _times(now, 2), _times(now, 18), now, LIMITS).remaining == 2
    assert decide(number, _times(now, 1), None, now, LIMITS).remaining == 4
    assert decide(None, None, None, now, LIMITS).remaining == MAX_FAILURES


def test_limits_are_settings(now):
    strict = Limits(conversation_failures=2, conversation_window=timedelta(minutes=5))
    assert decide(None, _times(now, 2), None, now, strict).lock.scope == "conversation"
    assert decide(None, _times(now, 2, step=timedelta(minutes=6)), None, now, strict).lock is None
