"""Tickets' lifecycle in the archive: the router's "ticket_step" feed entries, put on a real Redis
stream (gw:archive) as the router puts them, become ticket_steps rows once each; the ticket
metrics count them (escalations, breaches per window, reopen rate, follow-up CSAT and the
overall CSAT), through the rollups the consumer keeps batch by batch as through the raw rows —
also when a later batch reopens a ticket resolved in an earlier one; purge removes old steps.
SQLite and PostgreSQL (the archive_url fixture)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import redis
import sqlalchemy as sa

from archive import reports, rollup
from archive.consumer import Consumer
from archive.metrics import DAY_MS, ReportQuery, Rules, bucket_start
from archive.purge import purge
from archive.schema import ROLLUPS
from router.keys import Keys
from tests.archive.conftest import rows
from tests.archive.traffic import T0

MIN = 60_000
DAY = bucket_start(T0, "day")
WINDOW = ReportQuery(DAY, DAY + 2 * DAY_MS)  # whole days: the rollups answer
RAW = ReportQuery(DAY + 1, DAY + 2 * DAY_MS)  # not on a quarter hour: the raw rows answer
TICKET_METRICS = (
    "ticket_escalations", "ticket_breaches_respond", "ticket_breaches_resolve",
    "ticket_breaches_follow_up", "ticket_reopen_rate", "csat", "csat_follow_up",
)  # fmt: skip


def _step(
    client: redis.Redis, keys: Keys, at: int, ticket: str, step: str, conversation: str = "",
    **fields: str,
) -> str:  # fmt: skip
    """One entry as the router feeds it: every field present, empty strings for none."""
    entry = {
        "kind": "ticket_step", "conversation": conversation, "ts": str(at), "ticket_id": ticket,
        "step": step, "actor_role": "system", "team": "complaints_supervisors", "state": "",
        "window": "", "severity": "major", "rating": "",
    }  # fmt: skip
    entry.update(fields)
    return str(client.xadd(keys.archive(), entry))


def _conversation(client: redis.Redis, keys: Keys, cid: str, at: int, rating: str) -> None:
    base = {"conversation": cid, "ts": str(at)}
    client.xadd(keys.archive(), {"kind": "message", "seq": f"{at}-0", "sender": "customer",
                                 "text": "我要投诉", "channel": "app", **base})  # fmt: skip
    client.xadd(keys.archive(), {"kind": "reading", "seq": f"{at}-0", "intent": "complain",
                                 "confidence": "0.95", "fallback": "0", **base})  # fmt: skip
    client.xadd(keys.archive(), {"kind": "rating", "rating": rating, "rating_of": "bot", **base})


def _numbers(conn: sa.Connection, q: ReportQuery) -> dict[str, tuple[int, int | None]]:
    found = reports.summary(conn, q)
    return {n: (found[n]["numerator"], found[n]["denominator"]) for n in TICKET_METRICS}


def _contents(conn: sa.Connection) -> list[Any]:
    return [
        sorted((tuple(r) for r in conn.execute(sa.select(ROLLUPS[name]))), key=repr)
        for name in ("rollup_ticket_steps", "rollup_ratings")
    ]


def _rollups_are_a_rebuild(engine: sa.Engine, empty: bool = False) -> None:
    with engine.connect() as conn:
        kept = _contents(conn)
    with engine.connect() as conn:
        transaction = conn.begin()
        rollup.refresh_all(conn)
        rebuilt = _contents(conn)
        transaction.rollback()
    assert kept == rebuilt and bool(kept[0]) != empty


def test_a_tickets_life_is_counted_once_from_the_feed(
    rds: redis.Redis, keys: Keys, make_consumer: Callable[..., Consumer], archive_engine: sa.Engine
) -> None:
    at = T0
    _conversation(rds, keys, "conv-1", at, rating="3")  # rated the assistant 3
    first = _step(rds, keys, at + MIN, "T1", "page", "conv-1", state="intake")
    _step(rds, keys, at + 2 * MIN, "T1", "claim", "conv-1", actor_role="agent")
    _step(rds, keys, at + 3 * MIN, "T1", "warning", "conv-1", window="respond")
    _step(rds, keys, at + 4 * MIN, "T1", "breach", "conv-1", window="respond")
    _step(rds, keys, at + 5 * MIN, "T1", "escalate", "conv-1", actor_role="supervisor")
    _step(rds, keys, at + 6 * MIN, "T1", "respond", "conv-1", actor_role="agent")
    _step(rds, keys, at + 7 * MIN, "T1", "resolve", "conv-1", actor_role="agent",
          state="feedback")  # fmt: skip
    # a ticket of no archived conversation; a rating out of range is none
    _step(rds, keys, at + 8 * MIN, "T2", "breach", window="follow_up")
    _step(rds, keys, at + 9 * MIN, "T2", "follow_up_answer", actor_role="customer", rating="9")
    _step(rds, keys, at + 9 * MIN, "", "claim")  # no ticket: not a step
    consumer = make_consumer(batch_size=4)
    consumer.run(lambda: False, once=True)

    assert rows(archive_engine, "SELECT count(*) FROM ticket_steps") == [(9,)]
    assert rows(
        archive_engine,
        'SELECT ticket_id, conversation_id, step, actor_role, team, state, "window", severity,'
        " rating, ts_ms FROM ticket_steps WHERE id = :id",
        id=first,
    ) == [("T1", "conv-1", "page", "system", "complaints_supervisors", "intake", None, "major",
           None, at + MIN)]  # fmt: skip
    assert rows(archive_engine, "SELECT rating FROM ticket_steps WHERE ticket_id = 'T2'") == [
        (None,), (None,),
    ]  # fmt: skip
    # the steps did not touch their conversation, nor make one of T2's
    assert rows(archive_engine, "SELECT id, last_ms, rating FROM conversations") == [
        ("conv-1", at, 3)
    ]
    with archive_engine.connect() as conn:
        numbers = _numbers(conn, WINDOW)
        assert numbers == _numbers(conn, RAW)
    assert numbers == {
        "ticket_escalations": (3, None),  # page, warning, the supervisor's escalate
        "ticket_breaches_respond": (1, None),
        "ticket_breaches_resolve": (0, None),
        "ticket_breaches_follow_up": (1, None),
        "ticket_reopen_rate": (0, 1),
        "csat": (0, 1),  # the conversation's 3; T2's answer had no valid rating
        "csat_follow_up": (0, 0),
    }

    # later: the follow-up answer rated 1 reopens T1 (resolved in an earlier batch), another
    # answer rated 5; then the same entries delivered again
    _step(rds, keys, at + DAY_MS, "T1", "follow_up_answer", "conv-1", actor_role="customer",
          rating="1", state="handling")  # fmt: skip
    _step(rds, keys, at + DAY_MS + MIN, "T3", "follow_up_answer", actor_role="customer",
          rating="5", state="closed")  # fmt: skip
    consumer.run(lambda: False, once=True)
    everything = {keys.events(): [], keys.archive(): list(rds.xrange(keys.archive()))}
    consumer.write(everything)
    assert rows(archive_engine, "SELECT count(*) FROM ticket_steps") == [(11,)]
    with archive_engine.connect() as conn:
        numbers = _numbers(conn, WINDOW)
        assert numbers == _numbers(conn, RAW)
        first_day = _numbers(conn, ReportQuery(DAY, DAY + DAY_MS))
        mix = {row["intent"]: row["csat"] for row in reports.intent_mix(conn, WINDOW)}
    assert numbers["ticket_reopen_rate"] == (1, 1)  # the resolve's own day, through the rollup
    assert first_day["ticket_reopen_rate"] == (1, 1)
    assert numbers["csat_follow_up"] == (1, 2) and numbers["csat"] == (1, 3)
    assert mix == {"complain": 0.0}  # the conversation's 3 and its ticket's 1
    _rollups_are_a_rebuild(archive_engine)


def test_filters_follow_the_tickets_conversation(
    rds: redis.Redis, keys: Keys, make_consumer: Callable[..., Consumer], archive_engine: sa.Engine
) -> None:
    _conversation(rds, keys, "conv-1", T0, rating="5")
    _step(rds, keys, T0 + MIN, "T1", "page", "conv-1")
    _step(rds, keys, T0 + MIN, "T2", "page")
    make_consumer().run(lambda: False, once=True)
    with archive_engine.connect() as conn:
        for filters, escalations in (
            ({"channel": "app"}, 1),
            ({"channel": "web"}, 0),
            ({"intent": "complain"}, 1),
            ({"agent_id": "agent-li"}, 0),  # no handoff: no agent's
        ):
            q = ReportQuery(WINDOW.start_ms, WINDOW.end_ms, **filters)
            assert _numbers(conn, q)["ticket_escalations"] == (escalations, None), filters
            raw = ReportQuery(RAW.start_ms, RAW.end_ms, **filters)
            assert _numbers(conn, q) == _numbers(conn, raw)


def test_when_the_ticket_rollups_answer() -> None:
    q = ReportQuery(DAY, DAY + DAY_MS)
    for source in ("ticket_steps", "ratings"):
        assert rollup.table_for(source, q, Rules()) is ROLLUPS[f"rollup_{source}"]
        agent = ReportQuery(DAY, DAY + DAY_MS, agent_id="a")
        assert rollup.table_for(source, agent, Rules()) is None
        assert rollup.table_for(source, ReportQuery(DAY, DAY + DAY_MS, queue="b"), Rules()) is None
        assert rollup.table_for(source, q, Rules(), by_agent=True) is None


@pytest.mark.parametrize("keep_conversation", [True, False])
def test_purge_removes_old_steps(
    rds: redis.Redis,
    keys: Keys,
    make_consumer: Callable[..., Consumer],
    archive_engine: sa.Engine,
    keep_conversation: bool,
) -> None:
    _conversation(rds, keys, "conv-1", T0, rating="5")
    _step(rds, keys, T0 + MIN, "T1", "page", "conv-1")
    _step(rds, keys, T0 + MIN, "T2", "page")
    _step(rds, keys, T0 + 10 * DAY_MS, "T2", "resolve")
    make_consumer().run(lambda: False, once=True)
    cutoff = T0 + (5 * DAY_MS if keep_conversation else 20 * DAY_MS)
    if keep_conversation:  # a step older than the retention goes, even if its conversation stays
        with archive_engine.begin() as conn:
            conn.execute(sa.text("UPDATE conversations SET last_ms = :t"), {"t": cutoff + 1})
    purge(archive_engine, cutoff)
    left = [r[0] for r in rows(archive_engine, "SELECT step FROM ticket_steps ORDER BY ts_ms")]
    assert left == ([] if not keep_conversation else ["resolve"])
    with archive_engine.connect() as conn:
        escalations = _numbers(conn, ReportQuery(DAY, DAY + DAY_MS))["ticket_escalations"]
    assert escalations == (0, None)
    _rollups_are_a_rebuild(archive_engine, empty=not keep_conversation)
