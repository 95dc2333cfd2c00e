"""Which assistant instance answers a turn (router/gateway/instances.py): the URL list, rendezvous
hashing, what an answer means, and each instance's health — plain functions, no servers."""

from __future__ import annotations

from collections import Counter

import pytest
from pydantic import ValidationError

from router.gateway.instances import Health, Outcome, classify, parse_urls, rank
from router.gateway.settings import GatewaySettings

A, B, C = "http://127.0.0.1:5005", "http://127.0.0.1:5006", "http://10.0.0.7:5005"
CONVERSATIONS = [f"conv-{n:05d}" for n in range(3000)]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_one_url_or_a_list() -> None:
    assert parse_urls("http://127.0.0.1:5005/") == (A,)
    assert parse_urls(f" {A} , {B}/,{C}") == (A, B, C)
    assert parse_urls("https://rasa.internal/assistant") == ("https://rasa.internal/assistant",)
    assert GatewaySettings(rasa_url=f"{A},{B}").rasa_url == f"{A},{B}"


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("", "assistant URL 1 of 1 is empty"),
        (f"{A},", "assistant URL 2 of 2 is empty"),
        (f"{A},,{B}", "assistant URL 2 of 3 is empty"),
        ("127.0.0.1:5005", "not an http(s) URL"),
        ("ftp://127.0.0.1:5005", "not an http(s) URL"),
        ("http://:5005", "not an http(s) URL"),
        ("http://127.0.0.1:99999", "not a URL"),
        ("http://127.0.0.1:0", "port 0"),
        (f"{A}?token=x", "query or fragment"),
        (f"{A},{B},{A}/", "assistant URL 3 of 3 is listed twice"),
    ],
)
def test_a_bad_url_is_refused_at_start_up(value: str, says: str) -> None:
    with pytest.raises(ValueError, match=says.replace("(", r"\(").replace(")", r"\)")):
        parse_urls(value)
    with pytest.raises(ValidationError, match="rasa_url"):
        GatewaySettings(rasa_url=value)


def test_a_password_in_a_url_is_refused_without_repeating_it() -> None:
    with pytest.raises(ValueError, match="ROUTER_RASA_TOKEN") as refused:
        parse_urls(f"{A},http://rasa:hunter2-secret@127.0.0.1:5006")
    assert "hunter2" not in str(refused.value)


def test_a_conversation_keeps_its_instance_whatever_the_order() -> None:
    for conversation in CONVERSATIONS[:200]:
        first = rank(conversation, [A, B, C])
        assert rank(conversation, [C, A, B]) == first == rank(conversation, [B, C, A])
        assert sorted(first) == sorted([A, B, C])


def test_conversations_spread_about_evenly() -> None:
    for instances in ([A, B], [A, B, C]):
        served = Counter(rank(conversation, instances)[0] for conversation in CONVERSATIONS)
        share = len(CONVERSATIONS) / len(instances)
        assert set(served) == set(instances)
        assert all(0.9 * share < n < 1.1 * share for n in served.values()), served


def test_only_the_dead_instances_conversations_move_and_they_spread() -> None:
    moved: Counter[str] = Counter()
    for conversation in CONVERSATIONS:
        own = rank(conversation, [A, B, C])[0]
        without_b = rank(conversation, [A, C])[0]
        if own != B:
            assert without_b == own  # not B's: stays where it was
        else:
            moved[without_b] += 1
            # the next in its own ranking: where it goes while B is down, and nowhere else
            assert without_b == rank(conversation, [A, B, C])[1]
    assert set(moved) == {A, C}  # B's conversations go to both others, not all to one
    assert min(moved.values()) > 0.4 * sum(moved.values())


def test_an_added_instance_takes_conversations_only_to_itself() -> None:
    for conversation in CONVERSATIONS:
        before, after = rank(conversation, [A, B])[0], rank(conversation, [A, B, C])[0]
        assert after in (before, C)


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (200, Outcome.ANSWERED),
        (None, Outcome.FAILOVER),
        (500, Outcome.REJECTED),
        (504, Outcome.FAILOVER),
        (502, Outcome.FAILOVER),
        (503, Outcome.FAILOVER),
        (401, Outcome.REFUSED),
        (403, Outcome.REFUSED),
        (400, Outcome.REJECTED),
        (404, Outcome.REJECTED),
        (413, Outcome.REJECTED),
        (204, Outcome.REJECTED),
    ],
)
def test_what_an_answer_means(status: int | None, outcome: Outcome) -> None:
    assert classify(status) is outcome


def test_a_failed_instance_is_skipped_for_its_cool_down_then_probed_once() -> None:
    clock = Clock()
    health = Health([A, B], cooldown_s=5.0, clock=clock)
    assert health.claim(A) and health.claim(A)  # up: every request may use it
    assert health.succeeded(A) is False  # it was up: no transition

    assert health.failed(A) is True  # up → down
    assert health.failed(A) is False  # another in-flight request failing: no new transition
    assert (health.up(A), health.up(B), health.failures(A)) == (False, True, 2)
    assert not health.claim(A)
    clock.now += 4.9
    assert not health.claim(A)  # still cooling down
    clock.now += 0.2
    assert health.claim(A)  # this request probes it
    assert not health.claim(A)  # the others keep skipping it meanwhile
    assert health.failed(A) is False  # the probe failed: another cool-down
    assert not health.claim(A)
    clock.now += 5.0
    assert health.claim(A)
    assert health.succeeded(A) is True  # the probe was answered: down → up
    assert health.up(A) and health.claim(A) and health.claim(A)


def test_a_probe_that_ends_without_an_answer_frees_the_instance_for_the_next() -> None:
    clock = Clock()
    health = Health([A], cooldown_s=5.0, clock=clock)
    health.failed(A)
    clock.now += 5.0
    assert health.claim(A)
    health.release(A)  # e.g. the customer's request was cancelled
    assert not health.up(A)
    assert health.claim(A)
