"""archive/consumer.py: the streams into SQL, each entry exactly once — under duplicates, a
consumer killed mid-batch (SIGKILL) and restarted, after the streams were trimmed (backfill) —
and purge; nothing personal reaches the archive in clear."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis
import sqlalchemy as sa

from archive import fold
from archive.backfill import backfill
from archive.consumer import ARCHIVE_GROUP, Consumer, end_idle
from archive.purge import DAY_MS, purge
from router.embedded_redis import RedisServer
from router.keys import Keys
from tests.archive.conftest import PSEUDONYM_KEY, ROOT, rows
from tests.archive.traffic import ID_NUMBER, PHONE, T0, Expected, fill

COUNTS = """
    SELECT (SELECT count(*) FROM conversations), (SELECT count(*) FROM messages),
           (SELECT count(*) FROM turns), (SELECT count(*) FROM handoffs),
           (SELECT coalesce(sum(offers), 0) FROM handoffs),
           (SELECT coalesce(sum(missed), 0) FROM handoffs),
           (SELECT coalesce(sum(transfers), 0) FROM handoffs),
           (SELECT count(*) FROM handoffs WHERE status = 'completed'),
           (SELECT count(*) FROM handoffs WHERE status = 'abandoned'),
           (SELECT count(*) FROM conversations WHERE rating IS NOT NULL),
           (SELECT count(*) FROM tickets),
           (SELECT coalesce(sum(handoffs), 0) FROM conversations),
           (SELECT coalesce(sum(bot_turns), 0) FROM conversations),
           (SELECT count(*) FROM ticket_steps)
"""


def expected_counts(e: Expected) -> tuple[int, ...]:
    return (
        e.conversations, e.messages, e.turns, e.handoffs, e.offers, e.missed, e.transfers,
        e.completed, e.abandoned, e.ratings, e.tickets, e.handoffs, e.turns, e.ticket_steps,
    )  # fmt: skip


def counts(engine: sa.Engine) -> tuple[int, ...]:
    return tuple(int(v) for v in rows(engine, COUNTS)[0])


def test_a_handoffs_life_is_folded(
    rds: redis.Redis, keys: Keys, make_consumer: Callable[..., Consumer], archive_engine: sa.Engine
) -> None:
    fill(rds, keys, 40)
    consumer = make_consumer()
    consumer.run(lambda: False, once=True)
    # conversation 1: (seed 7) look one up whole instead of trusting the mix
    found = rows(
        archive_engine,
        "SELECT id, status, offers, missed, transfers, agent_id, queue, skills, assigned_ms,"
        " first_offered_ms, created_ms, completed_ms, disposition FROM handoffs"
        " WHERE transfers = 1 ORDER BY id LIMIT 1",
    )
    assert found, "the mix has a transferred handoff"
    hid, status, offers, missed, transfers, agent, queue, skills, assigned, offered, created, \
        completed, disposition = found[0]  # fmt: skip
    assert (status, transfers, queue, skills, disposition) == (
        "completed", 1, "billing", '["billing"]', "resolved",
    )  # fmt: skip
    assert offers == 2 + missed and created < offered < assigned < completed
    found_events = rows(
        archive_engine,
        "SELECT event_id, type, agent_id FROM handoff_events WHERE handoff_id = :h",
        h=hid,
    )
    in_order = sorted(found_events, key=lambda e: tuple(int(p) for p in e[0].split("-")))
    events = [(kind, agent_id) for _, kind, agent_id in in_order]
    kinds = [k for k, _ in events]
    assert kinds[0] == "created" and kinds[-1] == "completed" and "transferred" in kinds
    # whoever completed is the handoff's agent, not the first to accept
    first_accept = next(a for k, a in events if k == "accepted")
    assert agent == events[-1][1] != first_accept
    assert rows(archive_engine, "SELECT count(*) FROM agents")[0][0] == 2
    assert rows(archive_engine, "SELECT DISTINCT status FROM agent_states") == [("available",)]


def test_each_entry_once_whatever_is_delivered_twice(
    rds: redis.Redis, keys: Keys, make_consumer: Callable[..., Consumer], archive_engine: sa.Engine
) -> None:
    expected = fill(rds, keys, 60)
    consumer = make_consumer()
    consumer.run(lambda: False, once=True)
    once = counts(archive_engine)
    assert once == expected_counts(expected)
    # the same entries written again (a commit whose XACK was lost), and read again by a new
    # group from the start of both streams
    everything = {
        keys.events(): [(i, f) for i, f in rds.xrange(keys.events())],
        keys.archive(): [(i, f) for i, f in rds.xrange(keys.archive())],
    }
    consumer.write(everything)
    for stream in (keys.events(), keys.archive()):
        rds.xgroup_setid(stream, ARCHIVE_GROUP, "0")
    make_consumer(name="archive-2").run(lambda: False, once=True)
    assert counts(archive_engine) == once


def test_pending_entries_are_read_first_after_a_restart(
    rds: redis.Redis, keys: Keys, make_consumer: Callable[..., Consumer], archive_engine: sa.Engine
) -> None:
    expected = fill(rds, keys, 30)
    first = make_consumer(batch_size=25)
    first.ensure_groups()
    first._read(">", None)  # read, then "crashed" before writing: pending, never acknowledged
    assert counts(archive_engine)[1] == 0
    make_consumer(batch_size=25).run(lambda: False, once=True)
    assert counts(archive_engine) == expected_counts(expected)
    for stream in (keys.events(), keys.archive()):
        assert rds.xpending(stream, ARCHIVE_GROUP)["pending"] == 0


def _consume_in_a_process(
    redis_url: str, archive_url: str, keys: Keys, log: Any
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "ARCHIVE_DATABASE_URL": archive_url,
        "ARCHIVE_REDIS_URL": redis_url,
        "ARCHIVE_KEY_PREFIX": keys.prefix,
        "ARCHIVE_PSEUDONYM_KEY": PSEUDONYM_KEY,
        "ARCHIVE_BATCH_SIZE": "200",
        "ARCHIVE_CLAIM_IDLE_MS": "1",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "archive", "consume", "--once"],
        env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log,
    )  # fmt: skip


def test_killed_mid_batch_and_restarted_every_entry_once(
    rds: redis.Redis,
    keys: Keys,
    redis_server: RedisServer,
    archive_url: str,
    archive_engine: sa.Engine,
    tmp_path: Path,
) -> None:
    expected = fill(rds, keys, 1500)
    log_path = tmp_path / "consumer.log"
    with log_path.open("wb") as log:
        process = _consume_in_a_process(redis_server.url, archive_url, keys, log)
        deadline = time.monotonic() + 120
        # killed once some batches are written and before all are: mid-run, most likely
        # mid-batch
        while counts(archive_engine)[1] < 500:
            assert process.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline
            time.sleep(0.01)
        process.send_signal(signal.SIGKILL)
        process.wait()
        assert counts(archive_engine) != expected_counts(expected), "killed too late"
        again = _consume_in_a_process(redis_server.url, archive_url, keys, log)
        assert again.wait(120) == 0, log_path.read_text()
    assert counts(archive_engine) == expected_counts(expected)


def test_backfill_after_the_streams_were_trimmed(
    rds: redis.Redis, keys: Keys, make_consumer: Callable[..., Consumer], archive_engine: sa.Engine
) -> None:
    # what Redis keeps of a conversation and a handoff, as the gateway and the router write them
    cid, hid = "conv-backfill-1", "h000000000001"
    log = [
        ("customer", f"我的号码是{PHONE}"),
        ("bot", "好的，正在为您转接人工客服。"),
        ("agent", f"身份证{ID_NUMBER}已核实"),
    ]
    for n, (sender, text) in enumerate(log):
        body = f'{{"sender":"{sender}","text":"{text}","ts":{T0 + n * 1000}}}'
        rds.xadd(keys.chat_log(cid), {"m": body})
    rds.zadd(keys.chats(), {cid: T0 + 2000})
    rds.hset(keys.chat(cid), mapping={"channel": "app", "rating": "4", "rated_ms": str(T0 + 9000),
                                      "rated_handoff": hid, "comment": f"回电{PHONE}",
                                      "disposition": "resolved"})  # fmt: skip
    rds.set(keys.seq_handoff(), "1")
    rds.hset(keys.handoff(hid), mapping={
        "id": hid, "status": "completed", "conversation_id": cid, "skills": '["roaming"]',
        "urgency": "high", "intent": "roaming", "channel": "app", "created_ms": str(T0 + 1500),
        "answered_ms": str(T0 + 1800), "assigned_ms": str(T0 + 1800), "agent_id": "agent-wang",
        "closed_ms": str(T0 + 5000), "disposition": "resolved",
    })  # fmt: skip
    # the feed's entries were trimmed before the consumer read them: it finds nothing
    make_consumer().run(lambda: False, once=True)
    assert counts(archive_engine)[0] == 0
    report = backfill(rds, archive_engine, keys, PSEUDONYM_KEY)
    assert (report.conversations, report.messages, report.handoffs) == (1, 3, 1)
    assert rows(archive_engine, "SELECT sender FROM messages ORDER BY seq") == [
        ("customer",), ("bot",), ("agent",),
    ]  # fmt: skip
    assert rows(
        archive_engine,
        "SELECT channel, rating, rating_of, disposition, handoffs, started_ms FROM conversations",
    ) == [("app", 4, "agent", "resolved", 1, T0)]
    assert rows(
        archive_engine, "SELECT status, queue, assigned_ms, completed_ms, agent_id FROM handoffs"
    ) == [("completed", "roaming", T0 + 1800, T0 + 5000, "agent-wang")]
    # again: nothing twice
    backfill(rds, archive_engine, keys, PSEUDONYM_KEY)
    assert rows(
        archive_engine, "SELECT count(*), (SELECT handoffs FROM conversations) FROM messages"
    ) == [(3, 1)]
    _nothing_in_clear(archive_engine)


def _nothing_in_clear(engine: sa.Engine) -> None:
    texts = rows(engine, "SELECT text FROM messages") + rows(
        engine, "SELECT comment FROM conversations WHERE comment IS NOT NULL"
    )
    assert texts
    for (text,) in texts:
        assert (
            PHONE not in text
            and ID_NUMBER not in text
            and "8000" not in text.replace("****8000", "")
        )


def test_nothing_personal_in_clear(
    rds: redis.Redis, keys: Keys, make_consumer: Callable[..., Consumer], archive_engine: sa.Engine
) -> None:
    fill(rds, keys, 30)
    make_consumer().run(lambda: False, once=True)
    _nothing_in_clear(archive_engine)
    refs = rows(archive_engine, "SELECT DISTINCT customer_ref FROM conversations")
    assert all(ref is not None and len(ref) == 24 for (ref,) in refs)
    # a verified number is the customer, whatever client they wrote from
    verified = fold.pseudonym(PSEUDONYM_KEY, PHONE)
    assert rows(
        archive_engine, "SELECT customer_ref FROM conversations WHERE id = 'conv-00000000'"
    ) == [(verified,)]
    dump = str(rows(archive_engine, "SELECT * FROM conversations")) + str(
        rows(archive_engine, "SELECT * FROM turns")
    )
    assert PHONE not in dump
    # the readings that carried the verified number are gone from Redis once archived
    assert all(f.get("customer") != PHONE for _, f in rds.xrange(keys.archive()))


def test_purge_and_timeout(
    rds: redis.Redis, keys: Keys, make_consumer: Callable[..., Consumer], archive_engine: sa.Engine
) -> None:
    fill(rds, keys, 20)
    fill(rds, keys, 10, seed=3, start=100)  # the same times: moved later below
    make_consumer().run(lambda: False, once=True)
    with archive_engine.begin() as conn:
        later = 30 * DAY_MS
        for name, column in (("conversations", "last_ms"), ("conversations", "started_ms")):
            conn.execute(sa.text(f"UPDATE {name} SET {column} = {column} + {later}"
                                 " WHERE id >= 'conv-00000100'"))  # fmt: skip
        assert end_idle(conn, T0 + 10 * DAY_MS) == 20 - _ended_before(conn)
    report = purge(archive_engine, T0 + 10 * DAY_MS)
    assert report.conversations == 20
    assert rows(archive_engine, "SELECT count(*) FROM conversations") == [(10,)]
    left = rows(archive_engine, "SELECT DISTINCT conversation_id FROM messages ORDER BY 1")
    assert all(c >= "conv-00000100" for (c,) in left) and len(left) == 10
    orphans = rows(
        archive_engine,
        "SELECT count(*) FROM handoff_events WHERE handoff_id NOT IN (SELECT id FROM handoffs)",
    )
    assert orphans == [(0,)]


def _ended_before(conn: sa.Connection) -> int:
    return int(
        conn.execute(
            sa.text(
                "SELECT count(*) FROM conversations WHERE ended_by IS NOT NULL"
                " AND id < 'conv-00000100'"
            )
        ).scalar_one()
    )


def test_the_consumer_refuses_a_bad_pseudonym_key(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ARCHIVE_PSEUDONYM_KEY": "short",
           "ARCHIVE_REDIS_URL": "redis://127.0.0.1:1",
           "ARCHIVE_DATABASE_URL": f"sqlite:///{tmp_path / 'a.sqlite3'}"}  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "archive", "consume"], env=env, cwd=ROOT, capture_output=True,
        text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2 and "ARCHIVE_PSEUDONYM_KEY" in done.stderr
    assert "short" not in done.stderr.replace("shorter", "")


def test_live_traffic_is_written_in_batches_of_an_interval_and_a_backlog_at_once() -> None:
    from archive.consumer import pause_s

    assert pause_s(3, 500, elapsed_ms=40, interval_ms=1_000) == 0.96  # a trickle: wait
    assert pause_s(3, 500, elapsed_ms=1_500, interval_ms=1_000) == 0.0  # slow batch: go on
    assert pause_s(500, 500, elapsed_ms=40, interval_ms=1_000) == 0.0  # a backlog: at once
    assert pause_s(0, 500, elapsed_ms=2_000, interval_ms=1_000) == 0.0  # nothing: read blocks
    assert pause_s(3, 500, elapsed_ms=40, interval_ms=0) == 0.0  # setting off


def test_purge_keeps_the_repeat_contact_of_a_kept_conversation(archive_engine: sa.Engine) -> None:
    """A long conversation still inside the retention keeps the later, already old conversation
    that is its repeat contact; with no kept earlier one, old conversations go."""
    conversations = sa.table(
        "conversations", sa.column("id"), sa.column("customer_ref"), sa.column("first_intent"),
        sa.column("started_ms"), sa.column("last_ms"), sa.column("next_same_intent_ms"),
    )  # fmt: skip
    hour = 3_600_000
    rows_ = [
        # the long one (kept: its last message is after the cutoff) and its repeat (old)
        ("long", "c1", "query_balance", T0, T0 + 12 * DAY_MS, T0 + hour),
        ("repeat", "c1", "query_balance", T0 + hour, T0 + 2 * hour, None),
        # an old group of two: both go
        ("old-a", "c2", "roaming", T0, T0 + hour, T0 + 2 * hour),
        ("old-b", "c2", "roaming", T0 + 2 * hour, T0 + 3 * hour, None),
        # no customer: nothing links to it
        ("anon", None, "query_balance", T0 + hour, T0 + 2 * hour, None),
        # another intent of the same customer: not a repeat of the long one
        ("other", "c1", "roaming", T0 + hour, T0 + 2 * hour, None),
    ]
    keys_ = ("id", "customer_ref", "first_intent", "started_ms", "last_ms", "next_same_intent_ms")
    with archive_engine.begin() as conn:
        conn.execute(sa.insert(conversations), [dict(zip(keys_, r, strict=True)) for r in rows_])
    report = purge(archive_engine, T0 + 10 * DAY_MS)
    assert report.conversations == 4
    left = rows(archive_engine, "SELECT id, next_same_intent_ms FROM conversations ORDER BY id")
    assert left == [("long", T0 + hour), ("repeat", None)]
    # once the long one is old too, both go
    assert purge(archive_engine, T0 + 20 * DAY_MS).conversations == 2
    assert rows(archive_engine, "SELECT count(*) FROM conversations") == [(0,)]
