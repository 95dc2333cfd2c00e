"""archive/repeats.py: the repeat-contact link (conversations.next_same_intent_ms) the consumer
keeps is the one a full recomputation gives — batch after batch, when the later conversation
arrives first, and when a verified number moves a conversation to another customer."""

from __future__ import annotations

from collections.abc import Callable

import redis
import sqlalchemy as sa

from archive import repeats
from archive.consumer import Consumer
from router.keys import Keys
from tests.archive.conftest import rows
from tests.archive.traffic import T0, fill

H = 3_600_000
LINKS = "SELECT id, next_same_intent_ms FROM conversations ORDER BY id"


def _recomputed(engine: sa.Engine) -> list[tuple[object, ...]]:
    """The links as relink_all gives them from scratch (rolled back afterwards)."""
    with engine.connect() as conn:
        transaction = conn.begin()
        repeats.relink_all(conn)
        found = [tuple(r) for r in conn.execute(sa.text(LINKS))]
        transaction.rollback()
    return found


def test_the_consumer_keeps_the_links_a_full_recomputation_gives(
    rds: redis.Redis, keys: Keys, make_consumer: Callable[..., Consumer], archive_engine: sa.Engine
) -> None:
    fill(rds, keys, 120)  # 50 clients, every third conversation verified: many repeats
    make_consumer(batch_size=7).run(lambda: False, once=True)
    kept = rows(archive_engine, LINKS)
    assert sum(1 for _, link in kept if link is not None) > 50
    assert kept == _recomputed(archive_engine)


def _conversation(rds: redis.Redis, keys: Keys, cid: str, ts: int, client: str, **reading: str):
    seq = f"{ts}-0"
    rds.xadd(keys.archive(), {"kind": "message", "conversation": cid, "ts": str(ts), "seq": seq,
                              "sender": "customer", "text": "查流量", "channel": "app",
                              "client": client})  # fmt: skip
    rds.xadd(keys.archive(), {"kind": "reading", "conversation": cid, "ts": str(ts), "seq": seq,
                              "confidence": "0.9", "fallback": "0", **reading})  # fmt: skip


def test_a_later_conversation_arriving_first_and_a_customer_verified_later(
    rds: redis.Redis, keys: Keys, make_consumer: Callable[..., Consumer], archive_engine: sa.Engine
) -> None:
    consumer = make_consumer(batch_size=2)
    consumer.ensure_groups()
    # the later conversation is archived first (its feed came first), then the earlier one
    _conversation(rds, keys, "late", T0 + 5 * H, "client-a", intent="query_data_usage")
    consumer.run(lambda: False, once=True)
    _conversation(rds, keys, "early", T0, "client-a", intent="query_data_usage")
    # two conversations of another client on the same intent
    _conversation(rds, keys, "other", T0 + H, "client-b", intent="query_data_usage")
    _conversation(rds, keys, "other-2", T0 + 2 * H, "client-b", intent="query_data_usage")
    consumer.run(lambda: False, once=True)
    links = dict(rows(archive_engine, LINKS))
    assert links == {"early": T0 + 5 * H, "late": None, "other": T0 + 2 * H, "other-2": None}
    # "other" verifies a number in a later turn: it becomes that customer's, and client-b's
    # group keeps "other-2" alone
    seq = f"{T0 + H + 60_000}-0"
    verified = {"kind": "reading", "conversation": "other", "ts": str(T0 + H + 60_000),
                "seq": seq, "intent": "inform", "confidence": "0.9", "fallback": "0",
                "customer": "13800138000"}  # fmt: skip
    rds.xadd(keys.archive(), verified)
    consumer.run(lambda: False, once=True)
    links = dict(rows(archive_engine, LINKS))
    assert links == {"early": T0 + 5 * H, "late": None, "other": None, "other-2": None}
    assert sorted(rows(archive_engine, LINKS)) == sorted(_recomputed(archive_engine))


def test_next_starts_orders_by_start_then_id() -> None:
    found = repeats.next_starts(
        [
            ("b", "r", "faq", 10),
            ("a", "r", "faq", 10),
            ("c", "r", "faq", 30),
            ("d", "r", "roaming", 20),
            ("e", None, "faq", 40),
            ("f", "r", None, 50),
        ]
    )
    assert found == {"a": 10, "b": 30}
