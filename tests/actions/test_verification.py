from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from actions.verification import (
    ATTEMPT_WINDOW,
    LOCK_DURATION,
    MAX_FAILURES,
    Attempt,
    Decision,
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


# ------------------------------------------------------------ every boundary, exactly
def test_the_rules_constants(now):
    assert MAX_FAILURES == 5
    assert timedelta(minutes=30) == LOCK_DURATION
    assert timedelta(hours=24) == ATTEMPT_WINDOW
    assert Limits() == Limits(5, timedelta(minutes=30), 20, timedelta(hours=1))
    with pytest.raises(dataclasses.FrozenInstanceError):
        Lock("number", now).scope = "client"  # type: ignore[misc]


def test_attempt_window_edges(now):
    day = timedelta(hours=24)
    assert evaluate([Attempt(now - day, False)] * 4, now).failures == 4
    assert evaluate([Attempt(now - day - timedelta(seconds=1), False)] * 4, now).failures == 0
    assert evaluate([Attempt(now + timedelta(seconds=1), False)] * 4, now).failures == 0
    assert evaluate([Attempt(now, False)] * 4, now).failures == 4


def test_an_attempt_at_the_end_of_a_lock_starts_a_new_round(history, now):
    attempts = [*history("FFFFF"), Attempt(now + LOCK_DURATION, False)]
    state = evaluate(attempts, now + LOCK_DURATION + timedelta(minutes=1))
    assert (state.failures, state.locked_until) == (1, None)
    success = [*history("FFFFF"), Attempt(now + LOCK_DURATION, True)]
    assert evaluate(success, now + LOCK_DURATION).failures == 0


def test_custom_rules_and_remaining(now):
    two = [Attempt(now - timedelta(minutes=1), False), Attempt(now, False)]
    state = evaluate(two, now, max_failures=2, lock_duration=timedelta(minutes=5))
    assert state.locked_until == now + timedelta(minutes=5) and state.remaining == 0
    assert evaluate(two[:1], now, max_failures=2).locked_until is None
    many = evaluate([Attempt(now, False)] * 7, now, max_failures=10)
    assert (many.failures, many.remaining) == (7, 0)  # never negative


def test_window_edges(now):
    window = timedelta(minutes=30)
    edge = [now - window] * 5
    assert window_lock(edge, now, 5, window) is None  # exactly one window old: out
    assert window_lock([now] * 5, now, 5, window) == now + window
    assert window_lock([now + timedelta(seconds=1)] * 5, now, 5, window) is None
    assert decide(None, edge, None, now).remaining == 5
    assert decide(None, [now], None, now).remaining == 4
    assert decide(None, [now + timedelta(seconds=1)], None, now).remaining == 5


def test_decide_reads_each_iterable_once_and_uses_the_default_limits(now):
    decision = decide(iter([Attempt(now, False)]), iter(_times(now, 5)), iter(_times(now, 3)), now)
    assert decision == Decision(
        Lock("conversation", now - timedelta(minutes=4) + LIMITS.conversation_window), 0
    )
    left = decide(iter([Attempt(now, False)]), iter(_times(now, 2)), iter(_times(now, 19)), now)
    assert left == Decision(None, 1)


def test_values_are_frozen_and_scopes_are_skipped_one_by_one(history, now):
    for value, name in (
        (Attempt(now, False), "success"),
        (evaluate([], now), "failures"),
        (Limits(), "client_failures"),
        (Decision(None, 5), "remaining"),
    ):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(value, name, 1)
    number = decide(history("FFFFF"), None, None, now)
    assert number == Decision(Lock("number", now + LOCK_DURATION), 0)
    client = decide(None, None, _times(now, 20), now)  # no conversation known: client still
    assert client.lock is not None and client.lock.scope == "client"


def test_old_and_locked_attempts_are_skipped_not_the_rest(history, now):
    old_then_new = [Attempt(now - timedelta(hours=30), False), *history("FFFF")]
    assert evaluate(old_then_new, now).failures == 4
    during_then_after = [
        *history("FFFFF"),
        Attempt(now + timedelta(minutes=1), False),  # during the lock: skipped
        Attempt(now + LOCK_DURATION + timedelta(minutes=1), False),  # a new round
    ]
    assert evaluate(during_then_after, now + LOCK_DURATION + timedelta(minutes=2)).failures == 1
