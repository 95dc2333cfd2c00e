"""A voice turn's speech-recognition confidence through the archive: the gateway's reading feed
field `asr_confidence` folded into turns.asr_confidence by the consumer, and the inbox's
`low_asr` reason from it (below inbox.LOW_ASR), on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable

import redis
import sqlalchemy as sa

from archive import inbox as ib
from archive.consumer import Consumer
from archive.fold import turn_row
from archive.inbox import InboxQuery
from router.keys import Keys
from tests.archive.conftest import rows

T0 = 1_800_000_000_000
# (conversation, channel, what the customer said, its speech confidence: "" when typed)
TURNS = [
    ("call-low", "voice", "我想办理宽带移机", "0.4200"),
    ("call-sure", "voice", "我想查一下本月账单", "0.9100"),
    ("call-edge", "voice", "帮我开通国际漫游", "0.6000"),  # at the threshold: not low
    ("chat-typed", "web", "我想办理宽带移机业务", ""),
]


def test_the_feed_field_is_folded() -> None:
    fields = {"conversation": "c", "seq": "1-0", "ts": "1", "asr_confidence": "0.4200"}
    assert turn_row(fields)["asr_confidence"] == 0.42
    assert turn_row({**fields, "asr_confidence": ""})["asr_confidence"] is None
    assert turn_row({"conversation": "c", "seq": "1-0"})["asr_confidence"] is None
    assert ib.reading_reasons("roaming", 0.95, 0.8, False, 0.59) == ["low_asr"]
    assert ib.reading_reasons("roaming", 0.95, 0.8, False, ib.LOW_ASR) == []
    assert ib.reading_reasons("roaming", 0.95, 0.8, False, None) == []


def test_a_low_confidence_voice_turn_is_in_the_inbox_a_typed_one_is_not(
    rds: redis.Redis,
    keys: Keys,
    make_consumer: Callable[..., Consumer],
    archive_engine: sa.Engine,
) -> None:
    for n, (cid, channel, text, asr) in enumerate(TURNS):
        ts, seq = str(T0 + n * 1000), f"{T0 + n * 1000}-0"
        common = {"conversation": cid, "ts": ts, "seq": seq}
        rds.xadd(keys.archive(), {"kind": "message", **common, "sender": "customer",
                                  "text": text, "channel": channel})  # fmt: skip
        reading = {"kind": "reading", **common, "intent": "move_broadband", "confidence": "0.9500",
                   "margin": "0.8000", "urgency": "normal", "entities": "[]", "fallback": "0",
                   "action": "utter_move_broadband"}  # fmt: skip
        if asr:  # a typed turn's reading may leave the field out or leave it empty
            reading["asr_confidence"] = asr
        elif n % 2:
            reading["asr_confidence"] = ""
        rds.xadd(keys.archive(), reading)
    make_consumer().run(lambda: False, once=True)

    stored = rows(archive_engine, "SELECT conversation_id, asr_confidence FROM turns")
    assert sorted(stored) == [
        ("call-edge", 0.6),
        ("call-low", 0.42),
        ("call-sure", 0.91),
        ("chat-typed", None),
    ]
    with archive_engine.connect() as conn:
        groups = ib.inbox(conn, InboxQuery(T0 - 1000, T0 + 60_000))
        only_asr = ib.inbox(conn, InboxQuery(T0 - 1000, T0 + 60_000, reasons=("low_asr",)))
    # the typed turn of the same request is not a candidate (a certain reading, no speech)
    assert [(g.text, g.count, g.reasons) for g in groups] == [("我想办理宽带移机", 1, ["low_asr"])]
    assert [e["conversation_id"] for e in groups[0].examples] == ["call-low"]
    assert groups[0].examples[0]["reasons"] == ["low_asr"]
    assert groups[0].score == ib.REASONS["low_asr"]
    assert [g.key for g in only_asr] == [groups[0].key]
