"""A simulated day against the real stack: the archive's reports show exactly its ground truth.

The whole product starts once, as `make run` starts it (tests/stack.py), with the archive
consumer; scripts/simulate.py plays a seeded scenario (archive/scenario.py: customers the
assistant serves alone, who come back, who rate, who give up waiting before and after the
short-abandon threshold, who are served by agents that let offers expire, transfer and
complete). Once the consumer has caught up with both streams, every headline metric of
`archive.reports.summary` must equal what `scenario.expected_metrics` derives from the scenario
and the times the stack gave: counts exactly, sums of durations within the spans the simulator
measured around its requests. The first tests check the scenario and its arithmetic alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from archive import scenario as sc
from tests.stack import ROOT, START_TIMEOUT_S, Stack, running_stack

SEED = 14
ROUTER_PYTHON = ROOT / ".venv-router" / "bin" / "python"
CATCH_UP_S = 120.0
# compressed time: offers expire after 4 s, a missed handoff is offered to another at once
STACK_ENV = {
    "ASSISTANT_INSTANCES": "1",
    "ROUTER_OFFER_TIMEOUT_S": "4",
    "ROUTER_REOFFER_DELAY_S": "1",
}


# ---- the scenario alone ------------------------------------------------------------------------


def test_a_seed_gives_the_same_day_and_another_seed_another() -> None:
    assert sc.build(SEED) == sc.build(SEED)
    assert sc.build(SEED) != sc.build(SEED + 1)


def test_the_day_has_every_kind_of_customer_and_agent() -> None:
    day = sc.build(SEED)
    outcomes = [s.outcome for s in day.scripts]
    assert outcomes.count("contained") == 13 and outcomes.count("handoff") == 8
    waits = sorted(s.abandon_after_s or 0 for s in day.scripts if s.outcome == "abandon")
    assert waits[1] * 1000 < sc.SHORT_ABANDON_MS < waits[2] * 1000, waits
    plans = [s.plan for s in day.scripts if s.plan is not None]
    assert any(p.misses for p in plans) and any(p.transfer_to for p in plans)
    assert {s.rating_of for s in day.scripts} == {"agent", "bot", None}
    assert any(sc.READINGS[t][2] for s in day.scripts for t in s.bot_texts)  # a fallback
    # the returning customers come back on the same request as a first visit
    firsts = {(s.customer, s.first_intent) for s in day.wave(1)}
    assert all((s.customer, s.first_intent) in firsts for s in day.wave(2))
    assert all(t in sc.READINGS for s in day.scripts for t in s.bot_texts)


def _script(key: str, outcome: sc.Outcome, texts: tuple[str, ...], **kw: Any) -> sc.Script:
    subscriber = kw.pop("subscriber", sc.SUBSCRIBERS[0])
    return sc.Script(key, 1, "web", subscriber, texts, outcome, **kw)


def test_expected_metrics_of_a_small_day_worked_out_by_hand() -> None:
    balance = ("查话费", "13800138000", "151238")
    day = sc.Scenario(
        1,
        (
            _script("a", "contained", (*balance, "再见"), rating=5),  # repeated by b: not contained
            _script("b", "contained", (*balance, sc.NOT_UNDERSTOOD, "再见"), rating=2),
            _script("c", "abandon", ("转人工",), subscriber=None),  # short
            _script("d", "abandon", ("转人工",), subscriber=None),  # long
            _script(
                "e",
                "handoff",
                ("查话费", "13800138001", "082469", "转人工"),
                subscriber=sc.SUBSCRIBERS[1],
                plan=sc.Plan(),
                rating=4,
            ),
        ),
        sc.AGENTS,
    )
    record = sc.Record(
        started={k: sc.Span(1000 * i, 1000 * i + 50) for i, k in enumerate("abcde")},
        handoffs={
            "c": sc.HandoffTimes(created_ms=10_000, abandoned=sc.Span(12_000, 12_100)),
            "d": sc.HandoffTimes(created_ms=10_000, abandoned=sc.Span(17_000, 17_100)),
            "e": sc.HandoffTimes(
                created_ms=20_000,
                answered_ms=23_000,
                completed=sc.Span(30_000, 30_200),
                accepted_offers=[(22_000, sc.Span(22_900, 23_100))],
                transfers=1,
            ),
        },
        ticket_steps=[
            sc.TicketStepSeen("T1", "page", "system"),
            sc.TicketStepSeen("T1", "breach", "system", window="respond"),
            sc.TicketStepSeen("T1", "escalate", "system", window="respond"),  # not counted
            sc.TicketStepSeen("T1", "resolve", "agent"),  # reopened by the rating of 2
            sc.TicketStepSeen("T1", "follow_up_answer", "customer", rating=2),
            sc.TicketStepSeen("T1", "resolve", "agent"),
            sc.TicketStepSeen("T1", "follow_up_answer", "customer", rating=5),
            sc.TicketStepSeen("T2", "escalate", "supervisor"),
            sc.TicketStepSeen("T2", "resolve", "supervisor"),
        ],
    )
    got = sc.expected_metrics(day, record)
    parts = {name: (e.numerator, e.denominator) for name, e in got.items()}
    assert parts == {
        "conversations": (5, None),
        "containment": (1, 5),  # b (a has a repeat; c, d, e were handed off)
        "handoff_rate": (3, 5),
        "fcr": (3, 5),  # b, d, e: a is repeated by b, c by d (one anonymous customer)
        "csat_agent": (1, 1),
        "csat_bot": (1, 2),
        "handoffs": (3, None),
        "service_level": (1, 2),  # e answered in 3 s ≤ 120 s; d abandoned after 7 s
        "asa": (3000, 1),
        "abandonment": (1, 2),  # the short abandon c is in neither
        "aht": (sc.Span(7000, 7200), 1),
        "transfer_rate": (1, 1),
        "complaint_rate": (0, 1),
        "agent_response": (sc.Span(900, 1100), 1),
        "fallback_rate": (1, 15),
        "low_confidence_rate": (0, 15),
        "ticket_escalations": (2, None),  # T1's page, T2's supervisor; T1's system escalate not
        "ticket_breaches_respond": (1, None),
        "ticket_breaches_resolve": (0, None),
        "ticket_breaches_follow_up": (0, None),
        "ticket_reopen_rate": (1, 3),
        "csat": (3, 5),  # a 5, b 2, e 4; T1's answers 2 and 5
        "csat_follow_up": (1, 2),
    }
    assert got["aht"].value() == pytest.approx((7.0, 7.2))
    assert got["csat_bot"].value() == 50.0


def test_an_abandon_at_the_threshold_is_refused_rather_than_guessed() -> None:
    day = sc.Scenario(1, (_script("c", "abandon", ("转人工",), subscriber=None),), sc.AGENTS)
    record = sc.Record(
        started={"c": sc.Span(0, 10)},
        handoffs={"c": sc.HandoffTimes(created_ms=0, abandoned=sc.Span(4_990, 5_010))},
    )
    with pytest.raises(ValueError, match="too close"):
        sc.expected_metrics(day, record)


# ---- the day against the real stack ------------------------------------------------------------


@pytest.fixture(scope="module")
def archived_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, str]]:
    """The product as `make run` starts it, with an archive of its own; (stack, archive URL)."""
    base = tmp_path_factory.mktemp("simulated")
    url = f"sqlite:///{base / 'archive.sqlite3'}"
    with running_stack(base, env={**STACK_ENV, "ARCHIVE_DATABASE_URL": url}) as stack:
        assert "archive" in stack.pids()  # scripts.run starts and supervises the consumer
        yield stack, url


def _caught_up(client: redis.Redis) -> bool:
    """Every entry of `events` and `gw:archive` delivered to the archive's group and acked."""
    from router.keys import ARCHIVE_GROUP, Keys

    keys = Keys("router:")
    for stream in (keys.events(), keys.archive()):
        with contextlib.suppress(redis.ResponseError):  # no group yet: not caught up
            info = client.xinfo_stream(stream)
            groups = {g["name"]: g for g in client.xinfo_groups(stream)}
            group = groups.get(ARCHIVE_GROUP)
            last = info["last-generated-id"]
            if group is None or group["pending"] or group["last-delivered-id"] != last:
                return False
            continue
        return False
    return True


@pytest.mark.slow
@pytest.mark.timeout(START_TIMEOUT_S + 600)  # the start (two minutes, more on a busy machine)
def test_the_archive_reports_the_simulated_day_exactly(archived_stack: tuple[Stack, str]) -> None:
    from archive import reports
    from archive.db import engine_for
    from archive.metrics import ReportQuery
    from scripts.simulate import simulate

    stack, url = archived_stack
    day = sc.build(SEED)
    started = time.time_ns() // 1_000_000
    record, problems = asyncio.run(
        simulate(stack.router_url, stack.secrets["ROUTER_ADMIN_TOKEN"], day)
    )
    assert problems == []
    assert record.ratings_asked == {
        s.key: True for s in day.scripts if s.outcome in ("contained", "handoff")
    }
    client = redis.Redis.from_url(str(stack.ready()["redis_url"]), decode_responses=True)
    deadline = time.monotonic() + CATCH_UP_S
    while not _caught_up(client):
        assert time.monotonic() < deadline, "the archive consumer did not catch up"
        time.sleep(0.5)
    client.close()
    expected = sc.expected_metrics(day, record)
    engine = engine_for(url)
    try:
        with engine.connect() as conn:
            window = ReportQuery(start_ms=started - 1, end_ms=time.time_ns() // 1_000_000 + 1)
            got = reports.summary(conn, window)
    finally:
        engine.dispose()
    wrong = {}
    for name, want in expected.items():
        have = got[name]
        numerator = want.numerator
        exact = numerator == have["numerator"]
        if isinstance(numerator, sc.Span):
            exact = have["numerator"] in numerator
        if not exact or want.denominator != have["denominator"]:
            wrong[name] = (want, have)
    assert wrong == {}
